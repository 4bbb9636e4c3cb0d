// Invitations into a workspace: an emailed single-use link (only its SHA-256 is stored) that
// makes the person who signs in with that address, verified, a member with the invited role.
import { sql } from 'drizzle-orm'
import { check, foreignKey, index, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { bytea, users } from './users.js'
import { workspaceRoles, workspaces, type ContactScope } from './workspaces.js'

export const workspaceInvites = pgTable(
  'workspace_invites',
  {
    workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    email: text('email').notNull(),
    // As in memberships: a built-in role's name, or 'custom' with role_id.
    role: text('role').notNull(),
    roleId: uuid('role_id'),
    // The contacts the invitee will see, when not their role's default (see memberships).
    contactsScope: text('contacts_scope').$type<ContactScope>(),
    tokenHash: bytea('token_hash').notNull().unique('workspace_invites_token_hash_is_unique'),
    invitedBy: uuid('invited_by').notNull().references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    acceptedBy: uuid('accepted_by').references(() => users.id, { onDelete: 'set null' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ name: 'workspace_invites_pkey', columns: [t.workspaceId, t.id] }),
    // One open invitation per address and workspace: a new one replaces the old (the service
    // revokes it first), so only the newest link works.
    uniqueIndex('workspace_invites_one_open_per_email')
      .on(t.workspaceId, t.email)
      .where(sql`${t.acceptedAt} is null and ${t.revokedAt} is null`),
    // Cover the two user foreign keys: deleting a user looks up the invitations they sent or accepted.
    index('workspace_invites_invited_by_idx').on(t.invitedBy),
    index('workspace_invites_accepted_by_idx').on(t.acceptedBy),
    foreignKey({
      name: 'workspace_invites_role_in_same_workspace',
      columns: [t.workspaceId, t.roleId],
      foreignColumns: [workspaceRoles.workspaceId, workspaceRoles.id],
    }).onDelete('cascade'),
    index('workspace_invites_role_idx').on(t.workspaceId, t.roleId),
    check('workspace_invites_role_is_known', sql`${t.role} in ('owner', 'admin', 'manager', 'agent', 'custom') and (${t.role} = 'custom') = (${t.roleId} is not null)`),
    check('workspace_invites_contacts_scope_is_known', sql`${t.contactsScope} in ('all', 'department', 'own')`),
    check('workspace_invites_email_is_normalised', sql`${t.email} = lower(btrim(${t.email})) and position('@' in ${t.email}) > 1`),
    check('workspace_invites_token_hash_is_sha256', sql`length(${t.tokenHash}) = 32`),
  ],
)

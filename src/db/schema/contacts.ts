// CRM contacts: the first tenant table. Keyed (workspace_id, id) so every lookup and every
// foreign key carries the tenant (and a distributed deployment can shard on workspace_id).
import { sql } from 'drizzle-orm'
import { check, foreignKey, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { departments, memberships, workspaces } from './workspaces.js'

export const contacts = pgTable(
  'contacts',
  {
    workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    email: text('email'),
    phone: text('phone'),
    departmentId: uuid('department_id'),
    ownerId: uuid('owner_id'),
    createdBy: uuid('created_by'),
    // Millisecond precision: the list cursor carries created_at through a JS Date, which has no
    // microseconds, and a truncated cursor would skip rows.
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    primaryKey({ name: 'contacts_pkey', columns: [t.workspaceId, t.id] }),
    // The owner must be a member of the same workspace: the composite key makes a contact that
    // points at another tenant's user impossible, whatever the handler does.
    foreignKey({
      name: 'contacts_owner_is_a_member',
      columns: [t.workspaceId, t.ownerId],
      foreignColumns: [memberships.workspaceId, memberships.userId],
    }),
    // The department is the same workspace's.
    foreignKey({
      name: 'contacts_department_in_same_workspace',
      columns: [t.workspaceId, t.departmentId],
      foreignColumns: [departments.workspaceId, departments.id],
    }),
    // The scoped lists (an agent's own contacts, a manager's departments), newest first; they
    // also cover the two foreign keys (removing a member looks up the contacts they own).
    index('contacts_owner_created_idx').on(t.workspaceId, t.ownerId, t.createdAt.desc(), t.id.desc()),
    index('contacts_department_created_idx').on(t.workspaceId, t.departmentId, t.createdAt.desc(), t.id.desc()),
    index('contacts_workspace_created_idx').on(t.workspaceId, t.createdAt.desc(), t.id.desc()),
    check('contacts_name_is_not_blank', sql`length(btrim(${t.name})) between 1 and 200`),
  ],
)

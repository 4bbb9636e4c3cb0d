// Workspaces (the tenants) and who belongs to them.
import { sql } from 'drizzle-orm'
import { check, foreignKey, index, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { users } from './users.js'

export const WORKSPACE_STATUSES = ['pending_approval', 'active', 'rejected', 'suspended'] as const
export type WorkspaceStatus = (typeof WORKSPACE_STATUSES)[number]

export const BILLING_STATUSES = ['none', 'trialing', 'active', 'past_due', 'canceled', 'unpaid'] as const
export type BillingStatus = (typeof BILLING_STATUSES)[number]

export const workspaces = pgTable(
  'workspaces',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    status: text('status').$type<WorkspaceStatus>().notNull().default('pending_approval'),
    statusReason: text('status_reason'),
    // One owned workspace per user during the beta: a constraint, so two concurrent creations
    // cannot both succeed.
    ownerId: uuid('owner_id').notNull().references(() => users.id),
    trialEndsAt: timestamp('trial_ends_at', { withTimezone: true }),
    billingStatus: text('billing_status').$type<BillingStatus>().notNull().default('none'),
    // The subscription's current period end, as the billing provider last reported it.
    billingPeriodEndsAt: timestamp('billing_period_ends_at', { withTimezone: true }),
    // A past_due subscription keeps writes until then (the grace period, sql/220).
    billingGraceEndsAt: timestamp('billing_grace_ends_at', { withTimezone: true }),
    // Deleted by its owner: its data key is destroyed and its records soft-deleted (sql/200).
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    approvedAt: timestamp('approved_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // One owned workspace per user during the beta (a deleted one no longer counts).
    uniqueIndex('workspaces_one_per_owner').on(t.ownerId).where(sql`${t.deletedAt} is null`),
    index('workspaces_owner_id_idx').on(t.ownerId),
    check('workspaces_status_is_known', sql`${t.status} in ('pending_approval', 'active', 'rejected', 'suspended')`),
    check('workspaces_billing_status_is_known', sql`${t.billingStatus} in ('none', 'trialing', 'active', 'past_due', 'canceled', 'unpaid')`),
    check('workspaces_name_is_not_blank', sql`length(btrim(${t.name})) between 1 and 200`),
    check('workspaces_active_has_trial', sql`${t.status} <> 'active' or ${t.trialEndsAt} is not null`),
  ],
)

// The permission catalogue (src/rbac/permissions.ts), written by every migration: what a custom
// role's permissions are checked against in the database.
export const permissions = pgTable('permissions', {
  name: text('name').primaryKey(),
  description: text('description').notNull(),
})

// A workspace's own roles, beside the built-in ones (owner, admin, manager, agent): a name and
// a set of catalogue permissions. A member or an invitation holds one through role_id.
export const workspaceRoles = pgTable(
  'workspace_roles',
  {
    workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    permissions: text('permissions').array().notNull().default(sql`'{}'`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'workspace_roles_pkey', columns: [t.workspaceId, t.id] }),
    uniqueIndex('workspace_roles_name_is_unique').on(t.workspaceId, sql`lower(${t.name})`),
    check('workspace_roles_name_is_not_blank', sql`length(btrim(${t.name})) between 1 and 60`),
  ],
)

// A workspace's departments: a tree. The parent is in the same workspace (the composite key);
// a department with children, members or contacts is not deleted (the keys refuse it); the
// tree has no cycle (a trigger, sql/135).
export const departments = pgTable(
  'departments',
  {
    workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    parentId: uuid('parent_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'departments_pkey', columns: [t.workspaceId, t.id] }),
    foreignKey({
      name: 'departments_parent_in_same_workspace',
      columns: [t.workspaceId, t.parentId],
      foreignColumns: [t.workspaceId, t.id],
    }),
    index('departments_parent_idx').on(t.workspaceId, t.parentId),
    check('departments_name_is_not_blank', sql`length(btrim(${t.name})) between 1 and 100`),
    check('departments_not_own_parent', sql`${t.parentId} is distinct from ${t.id}`),
  ],
)

export const CONTACT_SCOPES = ['all', 'department', 'own'] as const
export type ContactScope = (typeof CONTACT_SCOPES)[number]

export const memberships = pgTable(
  'memberships',
  {
    workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    // A built-in role's name, or 'custom' with role_id naming one of the workspace's roles.
    role: text('role').notNull(),
    roleId: uuid('role_id'),
    departmentId: uuid('department_id'),
    // Which contacts the member sees; NULL: their role's default (owner and admin all, manager
    // department, agent and custom roles own).
    contactsScope: text('contacts_scope').$type<ContactScope>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'memberships_pkey', columns: [t.workspaceId, t.userId] }),
    index('memberships_user_id_idx').on(t.userId),
    foreignKey({
      name: 'memberships_role_in_same_workspace',
      columns: [t.workspaceId, t.roleId],
      foreignColumns: [workspaceRoles.workspaceId, workspaceRoles.id],
    }),
    foreignKey({
      name: 'memberships_department_in_same_workspace',
      columns: [t.workspaceId, t.departmentId],
      foreignColumns: [departments.workspaceId, departments.id],
    }),
    index('memberships_role_idx').on(t.workspaceId, t.roleId),
    index('memberships_department_idx').on(t.workspaceId, t.departmentId),
    check('memberships_role_is_known', sql`${t.role} in ('owner', 'admin', 'manager', 'agent', 'custom') and (${t.role} = 'custom') = (${t.roleId} is not null)`),
    check('memberships_contacts_scope_is_known', sql`${t.contactsScope} in ('all', 'department', 'own')`),
  ],
)

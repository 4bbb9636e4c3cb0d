// Workspaces (the tenants) and who belongs to them.
import { sql } from 'drizzle-orm'
import { check, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { users } from './users.js'

export const WORKSPACE_STATUSES = ['pending_approval', 'active', 'rejected', 'suspended'] as const
export type WorkspaceStatus = (typeof WORKSPACE_STATUSES)[number]

export const BILLING_STATUSES = ['none', 'trialing', 'active', 'past_due', 'canceled'] as const
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
    ownerId: uuid('owner_id').notNull().references(() => users.id).unique('workspaces_one_per_owner'),
    trialEndsAt: timestamp('trial_ends_at', { withTimezone: true }),
    billingStatus: text('billing_status').$type<BillingStatus>().notNull().default('none'),
    approvedAt: timestamp('approved_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('workspaces_status_is_known', sql`${t.status} in ('pending_approval', 'active', 'rejected', 'suspended')`),
    check('workspaces_billing_status_is_known', sql`${t.billingStatus} in ('none', 'trialing', 'active', 'past_due', 'canceled')`),
    check('workspaces_name_is_not_blank', sql`length(btrim(${t.name})) between 1 and 200`),
    check('workspaces_active_has_trial', sql`${t.status} <> 'active' or ${t.trialEndsAt} is not null`),
  ],
)

export const memberships = pgTable(
  'memberships',
  {
    workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    role: text('role').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'memberships_pkey', columns: [t.workspaceId, t.userId] }),
    index('memberships_user_id_idx').on(t.userId),
  ],
)

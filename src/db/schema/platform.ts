// Platform administration and the role catalogue, as the database knows them (sql/120, sql/130).
import { sql } from 'drizzle-orm'
import { check, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { users } from './users.js'

// PLATFORM_ADMIN_EMAILS as the service last synced it (one row per listed address), and the
// grant: the verified account that holds the address. Listing an address grants nothing until
// its owner has verified it; every grant and removal is audited (sql/120).
export const platformAdmins = pgTable(
  'platform_admins',
  {
    email: text('email').primaryKey(),
    userId: uuid('user_id')
      .unique('platform_admins_user_is_unique')
      .references(() => users.id, { onDelete: 'set null' }),
    listedAt: timestamp('listed_at', { withTimezone: true }).notNull().defaultNow(),
    grantedAt: timestamp('granted_at', { withTimezone: true }),
  },
  (t) => [
    check('platform_admins_email_is_normalised', sql`${t.email} = lower(btrim(${t.email})) and position('@' in ${t.email}) > 1`),
    check('platform_admins_grant_is_complete', sql`(${t.userId} is null) = (${t.grantedAt} is null)`),
  ],
)

// What each built-in role may do, written from src/rbac/permissions.ts on every migration, so the
// database's own checks (role changes, invitations: "nobody grants what they do not hold") use
// the same catalogue as the HTTP gate.
export const rolePermissions = pgTable(
  'role_permissions',
  {
    role: text('role').notNull(),
    permission: text('permission').notNull(),
  },
  (t) => [primaryKey({ name: 'role_permissions_pkey', columns: [t.role, t.permission] })],
)

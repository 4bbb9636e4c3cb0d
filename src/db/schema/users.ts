// Accounts and what authenticates them. These rows are not tenant data (a user can belong to
// several workspaces) but they are still guarded by RLS: a user sees only themselves, and the
// few paths that must look a user up by email or token go through SECURITY DEFINER functions.
import { sql } from 'drizzle-orm'
import { boolean, check, customType, foreignKey, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'

export const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
})

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull().unique('users_email_is_unique'),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    check('users_email_is_normalised', sql`${t.email} = lower(btrim(${t.email})) and position('@' in ${t.email}) > 1`),
    check('users_name_is_not_blank', sql`length(btrim(${t.name})) between 1 and 200`),
  ],
)

export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: bytea('token_hash').notNull().unique('sessions_token_hash_is_unique'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    idleTimeoutSeconds: integer('idle_timeout_seconds').notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    // A role change of the user marks their live sessions (sql/130); the next request with the
    // token is answered with a new one (API.md: a new token on role change).
    reissueRequired: boolean('reissue_required').notNull().default(false),
    // The session that re-issued this one: its old token stays good, as the new session, for a
    // few seconds, so requests already in flight when the cookie changed do not fail.
    replacedBy: uuid('replaced_by'),
    // When the holder of this session last proved a second factor (an MFA sign-in, or enabling or
    // using MFA in the settings); NULL for a session opened with the password alone. Platform
    // administration needs it (app.assert_platform_admin, sql/120).
    mfaAt: timestamp('mfa_at', { withTimezone: true }),
  },
  (t) => [
    index('sessions_user_id_idx').on(t.userId),
    // Covers the replaced_by foreign key (deleting a session looks its replacements up).
    index('sessions_replaced_by_idx').on(t.replacedBy),
    foreignKey({ name: 'sessions_replaced_by_fkey', columns: [t.replacedBy], foreignColumns: [t.id] }).onDelete('set null'),
    check('sessions_token_hash_is_sha256', sql`length(${t.tokenHash}) = 32`),
  ],
)

export const emailTokens = pgTable(
  'email_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose').notNull(),
    tokenHash: bytea('token_hash').notNull().unique('email_tokens_token_hash_is_unique'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [
    index('email_tokens_user_id_idx').on(t.userId),
    check('email_tokens_purpose_is_known', sql`${t.purpose} in ('verify_email', 'reset_password')`),
    check('email_tokens_token_hash_is_sha256', sql`length(${t.tokenHash}) = 32`),
  ],
)

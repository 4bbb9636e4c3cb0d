// TOTP multi-factor authentication (issue 4). The TOTP secret is stored only as an AES-256-GCM
// envelope (src/crypto/envelope.ts, associated data = the user's id); backup codes and login
// challenges only as SHA-256 of high-entropy random values.
import { sql } from 'drizzle-orm'
import { bigint, check, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { bytea, users } from './users.js'

export const userMfa = pgTable('user_mfa', {
  userId: uuid('user_id').primaryKey().references(() => users.id, { onDelete: 'cascade' }),
  secretEncrypted: text('secret_encrypted').notNull(),
  // NULL while set up but not confirmed with a valid code: MFA is not active until then.
  enabledAt: timestamp('enabled_at', { withTimezone: true }),
  // The last accepted TOTP time step: a code is accepted at most once (no replay).
  lastUsedStep: bigint('last_used_step', { mode: 'number' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

export const mfaBackupCodes = pgTable(
  'mfa_backup_codes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    codeHash: bytea('code_hash').notNull().unique('mfa_backup_codes_code_hash_is_unique'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [index('mfa_backup_codes_user_id_idx').on(t.userId), check('mfa_backup_codes_code_hash_is_sha256', sql`length(${t.codeHash}) = 32`)],
)

// A password-verified sign-in waiting for its second factor: short-lived and single-use.
export const mfaChallenges = pgTable(
  'mfa_challenges',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: bytea('token_hash').notNull().unique('mfa_challenges_token_hash_is_unique'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [index('mfa_challenges_user_id_idx').on(t.userId), check('mfa_challenges_token_hash_is_sha256', sql`length(${t.tokenHash}) = 32`)],
)

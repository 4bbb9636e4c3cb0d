// Rate-limit counters (src/plugins/rate-limit.ts): one row per (key, fixed window). UNLOGGED in
// the migration: counters are disposable, so they skip the WAL (fast, and lost on a crash, which
// only forgives a few requests). Shared by every instance on the database.
import { bigint, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'
import { bytea } from './users.js'

export const rateLimits = pgTable(
  'rate_limits',
  {
    key: text('key').notNull(),
    // The fixed window's index: floor(epoch ms / window ms).
    bucket: bigint('bucket', { mode: 'number' }).notNull(),
    count: integer('count').notNull(),
    // When the row stops mattering (the end of the window after this one): the sweep's TTL.
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ name: 'rate_limits_pkey', columns: [t.key, t.bucket] }), index('rate_limits_expires_idx').on(t.expiresAt)],
)

// A hit's refund ticket: the account limiter gives a unit back (a sign-in that succeeded, an
// attempt refused unchecked) only by presenting the ticket its own hit was issued, once. The
// database keeps the ticket's SHA-256; nobody else can refund someone's counter. UNLOGGED like
// the counters; swept with them.
export const rateLimitRefunds = pgTable(
  'rate_limit_refunds',
  {
    ticketHash: bytea('ticket_hash').primaryKey(),
    key: text('key').notNull(),
    bucket: bigint('bucket', { mode: 'number' }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('rate_limit_refunds_expires_idx').on(t.expiresAt)],
)

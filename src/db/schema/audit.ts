// The audit trail (sql/050_audit.sql): one append-only table of events (sensitive actions) and
// changes (row-level before/after of business records), hash-chained per workspace. Rows are
// written only by SECURITY DEFINER functions and triggers; UPDATE, DELETE and TRUNCATE raise
// for every role, the owner included.
import { sql } from 'drizzle-orm'
import { bigint, check, index, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core'
import { bytea } from './users.js'

export const auditLog = pgTable(
  'audit_log',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // NULL for platform-level events; not a foreign key, so the log outlives what it records.
    workspaceId: uuid('workspace_id'),
    // The chain this row belongs to: the workspace, or the nil UUID for platform events.
    chainKey: uuid('chain_key').notNull(),
    chainSeq: bigint('chain_seq', { mode: 'number' }).notNull(),
    kind: text('kind').notNull(),
    actorUserId: uuid('actor_user_id'),
    actorTokenId: uuid('actor_token_id'),
    actingAsUserId: uuid('acting_as_user_id'),
    // The database login that made the change (the runtime login, or a superuser's name).
    dbRole: text('db_role').notNull(),
    action: text('action').notNull(),
    entityType: text('entity_type'),
    entityId: text('entity_id'),
    before: jsonb('before'),
    after: jsonb('after'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    requestId: text('request_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    prevHash: bytea('prev_hash'),
    hash: bytea('hash').notNull(),
  },
  (t) => [
    unique('audit_log_chain_position_is_unique').on(t.chainKey, t.chainSeq),
    index('audit_log_workspace_seq_idx').on(t.workspaceId, t.chainSeq.desc()),
    index('audit_log_entity_idx').on(t.workspaceId, t.entityType, t.entityId, t.chainSeq),
    check('audit_log_kind_is_known', sql`${t.kind} in ('event', 'change')`),
    check('audit_log_hash_is_sha256', sql`length(${t.hash}) = 32`),
  ],
)

// The head of each chain: its last position and hash. Inserting an audit row locks its chain's
// head until the transaction ends, so concurrent writers to one workspace queue instead of
// forking the chain.
export const auditChainHeads = pgTable('audit_chain_heads', {
  chainKey: uuid('chain_key').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  hash: bytea('hash').notNull(),
})

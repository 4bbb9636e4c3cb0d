// Integrations and API access (issue 12): each workspace's data key, its channel credentials
// (sealed with that key), its API tokens (only their SHA-256 stored), the billing provider's
// events (kept to refuse replays) and the key rotations run over all of them.
import { sql } from 'drizzle-orm'
import { boolean, check, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { bytea, users } from './users.js'
import { workspaces } from './workspaces.js'

// A workspace's data key: 32 random bytes that seal its secrets (channel credentials), stored
// only wrapped by the ENCRYPTION_KEYS ring (an envelope naming the ring key, with the workspace
// as associated data). Rotating the ring re-wraps it; deleting the workspace destroys it
// (data_key_encrypted NULL), and with it every secret it sealed, backups included.
export const workspaceKeys = pgTable(
  'workspace_keys',
  {
    workspaceId: uuid('workspace_id').primaryKey().references(() => workspaces.id, { onDelete: 'cascade' }),
    // The ring key that wraps it (also inside the envelope; here so a rotation can find the rest).
    kid: text('kid'),
    dataKeyEncrypted: text('data_key_encrypted'),
    // Which data key sealed a value: the values carry it, so a re-encryption can tell old from new.
    generation: integer('generation').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    rotatedAt: timestamp('rotated_at', { withTimezone: true }),
    destroyedAt: timestamp('destroyed_at', { withTimezone: true }),
  },
  (t) => [
    check('workspace_keys_live_or_destroyed', sql`(${t.dataKeyEncrypted} is null and ${t.kid} is null) = (${t.destroyedAt} is not null)`),
  ],
)

export const CHANNEL_TYPES = ['telegram', 'whatsapp', 'resend'] as const
export type ChannelType = (typeof CHANNEL_TYPES)[number]

// A workspace's credentials for one channel. Every field is sealed separately with the
// workspace's data key (associated data: workspace, type, field); `masked` holds what the API
// shows of each (its last four characters).
export const channelCredentials = pgTable(
  'channel_credentials',
  {
    workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    type: text('type').$type<ChannelType>().notNull(),
    secretsEncrypted: jsonb('secrets_encrypted').$type<Record<string, string>>().notNull(),
    masked: jsonb('masked').$type<Record<string, string>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'channel_credentials_pkey', columns: [t.workspaceId, t.type] }),
    check('channel_credentials_type_is_known', sql`${t.type} in ('telegram', 'whatsapp', 'resend')`),
  ],
)

// API tokens: `gate_<workspace short id>_<secret>`, shown once; only the SHA-256 of the whole
// token is stored. Scopes are catalogue permissions, never more than the creator held; on every
// request they are cut down to what the creator holds then (sql/210).
export const apiTokens = pgTable(
  'api_tokens',
  {
    workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    tokenHash: bytea('token_hash').notNull().unique('api_tokens_token_hash_is_unique'),
    // The token's last four characters, so a person can tell two tokens apart in a list.
    hint: text('hint').notNull(),
    scopes: text('scopes').array().notNull(),
    createdBy: uuid('created_by').notNull().references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ name: 'api_tokens_pkey', columns: [t.workspaceId, t.id] }),
    index('api_tokens_created_by_idx').on(t.createdBy),
    check('api_tokens_token_hash_is_sha256', sql`length(${t.tokenHash}) = 32`),
    check('api_tokens_name_is_not_blank', sql`length(btrim(${t.name})) between 1 and 100`),
  ],
)

// Billing provider events already applied (or acknowledged): a replayed event id changes nothing.
export const billingEvents = pgTable(
  'billing_events',
  {
    id: text('id').primaryKey(),
    type: text('type').notNull(),
    workspaceId: uuid('workspace_id'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    foreignKey({ name: 'billing_events_workspace_fk', columns: [t.workspaceId], foreignColumns: [workspaces.id] }).onDelete('set null'),
    index('billing_events_workspace_id_idx').on(t.workspaceId),
  ],
)

// One run of `npm run keys:rotate`: what it rotates to, and when it started, so that an
// interrupted run resumes where it stopped.
export const keyRotations = pgTable('key_rotations', {
  id: uuid('id').primaryKey().defaultRandom(),
  targetKid: text('target_kid').notNull(),
  reencrypt: boolean('reencrypt').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
})

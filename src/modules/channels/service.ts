// Channel credentials (API.md /api/workspace/channels): Telegram, WhatsApp and Resend keys a
// workspace connects. Each field is checked against its channel's shape (a 400 names the field
// and never repeats the value), sealed with the workspace's data key (src/crypto/data-keys.ts;
// associated data: workspace, channel and field, so a ciphertext moved to another workspace's,
// channel's or field's place does not open) and shown back only as a mask of its last four
// characters. The database keeps them to channel managers (sql/200) and records each set,
// replacement and removal with the masks only.
import { AppError, notFound } from '../../errors.js'
import { newDataKey, openWith, sealWith, unwrapDataKey, type DataKey } from '../../crypto/data-keys.js'
import type { KeyRing } from '../../crypto/envelope.js'
import type { Db } from '../../db/request-tx.js'
import { CHANNEL_TYPES, type ChannelType } from '../../db/schema/index.js'
import type { WorkspaceCtx } from '../../context.js'
import type { ChannelViewT } from './schemas.js'
import * as q from './queries.js'

interface FieldSpec {
  pattern: RegExp
  /** What a valid value looks like, for the 400 (never the value sent). */
  shape: string
}

// The shapes the providers issue: a Telegram bot token is `<bot id>:<35 characters>`, a Resend
// key starts `re_`; a WhatsApp Cloud API access token is a long opaque string and its phone
// number id a number. Lengths are bounded above so nobody stores a megabyte as a "token".
export const CHANNEL_FIELDS: Record<ChannelType, Record<string, FieldSpec>> = {
  telegram: {
    botToken: { pattern: /^\d{3,20}:[A-Za-z0-9_-]{30,100}$/, shape: 'a Telegram bot token (<bot id>:<secret>)' },
  },
  whatsapp: {
    accessToken: { pattern: /^[A-Za-z0-9_\-.|]{20,1000}$/, shape: 'a WhatsApp Cloud API access token (20 to 1000 letters, digits, _ - . |)' },
    phoneNumberId: { pattern: /^\d{5,20}$/, shape: 'a WhatsApp phone number id (5 to 20 digits)' },
  },
  resend: {
    apiKey: { pattern: /^re_[A-Za-z0-9_]{8,200}$/, shape: 'a Resend API key (re_…)' },
    from: {
      pattern: /^(?:[^<>\p{Cc}]{1,100} <[^\s@<>]{1,64}@[^\s@<>]{1,255}\.[^\s@<>]{1,63}>|[^\s@<>]{1,64}@[^\s@<>]{1,255}\.[^\s@<>]{1,63})$/u,
      shape: 'a sender address ("name@example.com" or "Name <name@example.com>")',
    },
  },
}

/** "••••" and the last four characters: enough to tell two keys apart, nothing to use. */
export function mask(value: string): string {
  return `••••${value.slice(-4)}`
}

const purpose = (type: ChannelType, field: string) => `channel:${type}:${field}`

/** Checks `body` against `type`'s fields: each required, none foreign, each of its shape. */
export function channelFields(type: ChannelType, body: Record<string, string | undefined>): Record<string, string> {
  const spec = CHANNEL_FIELDS[type]
  for (const field of Object.keys(body)) {
    if (body[field] !== undefined && !spec[field]) throw new AppError('validation_failed', `body.${field} is not a ${type} credential field`)
  }
  const values: Record<string, string> = {}
  for (const [field, { pattern, shape }] of Object.entries(spec)) {
    const value = body[field]
    if (value === undefined) throw new AppError('validation_failed', `body.${field} is required for ${type}`)
    if (!pattern.test(value)) throw new AppError('validation_failed', `body.${field} must be ${shape}`)
    values[field] = value
  }
  return values
}

/** The request workspace's data key, made (and stored wrapped) the first time one is needed. */
export async function workspaceDataKey(db: Db, ring: KeyRing, workspaceId: string): Promise<DataKey> {
  // Shared: a key rotation replacing this data key waits for this transaction, and this one for it.
  await q.lockWorkspaceKey(db, workspaceId)
  let row = await q.workspaceKey(db)
  if (!row) {
    const fresh = newDataKey(ring, workspaceId)
    await q.addWorkspaceKey(db, workspaceId, fresh.kid, fresh.wrapped)
    row = await q.workspaceKey(db)
  }
  if (!row?.dataKeyEncrypted) throw new AppError('conflict', "The workspace's data key was destroyed")
  return unwrapDataKey(ring, workspaceId, row.generation, row.dataKeyEncrypted)
}

/** Opens a channel's sealed fields (the outbox worker's fallback sender, the key rotation). */
export function openChannel(key: DataKey, type: ChannelType, sealed: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(sealed).map(([field, envelope]) => [field, openWith(key, purpose(type, field), envelope)]))
}

export function sealChannel(key: DataKey, type: ChannelType, values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([field, value]) => [field, sealWith(key, purpose(type, field), value)]))
}

function toView(type: ChannelType, row: q.ChannelRow | undefined): ChannelViewT {
  return { type, configured: !!row, masked: row?.masked ?? {}, updatedAt: row ? row.updatedAt.toISOString() : null }
}

/** Every channel, configured or not, in a fixed order. */
export async function listChannels(ctx: WorkspaceCtx): Promise<ChannelViewT[]> {
  const rows = await q.listChannels(ctx.db)
  return CHANNEL_TYPES.map((type) => toView(type, rows.find((r) => r.type === type)))
}

export async function putChannel(ctx: WorkspaceCtx, type: ChannelType, body: Record<string, string | undefined>): Promise<ChannelViewT> {
  const values = channelFields(type, body)
  const key = await workspaceDataKey(ctx.db, ctx.config.encryptionKeys, ctx.workspace.id)
  const masked = Object.fromEntries(Object.entries(values).map(([field, value]) => [field, mask(value)]))
  const row = await q.putChannel(ctx.db, ctx.workspace.id, type, sealChannel(key, type, values), masked)
  return toView(type, row)
}

export async function deleteChannel(ctx: WorkspaceCtx, type: ChannelType): Promise<void> {
  if (!(await q.deleteChannel(ctx.db, type))) throw notFound(`No ${type} credentials are set`)
}

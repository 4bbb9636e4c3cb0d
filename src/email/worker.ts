// The outbox worker: claims due emails with FOR UPDATE SKIP LOCKED (several instances never
// send the same row at once), sends each, and records the outcome. A failure is retried with
// exponential backoff up to MAX_ATTEMPTS; after delivery the secret-bearing body is purged.
// It runs on its own small pool of the runtime login, and reaches the queue only through the
// functions of sql/160_outbox.sql after app.begin_worker has checked its key (the key the
// database issued, read at start-up): the runtime role itself may only queue emails, never read
// them back. A connection lost mid-drain (its client is guarded, src/db/pool.ts) fails the
// drain; nothing was marked sent, so the next drain sends again with the same idempotency key,
// and Resend does not deliver it twice.
//
// A row whose template has a composer is a request to compose (email/outbox.ts): the composer
// gets the sealed input and answers the email to send, which replaces the row's template and
// body before sending (a retry resends the same email), or null to send nothing, which deletes
// the row. It runs in a savepoint, so a composer's database error fails that row only.
import type pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'
import { decrypt, encrypt, type KeyRing } from '../crypto/envelope.js'
import { unwrapDataKey } from '../crypto/data-keys.js'
import { openChannel } from '../modules/channels/service.js'
import { outboxAad, type EmailMessage } from './outbox.js'
import type { EmailTransport, OutgoingEmail } from './transport.js'

/** Turns a queued composition into an email, or into nothing; runs in the worker's transaction. */
export type Composer = (client: pg.PoolClient, to: string, input: Record<string, unknown>) => Promise<EmailMessage | null>

export const MAX_ATTEMPTS = 8
const BATCH = 20

export interface OutboxWorkerOptions {
  pool: pg.Pool
  /** The worker key (src/db/startup.ts). */
  workerKey: Buffer
  transport: EmailTransport
  /** Whether `transport` is the platform's Resend key (false: the development log). */
  platformKey: boolean
  /** A transport for a sender workspace's own Resend key: the fallback (see sendEmail). */
  workspaceTransport?: (apiKey: string) => EmailTransport
  keys: KeyRing
  from: string
  log: FastifyBaseLogger
  /** Composers by the template name a composition is queued under. */
  composers?: Record<string, Composer>
}

/** Backoff after `attempts` failures: 30 s, 1 min, 2 min … capped at 1 h. */
export function backoffSeconds(attempts: number): number {
  return Math.min(3600, 30 * 2 ** Math.max(0, attempts - 1))
}

/** Sends every due email once; returns how many were sent. */
export async function drainOutbox(opts: OutboxWorkerOptions): Promise<number> {
  const client = await opts.pool.connect()
  let sent = 0
  const settle = (id: string, outcome: string, extra: { providerId?: string; error?: string; backoff?: number; template?: string; body?: string; via?: SentVia | null } = {}) =>
    client.query('select app.outbox_settle($1, $2, $3, $4, $5, $6, $7, $8)',
      [id, outcome, extra.providerId ?? null, extra.error ?? null, extra.backoff ?? null, extra.template ?? null, extra.body ?? null, extra.via ?? null])
  try {
    await client.query('BEGIN')
    await client.query('select app.begin_worker($1)', [opts.workerKey])
    const { rows } = await client.query<ClaimedRow>(
      'select * from app.outbox_claim($1)',
      [BATCH],
    )
    for (const row of rows) {
      try {
        if (!row.body_encrypted) throw new Error('no body')
        const sealed = JSON.parse(decrypt(opts.keys, row.body_encrypted, outboxAad(row.id))) as Record<string, unknown>
        let body = sealed as { subject: string; text: string; html: string }
        const composer = opts.composers?.[row.template]
        if (composer) {
          const message = await compose(client, composer, row.to_address, sealed)
          if (!message) {
            await settle(row.id, 'discard')
            continue
          }
          body = { subject: message.subject, text: message.text, html: message.html }
          await settle(row.id, 'compose', { template: message.template, body: encrypt(opts.keys, JSON.stringify(body), outboxAad(row.id)) })
        }
        const { providerId, via } = await sendEmail(client, opts, row, { id: row.id, from: opts.from, to: row.to_address, ...body })
        await settle(row.id, 'sent', { providerId, via })
        sent++
      } catch (err) {
        const attempts = row.attempts + 1
        const failed = attempts >= MAX_ATTEMPTS
        opts.log.warn({ err, emailId: row.id, attempts }, failed ? 'email failed for good' : 'email send failed; will retry')
        await settle(row.id, failed ? 'failed' : 'retry', { error: (err as Error).message, backoff: backoffSeconds(attempts) })
      }
    }
    await client.query('COMMIT')
    client.release()
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    client.release(err as Error)
    throw err
  }
  return sent
}

interface ClaimedRow {
  id: string
  to_address: string
  template: string
  body_encrypted: string | null
  attempts: number
  from_workspace_id: string | null
}

/** Which Resend key delivered an email (email_outbox.sent_via); null: the development log. */
type SentVia = 'platform' | 'workspace'

/**
 * Sends through the platform's Resend key; an email that belongs to a workspace (an invitation,
 * say) falls back to that workspace's own Resend credential (channels, sql/200) when the
 * platform has no key or its send fails. The credential is opened here, used for this one send
 * and never logged: an error names the path that failed, not the key.
 */
async function sendEmail(client: pg.PoolClient, opts: OutboxWorkerOptions, row: ClaimedRow, email: OutgoingEmail): Promise<{ providerId: string; via: SentVia | null }> {
  let platformError: Error | undefined
  if (opts.platformKey) {
    try {
      return { ...(await opts.transport.send(email)), via: 'platform' }
    } catch (err) {
      platformError = err instanceof Error ? err : new Error('the platform Resend send failed')
    }
  }
  const own = row.from_workspace_id && opts.workspaceTransport ? await senderCredential(client, opts.keys, row.from_workspace_id) : null
  if (own) {
    if (platformError) opts.log.warn({ err: platformError, emailId: row.id }, "platform Resend send failed; trying the workspace's own Resend key")
    try {
      return { ...(await opts.workspaceTransport!(own.apiKey).send({ ...email, from: own.from })), via: 'workspace' }
    } catch (err) {
      throw new Error(`workspace Resend key failed too: ${(err as Error).message}`, { cause: err })
    }
  }
  if (platformError) throw platformError
  return { ...(await opts.transport.send(email)), via: null }
}

/** The sender workspace's Resend API key and sender address, or null when it has none. */
async function senderCredential(client: pg.PoolClient, ring: KeyRing, workspaceId: string): Promise<{ apiKey: string; from: string } | null> {
  const { rows } = await client.query<{ data_key_encrypted: string; generation: number; secrets_encrypted: Record<string, string> }>(
    'select * from app.outbox_sender_credential($1)', [workspaceId])
  const row = rows[0]
  if (!row?.secrets_encrypted.apiKey || !row.secrets_encrypted.from) return null
  const { apiKey, from } = openChannel(unwrapDataKey(ring, workspaceId, row.generation, row.data_key_encrypted), 'resend', row.secrets_encrypted)
  return { apiKey: apiKey!, from: from! }
}

async function compose(client: pg.PoolClient, composer: Composer, to: string, input: Record<string, unknown>): Promise<EmailMessage | null> {
  await client.query('savepoint compose')
  try {
    const message = await composer(client, to, input)
    await client.query('release savepoint compose')
    return message
  } catch (err) {
    await client.query('rollback to savepoint compose')
    throw err
  }
}

/** Polls the outbox every `intervalMs` until stopped. */
export function startOutboxWorker(opts: OutboxWorkerOptions & { intervalMs: number }): { stop(): Promise<void>; kick(): void } {
  let running: Promise<unknown> = Promise.resolve()
  let stopped = false
  const tick = () => {
    running = running.then(() => (stopped ? 0 : drainOutbox(opts))).catch((err) => opts.log.warn({ err }, 'outbox drain failed'))
  }
  const timer = setInterval(tick, opts.intervalMs)
  timer.unref()
  return {
    kick: tick,
    async stop() {
      stopped = true
      clearInterval(timer)
      await running
    },
  }
}

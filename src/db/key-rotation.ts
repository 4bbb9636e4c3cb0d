// Key rotation (`npm run keys:rotate`, scripts/keys-rotate.ts), run as the schema owner in a
// maintenance context (app.begin_maintenance, sql/200), while the service keeps running.
//
// To rotate, an operator puts a new key first in ENCRYPTION_KEYS and keeps the old ones after
// it; every instance then seals with the new key and still opens with the old. Then:
//
//   re-wrap     every workspace's data key is re-wrapped under the ring's first key, one short
//               transaction per workspace (32 bytes each: fast whatever the data).
//   --reencrypt also re-seals every value sealed under an older key: each workspace's channel
//               credentials under a fresh data key (one transaction per workspace, holding the
//               workspace's key lock so a concurrent change waits), then the TOTP secrets and
//               the queued email bodies, in batches. Once it finishes, nothing needs the old
//               keys, and they can leave the ring.
//
// Every step picks its work by what is still old (a key id, a data key made before the run
// began), and the run is recorded in key_rotations: an interrupted run, started again, resumes
// where it stopped. Rows changed meanwhile by the service are left alone (each update checks
// the value it read), and picked up by the next pass.
import type pg from 'pg'
import { decrypt, encrypt, type KeyRing } from '../crypto/envelope.js'
import { dataKeyLock, newDataKey, rewrapDataKey, unwrapDataKey } from '../crypto/data-keys.js'
import type { ChannelType } from './schema/index.js'
import { openChannel, sealChannel } from '../modules/channels/service.js'
import { secretAad } from '../modules/mfa/service.js'
import { outboxAad } from '../email/outbox.js'

export type RotationPhase = 'rewrap' | 'channels' | 'totp' | 'outbox'

export interface RotationProgress {
  phase: RotationPhase
  done: number
  total: number
}

export interface RotationOptions {
  /** A connection of the schema owner. */
  client: pg.Client | pg.PoolClient
  ring: KeyRing
  reencrypt: boolean
  batchSize?: number
  onProgress?: (p: RotationProgress) => void
  /** Stops after this many units of work (tests interrupt a run with it). */
  stopAfter?: number
}

export interface RotationResult {
  runId: string
  resumed: boolean
  /** Units of work done in this invocation, per phase. */
  done: Record<RotationPhase, number>
  finished: boolean
}

class Interrupted extends Error {}

export async function rotateKeys(opts: RotationOptions): Promise<RotationResult> {
  const { client, ring } = opts
  const batch = opts.batchSize ?? 500
  const active = ring.active.id
  const done: Record<RotationPhase, number> = { rewrap: 0, channels: 0, totp: 0, outbox: 0 }
  let budget = opts.stopAfter ?? Infinity
  const tick = (phase: RotationPhase, total: number) => {
    done[phase]++
    opts.onProgress?.({ phase, done: done[phase], total })
    if (--budget <= 0) throw new Interrupted()
  }
  // One transaction in a maintenance context; the audit rows it causes name this run.
  const maintenance = async <T>(fn: () => Promise<T>): Promise<T> => {
    await client.query('begin')
    try {
      await client.query('select app.begin_maintenance($1)', [`key rotation to ${active}`])
      const result = await fn()
      await client.query('commit')
      return result
    } catch (err) {
      await client.query('rollback')
      throw err
    }
  }

  const run = await maintenance(async () => {
    const open = await client.query<{ id: string; started_at: Date }>(
      'select id, started_at from key_rotations where finished_at is null and target_kid = $1 and reencrypt = $2 order by started_at desc limit 1',
      [active, opts.reencrypt])
    if (open.rows[0]) return { ...open.rows[0], resumed: true }
    const made = await client.query<{ id: string; started_at: Date }>(
      'insert into key_rotations (target_kid, reencrypt) values ($1, $2) returning id, started_at', [active, opts.reencrypt])
    return { ...made.rows[0]!, resumed: false }
  })

  try {
    // Re-wrap: data keys wrapped under any other ring key.
    const stale = await maintenance(() => client.query<{ workspace_id: string }>(
      'select workspace_id from workspace_keys where data_key_encrypted is not null and kid <> $1 order by workspace_id', [active]))
    for (const { workspace_id: ws } of stale.rows) {
      await maintenance(async () => {
        const { rows } = await client.query<{ data_key_encrypted: string }>(
          'select data_key_encrypted from workspace_keys where workspace_id = $1 and kid <> $2 and data_key_encrypted is not null for update', [ws, active])
        if (!rows[0]) return
        await client.query('update workspace_keys set kid = $2, data_key_encrypted = $3, rotated_at = now() where workspace_id = $1',
          [ws, active, rewrapDataKey(ring, ws, rows[0].data_key_encrypted)])
      })
      tick('rewrap', stale.rows.length)
    }

    if (opts.reencrypt) {
      // Channel credentials: a fresh data key for every workspace whose key predates the run.
      const old = await maintenance(() => client.query<{ workspace_id: string }>(
        'select workspace_id from workspace_keys where data_key_encrypted is not null and created_at < $1 order by workspace_id', [run.started_at]))
      for (const { workspace_id: ws } of old.rows) {
        await maintenance(async () => {
          await client.query('select pg_advisory_xact_lock($1::bigint)', [dataKeyLock(ws)])
          const { rows } = await client.query<{ data_key_encrypted: string; generation: number }>(
            'select data_key_encrypted, generation from workspace_keys where workspace_id = $1 and created_at < $2 and data_key_encrypted is not null for update',
            [ws, run.started_at])
          if (!rows[0]) return
          const current = unwrapDataKey(ring, ws, rows[0].generation, rows[0].data_key_encrypted)
          const fresh = newDataKey(ring, ws, rows[0].generation + 1)
          const creds = await client.query<{ type: ChannelType; secrets_encrypted: Record<string, string> }>(
            'select type, secrets_encrypted from channel_credentials where workspace_id = $1', [ws])
          for (const cred of creds.rows) {
            const values = openChannel(current, cred.type, cred.secrets_encrypted)
            await client.query('update channel_credentials set secrets_encrypted = $3 where workspace_id = $1 and type = $2',
              [ws, cred.type, JSON.stringify(sealChannel(fresh.key, cred.type, values))])
          }
          await client.query(
            'update workspace_keys set kid = $2, data_key_encrypted = $3, generation = $4, created_at = now(), rotated_at = now() where workspace_id = $1',
            [ws, fresh.kid, fresh.wrapped, fresh.key.generation])
        })
        tick('channels', old.rows.length)
      }

      // TOTP secrets and queued email bodies sealed under another ring key, a batch at a time.
      await reseal('totp', 'user_mfa', 'user_id', 'secret_encrypted', secretAad)
      await reseal('outbox', 'email_outbox', 'id', 'body_encrypted', outboxAad)
    }

    await maintenance(() => client.query('update key_rotations set finished_at = now() where id = $1', [run.id]))
    return { runId: run.id, resumed: run.resumed, done, finished: true }
  } catch (err) {
    if (err instanceof Interrupted) return { runId: run.id, resumed: run.resumed, done, finished: false }
    throw err
  }

  async function reseal(phase: RotationPhase, table: string, idColumn: string, column: string, aad: (id: string) => string): Promise<void> {
    const staleWhere = `${column} is not null and split_part(${column}, '.', 2) <> $1`
    const total = Number((await maintenance(() => client.query<{ n: string }>(`select count(*) as n from ${table} where ${staleWhere}`, [active]))).rows[0]!.n)
    for (;;) {
      const rows = await maintenance(async () => {
        const { rows } = await client.query<{ id: string; sealed: string }>(
          `select ${idColumn}::text as id, ${column} as sealed from ${table} where ${staleWhere} order by ${idColumn} limit $2 for update skip locked`,
          [active, batch])
        for (const row of rows) {
          const resealed = encrypt(ring, decrypt(ring, row.sealed, aad(row.id)), aad(row.id))
          await client.query(`update ${table} set ${column} = $2 where ${idColumn}::text = $1 and ${column} = $3`, [row.id, resealed, row.sealed])
        }
        return rows
      })
      if (!rows.length) return
      for (let i = 0; i < rows.length; i++) tick(phase, total)
    }
  }
}

/**
 * The ring key ids that still seal something in the database (data keys, TOTP secrets, queued
 * email bodies), read as the schema owner: a key the ring no longer holds would make them
 * unreadable, so the service refuses to start without it (src/db/startup.ts).
 */
export async function keyIdsInUse(client: pg.Client | pg.PoolClient): Promise<Map<string, string[]>> {
  await client.query('begin')
  try {
    await client.query(`select app.begin_maintenance('start-up key check')`)
    const { rows } = await client.query<{ kid: string; what: string }>(`
      select kid, 'workspace data keys' as what from workspace_keys where kid is not null
      union select split_part(secret_encrypted, '.', 2), 'TOTP secrets' from user_mfa
      union select split_part(body_encrypted, '.', 2), 'queued emails' from email_outbox where body_encrypted is not null`)
    await client.query('commit')
    const used = new Map<string, string[]>()
    for (const { kid, what } of rows) used.set(kid, [...(used.get(kid) ?? []), what].sort())
    return used
  } catch (err) {
    await client.query('rollback')
    throw err
  }
}

/** Throws, naming them, when keys still in use are missing from `ring`. */
export function assertRingHolds(ring: KeyRing, used: Map<string, string[]>): void {
  const missing = [...used].filter(([kid]) => !ring.byId.has(kid))
  if (missing.length) {
    throw new Error(
      `ENCRYPTION_KEYS lacks ${missing.map(([kid, what]) => `key "${kid}" (still sealing ${what.join(', ')})`).join(' and ')}: ` +
      'put it back in the ring (after the active key) until `npm run keys:rotate -- --reencrypt` has finished')
  }
}

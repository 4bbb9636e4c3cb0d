// The audit chain verifier (invariant 6): walks every chain of public.audit_log (or one
// workspace's) in chain_seq order, recomputes each row's hash in Node and names the first row
// per chain that does not fit, and why. A superuser can edit the log; this is how it shows.
//
// Trust: the hash is recomputed here with node:crypto, and the canonical text it covers is built
// by the SQL expression below, not by calling app.audit_canonical, so a superuser who replaced
// that function (or app.audit_seal) cannot make tampered rows look sealed. Every name in the
// query is schema-qualified and the transaction's search_path is pinned for the same reason.
// What no hash chain can show on its own: a superuser who rewrites a chain from the tampered row
// to its head, recomputing every hash. Only copies of the heads kept outside the database
// (anchoring) would show that; this verifier does not keep them.
import { createHash } from 'node:crypto'
import type pg from 'pg'
import { isUuid } from '../schemas/common.js'

/** The chain of platform-level events (workspace_id NULL). */
export const PLATFORM_CHAIN = '00000000-0000-0000-0000-000000000000'
export const DEFAULT_BATCH_SIZE = 5000


export interface ChainBreak {
  chainKey: string
  /** The first row that does not fit (for a missing tail: the last row left; 0 when none is left). */
  chainSeq: number
  /** That row's id, or null when the chain has no rows left. */
  id: string | null
  reason: string
}

export interface VerifyOptions {
  /** Only this workspace's chain (the nil UUID: the platform chain). */
  workspaceId?: string
  /** Rows per query (keyset pagination). */
  batchSize?: number
  /** Called after every batch with the rows checked so far and the rows to check. */
  onProgress?: (done: number, total: number) => void
}

export interface VerifyResult {
  chains: number
  rows: number
  breaks: ChainBreak[]
}

// The text each row's hash covers: exactly app.audit_canonical in sql/050_audit.sql (a JSON array
// of every column but the hash, time in UTC with microseconds). Keep the two in step; the tests
// prove they agree on every kind of row the log holds.
const CANONICAL = `pg_catalog.jsonb_build_array(
    a.id, a.workspace_id, a.chain_key, a.chain_seq, a.kind,
    a.actor_user_id, a.actor_token_id, a.acting_as_user_id, a.db_role,
    a.action, a.entity_type, a.entity_id, a.before, a.after,
    a.ip, a.user_agent, a.request_id,
    pg_catalog.to_char(a.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    pg_catalog.encode(a.prev_hash, 'hex')
  )::pg_catalog.text`

// Keyset pagination on (chain_seq, id), served by the unique index on (chain_key, chain_seq);
// id breaks ties should a superuser have dropped that constraint and duplicated a position.
const BATCH = `select a.id::pg_catalog.text as id, a.chain_seq::pg_catalog.text as chain_seq, a.prev_hash, a.hash, ${CANONICAL} as canonical
  from public.audit_log a
 where a.chain_key = $1::pg_catalog.uuid and (a.chain_seq, a.id) > ($2::pg_catalog.int8, $3::pg_catalog.uuid)
 order by a.chain_seq, a.id
 limit $4`

const CHAINS = `select k.chain_key::pg_catalog.text as chain_key, h.seq::pg_catalog.text as head_seq, h.hash as head_hash
  from (select chain_key from public.audit_chain_heads union select distinct chain_key from public.audit_log) k
  left join public.audit_chain_heads h on h.chain_key = k.chain_key
 where $1::pg_catalog.uuid is null or k.chain_key = $1::pg_catalog.uuid
 order by k.chain_key`

interface Row {
  id: string
  chain_seq: string
  prev_hash: Buffer | null
  hash: Buffer
  canonical: string
}

interface Link {
  seq: number
  id: string
  hash: Buffer
}

const EMPTY = Buffer.alloc(0)
const short = (hash: Buffer) => hash.toString('hex').slice(0, 16)

/** sha256(prev_hash || UTF-8 canonical text): what app.audit_seal stores as the row's hash. */
export function auditRowHash(prevHash: Buffer | null, canonical: string): Buffer {
  return createHash('sha256').update(prevHash ?? EMPTY).update(canonical, 'utf8').digest()
}

/**
 * Refuses to verify through row-level security that hides rows: a login that sees only part of
 * the log (or none of it) would otherwise report a clean, short chain. Superusers and BYPASSRLS
 * logins see everything; so does a member of app_auditor, whose policies are `using (true)`.
 */
async function assertSeesWholeLog(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ login: string; filtered: boolean; auditor: boolean }>(
    `select current_user::pg_catalog.text as login,
            pg_catalog.row_security_active('public.audit_log') or pg_catalog.row_security_active('public.audit_chain_heads') as filtered,
            pg_catalog.pg_has_role('app_auditor', 'USAGE') as auditor`,
  )
  const r = rows[0]!
  if (r.filtered && !r.auditor) {
    throw new Error(
      `${r.login} reads audit_log through row-level security and would see only part of it: ` +
        'verify as a login granted app_auditor (GRANT app_auditor TO …) or as a superuser',
    )
  }
}

/** Why `row` does not follow `prev` (null: it is the chain's first row), or null if it does. */
async function findBreak(client: pg.Client, chainKey: string, prev: Link | null, row: Row): Promise<string | null> {
  const seq = Number(row.chain_seq)
  const expected = prev ? prev.seq + 1 : 1
  if (prev && seq === prev.seq) return `chain_seq ${seq} appears twice: the chain is forked`
  if (seq > expected) {
    const missing = seq - 1 > expected ? `${expected}–${seq - 1}` : `${expected}`
    return `gap in chain_seq: ${missing} missing before this row (rows deleted)`
  }
  if (seq < expected) return `chain_seq ${seq} is out of order: expected ${expected}`

  const linked = prev ? row.prev_hash !== null && row.prev_hash.equals(prev.hash) : row.prev_hash === null
  if (!linked) {
    if (!prev) return 'the first row of the chain has a prev_hash: rows before it were removed'
    if (row.prev_hash) {
      // Where the hash this row claims to follow actually is tells a reordering from an edit.
      const { rows } = await client.query<{ chain_seq: string }>(
        `select a.chain_seq::pg_catalog.text as chain_seq from public.audit_log a
          where a.chain_key = $1::pg_catalog.uuid and a.hash = $2 order by a.chain_seq limit 1`,
        [chainKey, row.prev_hash],
      )
      const at = rows[0] ? Number(rows[0].chain_seq) : null
      if (at !== null && at > seq) {
        return `sequence out of order: this row follows chain_seq ${at}, which now comes after it (rows reordered)`
      }
      if (at !== null) return `prev_hash points to chain_seq ${at}, not to the previous row (chain_seq ${prev.seq}): rows reordered`
    }
    return `prev_hash does not match the previous row's hash (chain_seq ${prev.seq}): the previous row or this link was changed`
  }

  if (!auditRowHash(row.prev_hash, row.canonical).equals(row.hash)) {
    return 'hash mismatch: the row was changed after it was sealed'
  }
  return null
}

/** The hash of a chain's placeholder head before its first row (app.audit_chain_origin()). */
const CHAIN_ORIGIN = Buffer.alloc(32)

/**
 * Walks the chains and names the first broken row of each. Runs its own read-only transaction
 * (one snapshot), so `client` must not be inside one; it must see the whole log (see above).
 */
export async function verifyAuditChains(client: pg.Client, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const { workspaceId = null, batchSize = DEFAULT_BATCH_SIZE, onProgress } = opts
  // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- isUuid's `value is string` guard narrows a non-UUID string to never; it is still that string
  if (workspaceId !== null && !isUuid(workspaceId)) throw new Error(`not a workspace id: ${workspaceId}`)
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer: ${batchSize}`)

  // One snapshot for the heads and every batch, so rows committed while the walk runs cannot
  // look like a head that moved past the chain's last row.
  await client.query('begin isolation level repeatable read read only')
  try {
    await client.query('set local search_path = pg_catalog, pg_temp')
    await assertSeesWholeLog(client)
    const chains = (await client.query<{ chain_key: string; head_seq: string | null; head_hash: Buffer | null }>(CHAINS, [workspaceId])).rows
    const counted = await client.query<{ total: string }>(
      `select pg_catalog.count(*)::pg_catalog.text as total from public.audit_log a
        where $1::pg_catalog.uuid is null or a.chain_key = $1::pg_catalog.uuid`,
      [workspaceId],
    )
    const total = Number(counted.rows[0]!.total)
    const result: VerifyResult = { chains: chains.length, rows: 0, breaks: [] }

    for (const chain of chains) {
      let prev: Link | null = null
      let broken = false
      const record = (chainSeq: number, id: string | null, reason: string) => {
        if (!broken) result.breaks.push({ chainKey: chain.chain_key, chainSeq, id, reason })
        broken = true
      }
      let cursor: [string, string] = ['-9223372036854775808', '00000000-0000-0000-0000-000000000000']
      for (;;) {
        const { rows } = await client.query<Row>(BATCH, [chain.chain_key, ...cursor, batchSize])
        for (const row of rows) {
          // After the first break the walk goes on (so progress stays true) but records nothing.
          const reason = broken ? null : await findBreak(client, chain.chain_key, prev, row)
          if (reason) record(Number(row.chain_seq), row.id, reason)
          prev = { seq: Number(row.chain_seq), id: row.id, hash: row.hash }
        }
        result.rows += rows.length
        onProgress?.(result.rows, total)
        if (rows.length < batchSize) break
        const last = rows[rows.length - 1]!
        cursor = [last.chain_seq, last.id]
      }

      // The head is moved in the same transaction as every append: a head past the last row
      // means rows were cut off the end, where no later row's prev_hash could show it.
      if (chain.head_seq === null || chain.head_hash === null) {
        record(prev?.seq ?? 0, prev?.id ?? null, 'the chain has no head in audit_chain_heads: it was removed')
      } else if (!prev) {
        // A chain starts from a placeholder head (seq 0, 32 zero bytes, sql/050) laid just before
        // its first row: a placeholder with no rows is an empty chain, nothing was removed.
        if (Number(chain.head_seq) !== 0 || !chain.head_hash.equals(CHAIN_ORIGIN)) {
          record(0, null, `the chain head is at chain_seq ${chain.head_seq} but the chain has no rows: all were deleted`)
        }
      } else if (Number(chain.head_seq) !== prev.seq || !chain.head_hash.equals(prev.hash)) {
        const headSeq = Number(chain.head_seq)
        record(prev.seq, prev.id, headSeq > prev.seq
          ? `the chain ends at chain_seq ${prev.seq} but its head (audit_chain_heads) is at ${headSeq}: rows after this one were deleted`
          : `the chain head (audit_chain_heads: chain_seq ${headSeq}, hash ${short(chain.head_hash)}…) does not match the last row (chain_seq ${prev.seq}, hash ${short(prev.hash)}…)`)
      }
    }
    await client.query('commit')
    return result
  } catch (err) {
    await client.query('rollback').catch(() => {})
    throw err
  }
}

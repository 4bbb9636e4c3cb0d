// The audit log's hash chains as app.audit_seal and app.audit_advance (sql/050_audit.sql) build
// them: one chain per workspace (and one for platform events), positions 1..n with no gap or
// fork, each row's prev_hash the previous row's hash, and the head in audit_chain_heads on the
// last row, also when several connections append to one workspace at the same moment. The head
// moves only with its chain (app.audit_chain_head_guard): not for the runtime, not for the
// schema owner, not for a superuser who leaves the guard on. Requests are opened the real way
// (app.begin_request with a live session's token hash).
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { PLATFORM_CHAIN } from '../../src/audit/verify.js'
import {
  auditChain,
  auditChainHead,
  beginRequest,
  inRequest,
  ownerOf,
  permissionDenied,
  pgError,
  rows,
  seedSession,
  seedTenant,
  seedUser,
  type AuditRow,
  type PgError,
  type Request,
  type Sql,
  type Tenant,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const owner = await connect(t, db.ownerUrl)
const runtime = await connect(t, db.appUrl)

interface Asserts {
  same(found: unknown, wanted: unknown, message: string): boolean
  ok(value: unknown, message: string): boolean
}

const ORIGIN = Buffer.alloc(32)
/** app.audit_chain_origin() as SQL any role can evaluate (only app_privileged may call the function). */
const ZEROS = `'\\x${ORIGIN.toString('hex')}'::bytea`
/** The refusal of app.audit_chain_head_guard. */
const headsMoveOnlyWithTheChain = (op: 'INSERT' | 'UPDATE' | 'DELETE'): PgError =>
  ({ code: '42501', message: `audit chain heads move only with the chain: ${op} refused` })
const allHeads = () => rows(su, 'select chain_key, seq::int as seq, hash from audit_chain_heads order by chain_key')

/** Checks `chain` is exactly positions 1..n, linked hash to hash, and that its head is its last row. */
async function assertOneLinkedChain(t: Asserts, chainKey: string, chain: AuditRow[]): Promise<void> {
  t.same(chain.map((r) => r.chain_seq), chain.map((_, i) => i + 1), `positions 1..${chain.length}, no gap, no duplicate`)
  const unlinked = chain.filter((r, i) => (i === 0 ? r.prev_hash !== null : !r.prev_hash?.equals(chain[i - 1]!.hash)))
  t.same(unlinked.map((r) => r.chain_seq), [], "every prev_hash is the previous row's hash (none on the first)")
  await assertHeadOnLastRow(t, chainKey, chain)
}

/** Checks the chain's head is exactly its last row: the same position and the same hash. */
async function assertHeadOnLastRow(t: Asserts, chainKey: string, chain: AuditRow[]): Promise<void> {
  const last = chain[chain.length - 1]!
  const head = await auditChainHead(su, chainKey)
  t.same(head && { seq: head.seq, hash: head.hash.toString('hex') }, { seq: last.chain_seq, hash: last.hash.toString('hex') },
    `the chain head is the last row (${last.chain_seq})`)
}

const contactChange = (tenant: Tenant, requestId: string, statement: string, values: unknown[]) =>
  inRequest(runtime, { ...ownerOf(tenant), requestId }, (sql) => sql.query(statement, values))

/**
 * A workspace with an owner, its membership and a live session, but no audit row and no chain
 * head yet: inserted as superuser in replica mode, which skips the (ordinary) change capture.
 * Fixture only: no path the service offers writes a membership unrecorded.
 */
async function unrecordedTenant(): Promise<Tenant> {
  const ownerId = await seedUser(su)
  await su.query('begin')
  try {
    await su.query('set local session_replication_role = replica')
    const [ws] = await rows<{ id: string }>(su,
      `insert into workspaces (name, owner_id, status, trial_ends_at) values ($1, $2, 'active', now() + interval '14 days') returning id`,
      [`ws ${randomBytes(6).toString('hex')}`, ownerId])
    await su.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'owner')`, [ws!.id, ownerId])
    await su.query('commit')
    return { workspaceId: ws!.id, ownerId, session: await seedSession(su, ownerId), contactIds: [] }
  } catch (err) {
    await su.query('rollback')
    throw err
  }
}

t.test('a sequence of changes forms one linked chain per workspace', async (t) => {
  // Threat: a row is slipped into, or dropped from, a workspace's history without breaking a link.
  const a = await seedTenant(su, { contacts: 0 })
  const b = await seedTenant(su, { contacts: 1 })
  for (const name of ['one', 'two', 'three']) {
    await contactChange(a, `req-${name}`, `insert into contacts (workspace_id, name) values ($1, $2)`, [a.workspaceId, name])
  }
  await contactChange(a, 'req-rename', `update contacts set name = 'uno' where workspace_id = $1 and name = 'one'`, [a.workspaceId])
  await inRequest(runtime, { session: a.session }, (sql) => sql.query(`select app.audit_event('platform.probe', null, null, null, null, true)`))

  const chainA = await auditChain(su, a.workspaceId)
  t.same(chainA.map((r) => r.action), ['membership.create', 'contact.create', 'contact.create', 'contact.create', 'contact.update'],
    "A's chain holds A's changes in order")
  await assertOneLinkedChain(t, a.workspaceId, chainA)
  const chainB = await auditChain(su, b.workspaceId)
  t.same(chainB.map((r) => [r.chain_seq, r.action]), [[1, 'membership.create'], [2, 'contact.create']], "B's chain starts at 1 of its own")
  await assertOneLinkedChain(t, b.workspaceId, chainB)
  const platform = await auditChain(su, PLATFORM_CHAIN)
  t.ok(platform.some((r) => r.action === 'platform.probe' && r.workspace_id === null), 'platform events chain under the nil UUID')
  await assertOneLinkedChain(t, PLATFORM_CHAIN, platform)

  // Each hash covers the previous hash and the row's canonical text (the verifier recomputes it independently).
  t.same(await rows(su, `select chain_seq from audit_log a
      where hash <> sha256(coalesce(prev_hash, '') || convert_to(app.audit_canonical(a), 'UTF8'))`), [], 'every hash matches its row')
})

t.test('chain heads can only change through the sealing function, for the owner too', async (t) => {
  // Threat: the schema owner (a migration, a DBA session), the runtime or a careless superuser moves a chain's head, to cut the newest rows off unseen or to make room for forged ones.
  const tenant = await seedTenant(su, { contacts: 2 })
  await contactChange(tenant, 'req-head', `update contacts set name = 'renamed' where id = $1`, [tenant.contactIds[0]])
  const ws = tenant.workspaceId
  const chain = await auditChain(su, ws)
  t.same(chain.map((r) => r.chain_seq), [1, 2, 3, 4], 'the chain has four rows')
  const previous = chain[2]!
  const before = await allHeads()

  const updates: Array<[string, string]> = [
    ['one step forward', `update audit_chain_heads set seq = seq + 1 where chain_key = '${ws}'`],
    ['one step forward with a made-up hash', `update audit_chain_heads set seq = seq + 1, hash = sha256('forged') where chain_key = '${ws}'`],
    ['a new hash in place', `update audit_chain_heads set hash = sha256('forged') where chain_key = '${ws}'`],
    ['a jump by two', `update audit_chain_heads set seq = seq + 2 where chain_key = '${ws}'`],
    ['back to the previous row, with its hash',
      `update audit_chain_heads set seq = ${previous.chain_seq}, hash = '\\x${previous.hash.toString('hex')}' where chain_key = '${ws}'`],
    ['back to a placeholder', `update audit_chain_heads set seq = 0, hash = ${ZEROS} where chain_key = '${ws}'`],
    ['onto another chain', `update audit_chain_heads set chain_key = gen_random_uuid() where chain_key = '${ws}'`],
    ['a no-op', `update audit_chain_heads set seq = seq where chain_key = '${ws}'`],
    ['a placeholder upserted over the head',
      `insert into audit_chain_heads (chain_key, seq, hash) values ('${ws}', 0, ${ZEROS})
       on conflict (chain_key) do update set seq = excluded.seq, hash = excluded.hash`],
  ]
  const inserts: Array<[string, string]> = [
    ['a head that is not a placeholder', `insert into audit_chain_heads (chain_key, seq, hash) values (gen_random_uuid(), 5, sha256('forged'))`],
    ['a head at 1 with a made-up hash', `insert into audit_chain_heads (chain_key, seq, hash) values (gen_random_uuid(), 1, sha256('forged'))`],
    ['a placeholder with a hash of its own', `insert into audit_chain_heads (chain_key, seq, hash) values (gen_random_uuid(), 0, sha256('forged'))`],
  ]

  // The schema owner: a member of app_privileged, whose policies let it reach every head.
  for (const [what, statement] of updates) {
    t.same(await pgError(owner.query(statement)), headsMoveOnlyWithTheChain('UPDATE'), `the owner: ${what} is refused`)
  }
  for (const [what, statement] of inserts) {
    t.same(await pgError(owner.query(statement)), headsMoveOnlyWithTheChain('INSERT'), `the owner: ${what} is refused`)
  }
  t.same(await pgError(owner.query(`insert into audit_chain_heads (chain_key, seq, hash) values ($1, 0, app.audit_chain_origin())`, [ws])), {
    code: '23505', message: 'duplicate key value violates unique constraint "audit_chain_heads_pkey"', constraint: 'audit_chain_heads_pkey',
  }, 'the owner: a placeholder over an existing chain is a duplicate')
  t.equal((await owner.query(`delete from audit_chain_heads where chain_key = $1`, [ws])).rowCount, 0,
    'the owner: DELETE matches no head (FORCE RLS, no DELETE policy)')
  // The owner may lift FORCE on its own table; the guard still stands in the way.
  for (const [op, statement] of [
    ['DELETE', `delete from audit_chain_heads where chain_key = '${ws}'`],
    ['UPDATE', `update audit_chain_heads set seq = seq + 1 where chain_key = '${ws}'`],
  ] as const) {
    await owner.query('begin')
    try {
      await owner.query('alter table audit_chain_heads no force row level security')
      t.same(await pgError(owner.query(statement)), headsMoveOnlyWithTheChain(op), `the owner without FORCE: ${op} is refused`)
    } finally {
      await owner.query('rollback')
    }
  }
  t.same(await pgError(owner.query('truncate audit_chain_heads')),
    { code: '42501', message: 'the audit log is append-only: TRUNCATE is not allowed' }, 'the owner: TRUNCATE is refused')

  // The runtime holds no privilege on the heads at all: refused before any row is looked at.
  for (const [what, statement] of [...updates, ...inserts, ['a delete', `delete from audit_chain_heads where chain_key = '${ws}'`]]) {
    t.same(await pgError(inRequest(runtime, { ...ownerOf(tenant), requestId: 'req-forge-head' }, (sql) => sql.query(statement!))),
      permissionDenied('table', 'audit_chain_heads'), `the runtime: ${what} is refused`)
  }

  // A superuser who leaves the guard on is refused too, also in replica mode (the guard is ENABLE ALWAYS).
  for (const replica of [false, true]) {
    for (const [op, statement] of [
      ['UPDATE', `update audit_chain_heads set seq = seq + 1 where chain_key = '${ws}'`],
      ['DELETE', `delete from audit_chain_heads where chain_key = '${ws}'`],
      ['INSERT', `insert into audit_chain_heads (chain_key, seq, hash) values (gen_random_uuid(), 5, sha256('forged'))`],
    ] as const) {
      await su.query('begin')
      try {
        if (replica) await su.query('set local session_replication_role = replica')
        t.same(await pgError(su.query(statement)), headsMoveOnlyWithTheChain(op), `a superuser${replica ? ' in replica mode' : ''}: ${op} is refused`)
      } finally {
        await su.query('rollback')
      }
    }
  }

  t.same(await allHeads(), before, 'every head is unchanged, and no head was added')
  await assertOneLinkedChain(t, ws, await auditChain(su, ws))

  // The sealing path still moves the head, one step per row.
  await contactChange(tenant, 'req-after', `update contacts set name = 'renamed again' where id = $1`, [tenant.contactIds[0]])
  const after = await auditChain(su, ws)
  t.same(after.map((r) => r.chain_seq), [1, 2, 3, 4, 5], 'the next audited write appends row 5')
  await assertOneLinkedChain(t, ws, after)
})

t.test('every audited write advances its chain head by one, from a placeholder on a new chain', async (t) => {
  // Threat: a head that falls behind or runs ahead of its chain, so rows cut off the end, or forged onto it, go unseen.
  // A new chain started by the real path: the first write makes its head, at that first row.
  const founder = await seedUser(su)
  const founderSession = await seedSession(su, founder)
  const fresh = await inRequest(runtime, { session: founderSession, requestId: 'req-found' }, async (sql) =>
    (await rows<{ id: string }>(sql, 'select app.create_workspace($1) as id', [`Fresh ${randomBytes(4).toString('hex')}`]))[0]!.id)
  const freshChain = await auditChain(su, fresh)
  t.match(freshChain, [{ chain_seq: 1, prev_hash: null, action: 'membership.create', actor_user_id: founder, request_id: 'req-found' }],
    'a new chain: row 1, with no prev_hash')
  t.equal(freshChain.length, 1, 'and only it')
  await assertHeadOnLastRow(t, fresh, freshChain)

  // A chain with no row yet, whose placeholder head the owner may lay (the only head it may insert).
  const tenant = await unrecordedTenant()
  const ws = tenant.workspaceId
  t.same([await auditChain(su, ws), await auditChainHead(su, ws)], [[], undefined], 'no row and no head yet')
  await owner.query('insert into audit_chain_heads (chain_key, seq, hash) values ($1, 0, app.audit_chain_origin())', [ws])
  t.same(await auditChainHead(su, ws), { seq: 0, hash: ORIGIN }, 'the placeholder: seq 0, a hash of 32 zero bytes')

  // Every kind of audited write, each its own transaction: the head follows each, one step at a time.
  const member = await seedUser(su)
  await su.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'agent')`, [ws, member])
  let viewerRole = '' // the custom "Viewer" role, created by the write before the role change
  const writes: Array<[string, Request, (sql: Sql) => Promise<unknown>]> = [
    ['a contact created', ownerOf(tenant), (sql) => sql.query(`insert into contacts (workspace_id, name) values ($1, 'First')`, [ws])],
    ['two contacts in one statement', ownerOf(tenant), (sql) =>
      sql.query(`insert into contacts (workspace_id, name) values ($1, 'Second'), ($1, 'Third')`, [ws])],
    ['a contact renamed', ownerOf(tenant), (sql) => sql.query(`update contacts set name = 'Premier' where workspace_id = $1 and name = 'First'`, [ws])],
    ['an event', ownerOf(tenant), (sql) => sql.query(`select app.audit_event('workspace.probe', null, null, null, null, false)`)],
    ['a custom role created', ownerOf(tenant), async (sql) => {
      viewerRole = (await rows<{ id: string }>(sql, `select id from app.create_role('Viewer', '{workspace:read,members:read,contacts:read}')`))[0]!.id
    }],
    ['a role change', ownerOf(tenant), (sql) => sql.query('select app.change_member_role($1, $2)', [member, viewerRole])],
  ]
  let seq = 1 // the membership inserted above, as superuser
  let chain = await auditChain(su, ws)
  t.match(chain, [{ chain_seq: 1, prev_hash: null, action: 'membership.create', entity_id: member }], 'the placeholder advanced to row 1, with no prev_hash')
  await assertHeadOnLastRow(t, ws, chain)
  for (const [what, req, write] of writes) {
    const count = what.startsWith('two') ? 2 : 1
    await inRequest(runtime, req, write)
    seq += count
    chain = await auditChain(su, ws)
    t.equal(chain.length, seq, `${what}: ${count} row${count > 1 ? 's' : ''} appended`)
    await assertHeadOnLastRow(t, ws, chain)
  }
  await assertOneLinkedChain(t, ws, chain)

  // A rolled-back write leaves no row and does not move the head.
  const head = await auditChainHead(su, ws)
  await runtime.query('begin')
  try {
    await beginRequest(runtime, ownerOf(tenant))
    await runtime.query(`insert into contacts (workspace_id, name) values ($1, 'Rolled back')`, [ws])
    await runtime.query('set constraints all immediate') // the capture runs now, not at COMMIT
  } finally {
    await runtime.query('rollback')
  }
  t.same([await auditChainHead(su, ws), (await auditChain(su, ws)).length], [head, seq], 'a rolled-back write: no row, the head where it was')
})

t.test('concurrent inserts from several connections leave one unforked chain', async (t) => {
  // Threat: two requests appending to one workspace at once read the same head and fork the chain.
  const tenant = await seedTenant(su, { contacts: 0 })
  const writers = await Promise.all(Array.from({ length: 6 }, () => connect(t, db.appUrl)))
  const sessions: Buffer[] = []
  for (let w = 0; w < writers.length; w++) sessions.push(await seedSession(su, tenant.ownerId))
  await Promise.all(writers.map(async (writer, w) => {
    for (let i = 0; i < 10; i++) {
      await inRequest(writer, { session: sessions[w], workspaceId: tenant.workspaceId, requestId: `req-${w}` }, (sql) =>
        sql.query(`insert into contacts (workspace_id, name) values ($1, $2)`, [tenant.workspaceId, `writer ${w} contact ${i}`]))
    }
  }))

  const chain = await auditChain(su, tenant.workspaceId)
  t.equal(chain.length, 61, "the owner's membership and 60 contacts")
  await assertOneLinkedChain(t, tenant.workspaceId, chain)
  const perWriter = new Map<string, number>()
  for (const r of chain.slice(1)) perWriter.set(r.request_id!, (perWriter.get(r.request_id!) ?? 0) + 1)
  t.same([...perWriter.values()], [10, 10, 10, 10, 10, 10], 'every writer appended all ten')
  const interleaved = chain.slice(2).filter((r, i) => r.request_id !== chain[i + 1]!.request_id).length
  t.ok(interleaved > 0, `the writers really interleaved (${interleaved} hand-overs between connections)`)
})

t.test('concurrent first writers to a brand-new chain start it once and never fork it', async (t) => {
  // Threat: two requests writing a workspace's first rows at once each start a chain of their own, or lose a row.
  const tenant = await unrecordedTenant()
  const ws = tenant.workspaceId
  t.same([await auditChain(su, ws), await auditChainHead(su, ws)], [[], undefined], 'no row and no head yet')
  const writers = await Promise.all(Array.from({ length: 6 }, () => connect(t, db.appUrl)))
  const sessions: Buffer[] = []
  for (let w = 0; w < writers.length; w++) sessions.push(await seedSession(su, tenant.ownerId))

  // Round one: every writer has written before any commits (a barrier, no sleep), so every
  // commit finds no head and all of them race to lay the placeholder.
  let arrived = 0
  let release!: () => void
  const allWritten = new Promise<void>((resolve) => { release = resolve })
  await Promise.all(writers.map(async (writer, w) => {
    await writer.query('begin')
    try {
      await beginRequest(writer, { session: sessions[w], workspaceId: ws, requestId: `req-${w}` })
      await writer.query(`insert into contacts (workspace_id, name) values ($1, $2)`, [ws, `writer ${w} contact 0`])
      if (++arrived === writers.length) release()
      await allWritten
      await writer.query('commit')
    } catch (err) {
      await writer.query('rollback')
      throw err
    }
  }))
  // Then four more rounds each, interleaving freely.
  await Promise.all(writers.map(async (writer, w) => {
    for (let i = 1; i < 5; i++) {
      await inRequest(writer, { session: sessions[w], workspaceId: ws, requestId: `req-${w}` }, (sql) =>
        sql.query(`insert into contacts (workspace_id, name) values ($1, $2)`, [ws, `writer ${w} contact ${i}`]))
    }
  }))

  const chain = await auditChain(su, ws)
  t.equal(chain.length, 30, 'all 30 contacts are recorded')
  await assertOneLinkedChain(t, ws, chain)
  t.same(chain.slice(0, 6).map((r) => r.request_id).sort(), ['req-0', 'req-1', 'req-2', 'req-3', 'req-4', 'req-5'],
    "the first six rows are the six racing commits, one each")
  const perWriter = new Map<string, number>()
  for (const r of chain) perWriter.set(r.request_id!, (perWriter.get(r.request_id!) ?? 0) + 1)
  t.same([...perWriter.values()], [5, 5, 5, 5, 5, 5], 'every writer appended all five')
  t.same(await rows(su, 'select count(*)::int as n from audit_chain_heads where chain_key = $1', [ws]), [{ n: 1 }], 'one head for the chain')
})

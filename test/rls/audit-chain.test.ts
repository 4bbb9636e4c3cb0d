// The audit log's hash chains as app.audit_seal (sql/050_audit.sql) builds them: one chain per
// workspace (and one for platform events), positions 1..n with no gap or fork, each row's
// prev_hash the previous row's hash, and the head in audit_chain_heads on the last row, also when
// several connections append to one workspace at the same moment.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { PLATFORM_CHAIN } from '../../src/audit/verify.js'
import { asTenant, auditChain, auditChainHead, rows, seedTenant, type AuditRow, type Tenant } from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

interface Asserts {
  same(found: unknown, wanted: unknown, message: string): boolean
  ok(value: unknown, message: string): boolean
}

/** Checks `chain` is exactly positions 1..n, linked hash to hash, and that its head is its last row. */
async function assertOneLinkedChain(t: Asserts, chainKey: string, chain: AuditRow[]): Promise<void> {
  t.same(chain.map((r) => r.chain_seq), chain.map((_, i) => i + 1), `positions 1..${chain.length}, no gap, no duplicate`)
  const unlinked = chain.filter((r, i) => (i === 0 ? r.prev_hash !== null : !r.prev_hash?.equals(chain[i - 1]!.hash)))
  t.same(unlinked.map((r) => r.chain_seq), [], "every prev_hash is the previous row's hash (none on the first)")
  const last = chain[chain.length - 1]!
  const head = await auditChainHead(su, chainKey)
  t.ok(head?.seq === last.chain_seq && head.hash.equals(last.hash), 'the chain head is the last row')
}

const contactChange = (tenant: Tenant, requestId: string, statement: string, values: unknown[]) =>
  asTenant(runtime, { workspaceId: tenant.workspaceId, userId: tenant.ownerId, requestId }, (sql) => sql.query(statement, values))

t.test('a sequence of changes forms one linked chain per workspace', async (t) => {
  // Threat: a row is slipped into, or dropped from, a workspace's history without breaking a link.
  const a = await seedTenant(su, { contacts: 0 })
  const b = await seedTenant(su, { contacts: 1 })
  for (const name of ['one', 'two', 'three']) {
    await contactChange(a, `req-${name}`, `insert into contacts (workspace_id, name) values ($1, $2)`, [a.workspaceId, name])
  }
  await contactChange(a, 'req-rename', `update contacts set name = 'uno' where workspace_id = $1 and name = 'one'`, [a.workspaceId])
  await asTenant(runtime, { userId: a.ownerId }, (sql) => sql.query(`select app.audit_event('platform.probe', null, null, null, null, true)`))

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

t.test('concurrent inserts from several connections leave one unforked chain', async (t) => {
  // Threat: two requests appending to one workspace at once read the same head and fork the chain.
  const tenant = await seedTenant(su, { contacts: 0 })
  const writers = await Promise.all(Array.from({ length: 6 }, () => connect(t, db.appUrl)))
  await Promise.all(writers.map(async (writer, w) => {
    for (let i = 0; i < 10; i++) {
      await asTenant(writer, { workspaceId: tenant.workspaceId, userId: tenant.ownerId, requestId: `req-${w}` }, (sql) =>
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

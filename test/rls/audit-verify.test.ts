// The audit chain verifier (src/audit/verify.ts): it agrees with the sealing trigger on an
// untouched log, refuses a login that cannot see the whole log, and names the first broken row
// and why when a superuser edits, deletes or reorders rows behind the append-only guard (or,
// switching off the chain head guard too, moves or removes a head). Requests are opened the real
// way (app.begin_request with a live session's token hash).
import { createHash } from 'node:crypto'
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { PLATFORM_CHAIN, verifyAuditChains, type ChainBreak } from '../../src/audit/verify.js'
import { roleFromUrl } from '../../src/db/migrate.js'
import {
  auditChain,
  createLogin,
  inRequest,
  ownerOf,
  permissionDenied,
  pgError,
  seedMfa,
  seedTenant,
  tamperAsSuperuser,
  type AuditRow,
  type Tenant,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

/** A tenant whose chain is: membership.create, two contact.create, three contact.update (rows 1–6). */
async function tenantWithHistory(): Promise<Tenant> {
  const tenant = await seedTenant(su)
  const req = { ...ownerOf(tenant), ip: '198.51.100.1', userAgent: 'verify test', requestId: 'req-history' }
  for (const name of ['Grace', 'Grace H.', 'Grace Hopper']) {
    await inRequest(runtime, req, (sql) => sql.query('update contacts set name = $1 where id = $2', [name, tenant.contactIds[0]]))
  }
  return tenant
}

/**
 * Makes `userId` a platform administrator, as a granted listed address (sql/120), with MFA on and
 * their sessions signed in with it, as administration requires.
 */
async function makePlatformAdmin(userId: string): Promise<void> {
  await su.query('insert into platform_admins (email, user_id, granted_at) select email, id, now() from users where id = $1', [userId])
  await seedMfa(su, userId)
  await su.query('update sessions set mfa_at = now() where user_id = $1', [userId])
}

/** The head guard (app.audit_chain_head_guard) off for `statements` and back on ALWAYS, with tamperAsSuperuser's. */
const withoutHeadGuard = (...statements: string[]): string[] => [
  'alter table audit_chain_heads disable trigger audit_chain_heads_move_only_with_the_chain',
  ...statements,
  'alter table audit_chain_heads enable always trigger audit_chain_heads_move_only_with_the_chain',
]

const breaksOf = async (workspaceId: string): Promise<ChainBreak[]> => (await verifyAuditChains(su, { workspaceId })).breaks

t.test('the verifier agrees with the sealing trigger on an untampered log', async (t) => {
  // Threat: a verifier that disagrees with the trigger cries wolf, and then nobody runs it.
  const tenant = await tenantWithHistory()
  // Rows with text that JSON escapes, numbers, nulls, timestamps and platform events.
  await inRequest(runtime, { ...ownerOf(tenant), userAgent: 'Ünïcødé 🚀 "quoted" \\ back\\slash' }, (sql) =>
    sql.query(`insert into contacts (workspace_id, name, email, phone) values ($1, 'Zoë “Ω” O''Brien 🚀', null, '+1 555 0100\t')`,
      [tenant.workspaceId]))
  await makePlatformAdmin(tenant.ownerId)
  await inRequest(runtime, { session: tenant.session }, async (sql) => {
    await sql.query(`select * from app.admin_transition_workspace('trial', $1, null, now() + interval '3 days 0.123456 seconds')`,
      [tenant.workspaceId])
    await sql.query(`select app.audit_event('platform.probe', 'thing', '42', '{"n": 1.50, "big": 12345678901234567890, "a": [true, null]}', null, true)`)
  })
  const [{ n }] = (await su.query<{ n: number }>('select count(*)::int as n from audit_log')).rows as [{ n: number }]
  const [{ chains }] = (await su.query<{ chains: number }>('select count(distinct chain_key)::int as chains from audit_log')).rows as [{ chains: number }]

  const progress: Array<[number, number]> = []
  const all = await verifyAuditChains(su, { batchSize: 4, onProgress: (done, total) => progress.push([done, total]) })
  t.same(all, { chains, rows: n, breaks: [] }, 'every chain verifies, in batches of 4')
  t.same(progress[progress.length - 1], [n, n], 'progress ends at the total')
  t.ok(progress.every(([done], i) => i === 0 || done >= progress[i - 1]![0]), 'progress never goes back')
  t.same(await verifyAuditChains(su, { workspaceId: tenant.workspaceId }), { chains: 1, rows: 8, breaks: [] }, 'one workspace')
  t.same((await verifyAuditChains(su, { workspaceId: PLATFORM_CHAIN })).breaks, [], 'the platform chain')
})

t.test('the verifier runs as app_auditor, which reads every chain and writes nothing', async (t) => {
  // Threat: verifying needs a superuser, or the auditor's login can also edit what it audits.
  await tenantWithHistory()
  const auditor = await connect(t, (await createLogin(t, su, db.appUrl, 'in role app_auditor')).url)
  t.same(await verifyAuditChains(auditor, {}), await verifyAuditChains(su, {}), 'the same result as a superuser')
  t.same(await pgError(auditor.query(`update audit_log set action = 'forged'`)), permissionDenied('table', 'audit_log'), 'UPDATE refused')
  t.same(await pgError(auditor.query('delete from audit_chain_heads')), permissionDenied('table', 'audit_chain_heads'), 'DELETE refused')
})

t.test('the verifier refuses a login that sees only part of the log', async (t) => {
  // Threat: a login filtered by row-level security walks no rows and reports every chain intact.
  const refused = (login: string) => ({
    message: `${login} reads audit_log through row-level security and would see only part of it: ` +
      'verify as a login granted app_auditor (GRANT app_auditor TO …) or as a superuser',
  })
  t.match(await pgError(verifyAuditChains(runtime, {})), refused(roleFromUrl(db.appUrl)), 'the runtime login')
  const owner = await connect(t, db.ownerUrl)
  t.match(await pgError(verifyAuditChains(owner, {})), refused(roleFromUrl(db.ownerUrl)), 'the schema owner')
  t.match(await pgError(verifyAuditChains(su, { workspaceId: 'nope' })), { message: 'not a workspace id: nope' }, 'a bad workspace id')
})

t.test('a superuser who edits a row is caught at that row', async (t) => {
  // Threat: a superuser rewrites what a change looked like before.
  const tenant = await tenantWithHistory()
  const row = (await auditChain(su, tenant.workspaceId))[3]!
  await tamperAsSuperuser(su, `update audit_log set before = '{"name": "Nobody"}' where id = '${row.id}'`)
  t.same(await breaksOf(tenant.workspaceId), [{
    chainKey: tenant.workspaceId, chainSeq: 4, id: row.id, reason: 'hash mismatch: the row was changed after it was sealed',
  }])
})

t.test('a superuser who edits a row and re-seals it is caught at the next row', async (t) => {
  // Threat: a superuser edits a row and recomputes its hash so that the row alone looks sealed.
  const tenant = await tenantWithHistory()
  const [, , , edited, next] = await auditChain(su, tenant.workspaceId)
  await tamperAsSuperuser(su,
    `update audit_log set after = '{"name": "Nobody"}' where id = '${edited!.id}'`,
    `update audit_log a set hash = sha256(coalesce(prev_hash, '') || convert_to(app.audit_canonical(a), 'UTF8')) where id = '${edited!.id}'`)
  t.same(await breaksOf(tenant.workspaceId), [{
    chainKey: tenant.workspaceId, chainSeq: 5, id: next!.id,
    reason: "prev_hash does not match the previous row's hash (chain_seq 4): the previous row or this link was changed",
  }])
})

t.test('a superuser who replaces app.audit_canonical and re-seals the chain does not fool the verifier', async (t) => {
  // Threat: a superuser makes the database's own hash function agree with an edited history.
  const tenant = await tenantWithHistory()
  const ws = tenant.workspaceId
  const [first, , , row] = (await auditChain(su, ws)) as [AuditRow, AuditRow, AuditRow, AuditRow]
  const [{ original }] = (await su.query<{ original: string }>(
    `select pg_get_functiondef('app.audit_canonical(audit_log)'::regprocedure) as original`)).rows as [{ original: string }]
  t.teardown(() => su.query(original))
  await tamperAsSuperuser(su,
    `create or replace function app.audit_canonical(r public.audit_log) returns text language sql immutable as $$ select 'forged' $$`,
    `update audit_log set before = '{"name": "Nobody"}' where id = '${row.id}'`,
    // Re-seal the whole chain with the replaced function, as the trigger would, head included.
    ...withoutHeadGuard(`do $$ declare r record; begin
       for r in select id from audit_log where chain_key = '${ws}' order by chain_seq loop
         update audit_log a set prev_hash = (select p.hash from audit_log p where p.chain_key = a.chain_key and p.chain_seq = a.chain_seq - 1)
          where a.id = r.id;
         update audit_log a set hash = sha256(coalesce(a.prev_hash, '') || convert_to(app.audit_canonical(a), 'UTF8')) where a.id = r.id;
       end loop;
       update audit_chain_heads set hash = (select hash from audit_log where chain_key = '${ws}' order by chain_seq desc limit 1)
        where chain_key = '${ws}';
     end $$`))
  const fooled = await su.query(`select 1 from audit_log a where chain_key = $1
      and hash <> sha256(coalesce(prev_hash, '') || convert_to(app.audit_canonical(a), 'UTF8'))`, [ws])
  t.equal(fooled.rowCount, 0, 'checked with the replaced function, the chain looks intact')
  t.same(await breaksOf(ws), [{ chainKey: ws, chainSeq: 1, id: first.id, reason: 'hash mismatch: the row was changed after it was sealed' }],
    'the verifier, with its own canonical expression, is not fooled')
})

t.test('a superuser who deletes a row is caught at the gap', async (t) => {
  // Threat: a superuser removes a change from the middle of the history.
  const tenant = await tenantWithHistory()
  const [, , deleted, after] = await auditChain(su, tenant.workspaceId)
  await tamperAsSuperuser(su, `delete from audit_log where id = '${deleted!.id}'`)
  t.same(await breaksOf(tenant.workspaceId), [{
    chainKey: tenant.workspaceId, chainSeq: 4, id: after!.id, reason: 'gap in chain_seq: 3 missing before this row (rows deleted)',
  }])
})

t.test('a superuser who reorders two rows is caught at the first of them', async (t) => {
  // Threat: a superuser swaps two changes so the history tells a different order of events.
  const tenant = await tenantWithHistory()
  const [, , third, fourth] = await auditChain(su, tenant.workspaceId)
  // Three steps: the unique (chain_key, chain_seq) constraint is checked row by row.
  await tamperAsSuperuser(su,
    `update audit_log set chain_seq = -1 where id = '${third!.id}'`,
    `update audit_log set chain_seq = 3 where id = '${fourth!.id}'`,
    `update audit_log set chain_seq = 4 where id = '${third!.id}'`)
  t.same(await breaksOf(tenant.workspaceId), [{
    chainKey: tenant.workspaceId, chainSeq: 3, id: fourth!.id,
    reason: 'sequence out of order: this row follows chain_seq 4, which now comes after it (rows reordered)',
  }])
})

t.test('a superuser who deletes the last rows is caught by the chain head', async (t) => {
  // Threat: a superuser cuts the newest changes off the end, where no later row links to them.
  const tenant = await tenantWithHistory()
  const chain = await auditChain(su, tenant.workspaceId)
  await tamperAsSuperuser(su, `delete from audit_log where id = '${chain[5]!.id}'`)
  t.same(await breaksOf(tenant.workspaceId), [{
    chainKey: tenant.workspaceId, chainSeq: 5, id: chain[4]!.id,
    reason: 'the chain ends at chain_seq 5 but its head (audit_chain_heads) is at 6: rows after this one were deleted',
  }])
  await tamperAsSuperuser(su, `delete from audit_log where workspace_id = '${tenant.workspaceId}'`)
  t.same(await breaksOf(tenant.workspaceId), [{
    chainKey: tenant.workspaceId, chainSeq: 0, id: null,
    reason: 'the chain head is at chain_seq 6 but the chain has no rows: all were deleted',
  }], 'every row deleted')
})

t.test('a superuser who switches the head guard off and moves a head is caught at the last row', async (t) => {
  // Threat: a superuser moves a chain's head, to claim rows that were never written or to disown the newest one.
  const tenant = await tenantWithHistory()
  const ws = tenant.workspaceId
  const last = (await auditChain(su, ws))[5]!
  await tamperAsSuperuser(su, ...withoutHeadGuard(`update audit_chain_heads set seq = seq + 2 where chain_key = '${ws}'`))
  t.same(await breaksOf(ws), [{
    chainKey: ws, chainSeq: 6, id: last.id,
    reason: 'the chain ends at chain_seq 6 but its head (audit_chain_heads) is at 8: rows after this one were deleted',
  }], 'a head run ahead of its chain')
  await tamperAsSuperuser(su, ...withoutHeadGuard(`update audit_chain_heads set seq = 6, hash = sha256('forged') where chain_key = '${ws}'`))
  const forged = createHash('sha256').update('forged').digest('hex').slice(0, 16)
  t.same(await breaksOf(ws), [{
    chainKey: ws, chainSeq: 6, id: last.id,
    reason: `the chain head (audit_chain_heads: chain_seq 6, hash ${forged}…) does not match the last row (chain_seq 6, hash ${last.hash.toString('hex').slice(0, 16)}…)`,
  }], 'a head at the last position with another hash')
})

t.test('a whole-log run names each broken chain once and passes the intact ones', async (t) => {
  // Threat: one broken chain hides another, or the intact tenants are reported broken too.
  const intact = await tenantWithHistory()
  const edited = await tenantWithHistory()
  const headless = await tenantWithHistory()
  const chain = await auditChain(su, edited.workspaceId)
  await tamperAsSuperuser(su, ...chain.slice(1, 3).map((r) => `update audit_log set ip = '10.0.0.1' where id = '${r.id}'`))
  await tamperAsSuperuser(su, ...withoutHeadGuard(`delete from audit_chain_heads where chain_key = '${headless.workspaceId}'`))
  const { breaks } = await verifyAuditChains(su, {})
  t.same(breaks.filter((b) => b.chainKey === edited.workspaceId).map((b) => b.chainSeq), [2], 'the edited chain, at its first edit')
  t.same(breaks.filter((b) => b.chainKey === headless.workspaceId).map((b) => b.reason),
    ['the chain has no head in audit_chain_heads: it was removed'], 'the chain whose head was removed')
  t.notOk(breaks.some((b) => b.chainKey === intact.workspaceId), 'not the intact chain')
})

t.test('a chain that was started but has no row yet is empty, not broken', async (t) => {
  // Threat: the verifier cries wolf over a placeholder head (seq 0) that the chain guard allows.
  const key = '7e57c0de-0000-4000-8000-000000000001'
  await su.query(`insert into audit_chain_heads (chain_key, seq, hash) values ($1, 0, app.audit_chain_origin())`, [key])
  t.same(await breaksOf(key), [], 'a placeholder head with no rows: nothing broken')
  await tamperAsSuperuser(su, ...withoutHeadGuard(`update audit_chain_heads set seq = 3 where chain_key = '${key}'`))
  t.match(await breaksOf(key), [{ chainKey: key, chainSeq: 0, reason: 'the chain head is at chain_seq 3 but the chain has no rows: all were deleted' }],
    'a head past an empty chain still is')
})

// Platform administration in the audit trail: every workspace transition is an event in the
// workspace's own chain (actor: the platform admin; before/after: the state), and
// GET /api/admin/audit-log lists them across tenants with the platform-level events.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { buildTestApp } from '../helpers/app.js'
import { as, assertError, createWorkspace, platformAdmin, register, sessionToken, type Actor } from '../helpers/actors.js'
import { auditRowCount, listAll, UA, UUID_RE, type Entry } from '../helpers/audit.js'
import { beginRequest } from '../../src/db/request-tx.js'
import { hashToken } from '../../src/crypto/tokens.js'

const ctx = await buildTestApp(t)
const LOG = '/api/workspace/audit-log'
const ADMIN_LOG = '/api/admin/audit-log'

const admin = await platformAdmin(ctx)
const owner = await register(ctx)
const workspaceId = await createWorkspace(ctx, owner, 'Reviewed Co')
const rejectedOwner = await register(ctx)
const rejectedId = await createWorkspace(ctx, rejectedOwner, 'Rejected Co')

function transition(id: string, action: string, body?: object) {
  return ctx.app.inject({
    method: 'POST',
    url: `/api/admin/workspaces/${id}/${action}`,
    headers: { cookie: admin.cookie, 'user-agent': UA },
    ...(body ? { payload: body } : {}),
  })
}
async function ok(res: Awaited<ReturnType<typeof transition>>) {
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
}
const workspaceLog = async (actor: Actor, query = 'entity=workspace') => (await listAll(ctx, as(actor, workspaceId), LOG, query)).entries

t.test("transitions are events in the workspace's own chain", async (t) => {
  await ok(await transition(workspaceId, 'approve'))
  const [approve] = await workspaceLog(owner, 'action=workspace.approve')
  t.match(approve, {
    kind: 'event', action: 'workspace.approve', actorId: admin.id, entityType: 'workspace', entityId: workspaceId,
    before: { status: 'pending_approval', statusReason: null, trialEndsAt: null },
    after: { status: 'active', statusReason: null, trialEndsAt: String },
    ip: '127.0.0.1', userAgent: UA, requestId: UUID_RE,
  })
  const [row] = await ctx.sql('select workspace_id, chain_key, actor_user_id, db_role from audit_log where id = $1', [approve!.id])
  t.same(row, { workspace_id: workspaceId, chain_key: workspaceId, actor_user_id: admin.id, db_role: new URL(ctx.db.appUrl).username }, 'stored as answered, by the runtime login')

  await ok(await transition(workspaceId, 'suspend', { reason: 'Unpaid invoices' }))
  // Reads of a suspended workspace are refused by the gate chain, its log included.
  assertError(t, await ctx.app.inject({ method: 'GET', url: LOG, headers: as(owner, workspaceId) }), 403, 'workspace_suspended')
  await ok(await transition(workspaceId, 'reinstate'))
  const endsAt = '2031-01-01T00:00:00.000Z'
  await ok(await transition(workspaceId, 'trial', { endsAt }))

  const entries = await workspaceLog(owner)
  t.same(entries.map((e) => e.action), ['workspace.trial', 'workspace.reinstate', 'workspace.suspend', 'workspace.approve'], 'newest first')
  t.ok(entries.every((e) => e.actorId === admin.id && e.kind === 'event'), 'each by the platform admin')
  const [trial, reinstate, suspend] = entries as [Entry, Entry, Entry]
  t.match(suspend, { before: { status: 'active' }, after: { status: 'suspended', statusReason: 'Unpaid invoices' } })
  t.match(reinstate, { before: { status: 'suspended', statusReason: 'Unpaid invoices' }, after: { status: 'active', statusReason: null } })
  t.same(new Date(trial.after!.trialEndsAt as string).toISOString(), endsAt, 'the new trial end')
  t.equal(trial.before!.trialEndsAt, approve!.after!.trialEndsAt, 'the old one')

  await t.test('a refused transition adds no row', async (t) => {
    const before = await auditRowCount(ctx)
    assertError(t, await transition(workspaceId, 'approve'), 409, 'conflict')
    assertError(t, await transition(randomUUID(), 'suspend', { reason: 'x' }), 404, 'not_found')
    assertError(t, await transition(workspaceId, 'suspend', { reason: '' }), 400, 'validation_failed')
    const notAdmin = await ctx.app.inject({ method: 'POST', url: `/api/admin/workspaces/${workspaceId}/suspend`, headers: { cookie: owner.cookie }, payload: { reason: 'x' } })
    assertError(t, notAdmin, 403, 'forbidden')
    t.equal(await auditRowCount(ctx), before)
  })
})

t.test('one transaction, one request id, across chains', async (t) => {
  // The metadata comes from app.begin_request, exactly as for an HTTP request, so every row the
  // transaction writes (here two contacts and two platform events) carries the same values.
  const requestId = randomUUID()
  const { tx } = await beginRequest(ctx.pools.runtime, {
    tokenHash: hashToken(sessionToken(ctx, owner.cookie)),
    workspaceId,
    ip: '203.0.113.7',
    userAgent: UA,
    requestId,
  })
  for (const name of ['One', 'Two']) {
    await tx.client.query('insert into contacts (workspace_id, name, created_by) values ($1, $2, $3)', [workspaceId, name, owner.id])
  }
  for (const n of [1, 2]) {
    await tx.client.query(`select app.audit_event('platform.test_event', null, null, null, $1::jsonb, true)`, [JSON.stringify({ n })])
  }
  await tx.commit()

  const contacts = await workspaceLog(owner, 'action=contact.create')
  const platform = (await listAll(ctx, { cookie: admin.cookie }, ADMIN_LOG, 'limit=1')).entries.filter((e) => e.action === 'platform.test_event')
  t.equal(contacts.length, 2)
  t.equal(platform.length, 2, 'both platform events, each once, on pages of one')
  for (const e of [...contacts, ...platform]) t.match(e, { requestId, ip: '203.0.113.7', userAgent: UA, actorId: owner.id })
  t.ok(platform.every((e) => e.workspaceId === null && e.kind === 'event'), 'platform-level: no workspace')
  t.equal(platform[0]!.at, platform[1]!.at, 'one transaction, one time: ties are broken by id')
  t.ok(platform[0]!.id > platform[1]!.id, 'id descending within the same time')
})

t.test('GET /api/admin/audit-log', async (t) => {
  await ok(await transition(rejectedId, 'reject', { reason: 'Spam' }))
  const expected = await ctx.sql<{ id: string }>(
    `select id from audit_log where workspace_id is null or (kind = 'event' and entity_type = 'workspace')
      order by created_at desc, id desc`,
  )

  await t.test('platform events and every tenant’s transitions, newest first, each once', async (t) => {
    const all = await listAll(ctx, { cookie: admin.cookie }, ADMIN_LOG, '')
    t.same(all.entries.map((e) => e.id), expected.map((r) => r.id))
    t.same(all.entries.filter((e) => e.entityType === 'workspace').map((e) => `${e.action} ${e.workspaceId}`), [
      `workspace.reject ${rejectedId}`,
      ...['trial', 'reinstate', 'suspend', 'approve'].map((a) => `workspace.${a} ${workspaceId}`),
    ])
    t.ok(all.entries.every((e) => e.workspaceId === null || (e.kind === 'event' && e.entityType === 'workspace')), 'no business changes')
    const [{ n }] = (await ctx.sql<{ n: number }>(`select count(*)::int as n from audit_log where kind = 'change'`)) as [{ n: number }]
    t.ok(n >= 4, `the ${n} change rows (memberships, contacts) stay in their tenants`)
    for (const limit of [1, 2, 3]) {
      const paged = await listAll(ctx, { cookie: admin.cookie }, ADMIN_LOG, `limit=${limit}`)
      t.same(paged.entries.map((e) => e.id), expected.map((r) => r.id), `limit=${limit}: the same entries in the same order`)
    }
    t.same(Object.keys(all.entries[0]!).sort(), ['id', 'workspaceId', 'kind', 'action', 'actorId', 'actorTokenId', 'actingAsId', 'entityType', 'entityId', 'before', 'after', 'ip', 'userAgent', 'requestId', 'at', 'seq'].sort())
  })

  await t.test('platform admins only', async (t) => {
    // Threat: a tenant's owner reads every tenant's review history and the platform's own events.
    assertError(t, await ctx.app.inject({ method: 'GET', url: ADMIN_LOG, headers: { cookie: owner.cookie } }), 403, 'forbidden')
    assertError(t, await ctx.app.inject({ method: 'GET', url: ADMIN_LOG, headers: as(owner, workspaceId) }), 403, 'forbidden')
    assertError(t, await ctx.app.inject({ method: 'GET', url: ADMIN_LOG }), 401, 'unauthenticated')
  })

  await t.test('bad input → 400 validation_failed', async (t) => {
    const key = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const workspaceCursor = (await ctx.app.inject({ method: 'GET', url: `${LOG}?limit=1`, headers: as(owner, workspaceId) })).json().nextCursor
    for (const query of [
      'cursor=garbage', `cursor=${workspaceCursor}`, `cursor=${key({ t: '2030-01-01T00:00:00.000Z', id: randomUUID() })}`,
      `cursor=${key({ t: '2030-02-30T00:00:00.000000Z', id: randomUUID() })}`, `cursor=${key({ t: '2030-01-01T00:00:00.000000Z', id: 'x' })}`,
      'limit=0', 'limit=1000', 'action=workspace.approve',
    ]) {
      assertError(t, await ctx.app.inject({ method: 'GET', url: `${ADMIN_LOG}?${query}`, headers: { cookie: admin.cookie } }), 400, 'validation_failed', /querystring/)
    }
  })
})

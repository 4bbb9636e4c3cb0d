// The audit HTTP API for a workspace: a contact's history, the workspace audit log (order,
// cursor pagination, filters, request metadata), who may read it, and what is never recorded.
// Platform admin events are in audit-admin.test.ts, the tenant boundary in audit-isolation.test.ts.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, addMember, as, assertError, createContact, register, setWorkspaceState, type Actor } from '../helpers/actors.js'
import { auditIds, auditRowCount, listAll, UA, UUID_RE, type Entry } from '../helpers/audit.js'

const ctx = await buildTestApp(t)
const LOG = '/api/workspace/audit-log'
const CONTACTS = '/api/crm/contacts'
const ENTRY_KEYS = ['id', 'kind', 'action', 'actorId', 'actorTokenId', 'actingAsId', 'entityType', 'entityId', 'before', 'after', 'ip', 'userAgent', 'requestId', 'at', 'seq'].sort()

function send(actor: Actor, workspaceId: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  return ctx.app.inject({ method, url, headers: { ...as(actor, workspaceId), 'user-agent': UA }, ...(payload ? { payload } : {}) })
}

const { owner, workspaceId } = await activeTenant(ctx, 'Audit Co')
const admin = await register(ctx, { name: 'Admin' })
const member = await register(ctx, { name: 'Member' })
const viewer = await register(ctx, { name: 'Viewer' })
await addMember(ctx, workspaceId, admin, 'admin')
await addMember(ctx, workspaceId, member, 'agent')
// The custom "Viewer" role sees every contact, as migration 0009 kept each former viewer.
await addMember(ctx, workspaceId, viewer, 'viewer', 'all')

// One contact through its whole life, by two people: create, update, soft delete, restore.
const contact = await createContact(ctx, owner, workspaceId, { name: 'Ada Lovelace', email: 'ada@example.test' })
const lifecycle: { method: 'PATCH' | 'DELETE' | 'POST'; url: string; by: Actor; body?: object }[] = [
  { method: 'PATCH', url: `${CONTACTS}/${contact.id}`, by: admin, body: { name: 'Ada King' } },
  { method: 'DELETE', url: `${CONTACTS}/${contact.id}`, by: owner },
  { method: 'POST', url: `${CONTACTS}/${contact.id}/restore`, by: admin },
]

t.test("a contact's history", async (t) => {
  const history = async () => send(viewer, workspaceId, 'GET', `${CONTACTS}/${contact.id}/history`)
  for (const step of lifecycle) {
    const res = await send(step.by, workspaceId, step.method, step.url, step.body)
    t.ok(res.statusCode < 300, `${step.method} ${step.url}: ${res.body}`)
    if (step.method === 'DELETE') {
      // Soft-deleted: gone from the resource, still in its history (the delete included).
      assertError(t, await send(owner, workspaceId, 'GET', `${CONTACTS}/${contact.id}`), 404, 'not_found')
      const res = await history()
      t.equal(res.statusCode, 200, res.body)
      t.same(res.json().entries.map((e: Entry) => e.action), ['contact.create', 'contact.update', 'contact.delete'])
    }
  }

  const res = await history()
  t.equal(res.statusCode, 200, res.body)
  const entries = res.json().entries as Entry[]
  t.same(entries.map((e) => e.action), ['contact.create', 'contact.update', 'contact.delete', 'contact.restore'], 'oldest first')
  t.same(entries.map((e) => e.actorId), [owner.id, admin.id, owner.id, admin.id], 'the acting user of each')
  for (const e of entries) t.same(Object.keys(e).sort(), ['action', 'actorId', 'after', 'at', 'before'], 'exactly the history shape')
  t.same(entries.map((e) => e.at), entries.map((e) => e.at).sort(), 'times in order')

  const [create, update, remove, restore] = entries as [Entry, Entry, Entry, Entry]
  t.equal(create.before, null, 'nothing before a create')
  t.match(create.after, { id: contact.id, workspaceId, name: 'Ada Lovelace', email: 'ada@example.test', ownerId: owner.id, createdBy: owner.id, deletedAt: null })
  t.match(update.before, { name: 'Ada Lovelace' })
  t.match(update.after, { name: 'Ada King', email: 'ada@example.test' })
  t.match(remove, { before: { deletedAt: null }, after: { deletedAt: String } })
  t.match(restore, { before: { deletedAt: String }, after: { deletedAt: null, name: 'Ada King' } })
  t.notOk(Object.keys(create.after!).some((k) => k.includes('_')), 'camelCase field names, as the resource has')

  await t.test('an unknown id → 404; a malformed id → 400', async (t) => {
    assertError(t, await send(owner, workspaceId, 'GET', `${CONTACTS}/${randomUUID()}/history`), 404, 'not_found')
    assertError(t, await send(owner, workspaceId, 'GET', `${CONTACTS}/not-a-uuid/history`), 400, 'validation_failed', /id/)
  })
})

t.test('the audit log', async (t) => {
  // The whole workspace chain as the database holds it, newest first.
  const expected = await auditIds(ctx, workspaceId)

  await t.test('newest first, each entry once across pages', async (t) => {
    const all = await listAll(ctx, as(owner, workspaceId), LOG, '')
    t.same(all.pages, [expected.length], 'one page by default')
    t.same(all.entries.map((e) => e.id), expected)
    const paged = await listAll(ctx, as(owner, workspaceId), LOG, 'limit=2')
    t.same(paged.entries.map((e) => e.id), expected, 'the same entries, the same order, two at a time')
    t.same(paged.pages, [...Array(Math.floor(expected.length / 2)).fill(2), ...(expected.length % 2 ? [1] : [])])
    const seqs = paged.entries.map((e) => e.seq)
    t.same(seqs, [...seqs].sort((a, b) => b - a), 'chain positions descending')
    t.equal(new Set(seqs).size, seqs.length, 'no position twice')
  })

  await t.test('every entry of a request carries its IP, user agent and request id', async (t) => {
    const { entries } = await listAll(ctx, as(owner, workspaceId), LOG, 'entity=contact')
    t.same(entries.map((e) => e.action), ['contact.restore', 'contact.delete', 'contact.update', 'contact.create'])
    for (const e of entries) {
      t.same(Object.keys(e).sort(), ENTRY_KEYS, 'exactly the entry shape')
      t.match(e, { kind: 'change', entityType: 'contact', entityId: contact.id, ip: '127.0.0.1', actorTokenId: null, actingAsId: null })
      t.match(e.requestId, UUID_RE, 'a request id')
    }
    t.same(entries.slice(0, 3).map((e) => e.userAgent), [UA, UA, UA], 'the user agent sent')
    t.equal(entries[3]!.userAgent, 'lightMyRequest', "the helper's request sent inject's default")
    t.equal(new Set(entries.map((e) => e.requestId)).size, 4, 'one request id per request')
  })

  await t.test('filters', async (t) => {
    const other = await createContact(ctx, member, workspaceId, { name: 'Grace Hopper' })
    const actions = async (query: string) => (await listAll(ctx, as(owner, workspaceId), LOG, query)).entries.map((e) => `${e.action} ${e.entityId}`)
    t.same(await actions('action=contact.update'), [`contact.update ${contact.id}`])
    t.same(await actions(`actorId=${admin.id}`), [`contact.restore ${contact.id}`, `contact.update ${contact.id}`])
    t.same(await actions(`actorId=${admin.id.toUpperCase()}&action=contact.restore`), [`contact.restore ${contact.id}`], 'combined; either case')
    t.same(await actions(`entity=contact:${other.id}`), [`contact.create ${other.id}`])
    t.same(await actions(`entity=contact:${contact.id.toUpperCase()}&limit=1`), ['restore', 'delete', 'update', 'create'].map((a) => `contact.${a} ${contact.id}`), 'one record, paged')
    t.same(await actions('entity=contact&action=contact.create'), [`contact.create ${other.id}`, `contact.create ${contact.id}`])
    const memberships = await actions('entity=membership')
    t.same(memberships.sort(), [owner, admin, member, viewer].map((u) => `membership.create ${u.id}`).sort(), 'memberships are audited too')
    t.same(await actions('action=workspace.approve'), [], 'no match: an empty page')
    t.same(await actions(`actorId=${randomUUID()}`), [])
  })

  await t.test('bad input → 400 validation_failed', async (t) => {
    const garbage = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url')
    for (const query of [
      'cursor=not-a-cursor', `cursor=${garbage({ s: -1 })}`, `cursor=${garbage({ s: '7' })}`, `cursor=${garbage({ s: 1.5 })}`,
      `cursor=${garbage([1])}`, `cursor=${'a'.repeat(201)}`,
      'limit=0', 'limit=1000', 'limit=abc', 'actorId=not-a-uuid', `actorId=urn:uuid:${randomUUID()}`,
      'action=Contact.Update', 'action=contact..update', "action=contact.update';--", 'entity=contact:42', 'entity=Contact', 'foo=1',
    ]) {
      assertError(t, await send(owner, workspaceId, 'GET', `${LOG}?${query}`), 400, 'validation_failed', /querystring|cursor/)
    }
  })
})

t.test('who may read the log', async (t) => {
  // Threat: a member or viewer learns colleagues' actions, IP addresses and user agents.
  for (const [who, actor] of [['owner', owner], ['admin', admin]] as const) {
    t.equal((await send(actor, workspaceId, 'GET', LOG)).statusCode, 200, `${who} reads it`)
  }
  for (const actor of [member, viewer]) {
    assertError(t, await send(actor, workspaceId, 'GET', LOG), 403, 'forbidden', /audit:read/)
  }
  assertError(t, await ctx.app.inject({ method: 'GET', url: LOG, headers: { 'x-workspace-id': workspaceId } }), 401, 'unauthenticated')
  assertError(t, await send(await register(ctx), workspaceId, 'GET', LOG), 403, 'not_a_member')
  assertError(t, await ctx.app.inject({ method: 'GET', url: LOG, headers: { cookie: owner.cookie } }), 400, 'validation_failed', /x-workspace-id/)
})

t.test('a refused write adds no audit row', async (t) => {
  // Threat: the log claims changes that never happened, or a failed attempt leaves a half-written trail.
  const live = await createContact(ctx, owner, workspaceId, { name: 'Live' })
  const before = await auditRowCount(ctx)
  const refused: [Actor, 'POST' | 'PATCH' | 'DELETE', string, object | undefined, number, string][] = [
    [owner, 'PATCH', `${CONTACTS}/${live.id}`, { name: '' }, 400, 'validation_failed'],
    [owner, 'POST', CONTACTS, { name: 'Bad owner', ownerId: randomUUID() }, 400, 'validation_failed'],
    [viewer, 'POST', CONTACTS, { name: 'By viewer' }, 403, 'forbidden'],
    [member, 'POST', `${CONTACTS}/${live.id}/restore`, undefined, 403, 'forbidden'],
    [owner, 'POST', `${CONTACTS}/${live.id}/restore`, undefined, 409, 'conflict'],
    [owner, 'DELETE', `${CONTACTS}/${randomUUID()}`, undefined, 404, 'not_found'],
  ]
  for (const [actor, method, url, body, status, code] of refused) {
    assertError(t, await send(actor, workspaceId, method, url, body), status, code)
  }
  t.equal(await auditRowCount(ctx), before, 'no row for any refused write')

  await setWorkspaceState(ctx, workspaceId, { status: 'suspended' })
  assertError(t, await send(owner, workspaceId, 'PATCH', `${CONTACTS}/${live.id}`, { name: 'While suspended' }), 403, 'workspace_suspended')
  assertError(t, await send(owner, workspaceId, 'DELETE', `${CONTACTS}/${live.id}`), 403, 'workspace_suspended')
  t.equal(await auditRowCount(ctx), before, 'none while suspended either')
  await setWorkspaceState(ctx, workspaceId, { status: 'active' })

  t.equal((await send(owner, workspaceId, 'PATCH', `${CONTACTS}/${live.id}`, { name: 'Accepted' })).statusCode, 200)
  t.equal(await auditRowCount(ctx), before + 1, 'an accepted write adds exactly one')
})

t.test('the OpenAPI document describes the audit routes', async (t) => {
  type Schema = { $ref?: string; type?: string; nullable?: boolean; additionalProperties?: boolean; properties?: Record<string, Schema>; items?: Schema }
  const doc = (await ctx.app.inject({ method: 'GET', url: '/docs/json' })).json<{
    paths: Record<string, { get?: { responses: Record<string, { content: Record<string, { schema: Schema }> }> } }>
    components: { schemas: Record<string, Schema> }
  }>()
  const resolve = (s?: Schema) => (s?.$ref ? doc.components.schemas[s.$ref.replace('#/components/schemas/', '')] : s)
  for (const path of [LOG, '/api/admin/audit-log', `${CONTACTS}/{id}/history`]) {
    const entry = resolve(doc.paths[path]?.get?.responses['200']?.content['application/json']?.schema.properties?.entries?.items)
    for (const field of ['before', 'after'] as const) {
      t.match(entry?.properties?.[field], { type: 'object', additionalProperties: true, nullable: true }, `${path}: ${field} is a free object or null`)
    }
  }
})

// Departments and contact visibility scopes through the API: the departments routes and their
// rules (a tree, in one workspace, nothing in use deleted), PATCH /members/:userId with
// departmentId and scopes, and what each scope shows and allows — an agent their own contacts, a
// manager their department and every one below, on every route (list, get 404, update, delete,
// history), a change effective from the next request, and the _own permissions of a custom role.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, addMember, as, assertError, createContact, customRole, register, type Actor } from '../helpers/actors.js'
import { listAll } from '../helpers/audit.js'

const ctx = await buildTestApp(t)

const DEPARTMENTS = '/api/workspace/departments'
const CONTACTS = '/api/crm/contacts'
type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
const send = (actor: Actor, workspaceId: string, method: Method, url: string, payload?: object) =>
  ctx.app.inject({ method, url, headers: as(actor, workspaceId), ...(payload ? { payload } : {}) })
const patchMember = (actor: Actor, workspaceId: string, userId: string, body: object) =>
  send(actor, workspaceId, 'PATCH', `/api/workspace/members/${userId}`, body)
const listNames = async (actor: Actor, workspaceId: string) => {
  const res = await send(actor, workspaceId, 'GET', `${CONTACTS}?limit=100`)
  t.equal(res.statusCode, 200, res.body)
  return (res.json<{ contacts: { name: string }[] }>().contacts).map((c) => c.name).sort()
}
const department = async (actor: Actor, workspaceId: string, name: string, parentId: string | null = null) => {
  const res = await send(actor, workspaceId, 'POST', DEPARTMENTS, { name, parentId })
  if (res.statusCode !== 201) throw new Error(`department: ${res.statusCode} ${res.body}`)
  return res.json<{ department: { id: string } }>().department.id
}

t.test('departments: create, list, rename, move; a tree in one workspace; nothing in use deleted; audited', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx)
  const agent = await register(ctx)
  await addMember(ctx, workspaceId, agent, 'agent')
  const sales = await department(owner, workspaceId, 'Sales')
  const east = await department(owner, workspaceId, 'East', sales)
  const res = await send(agent, workspaceId, 'GET', DEPARTMENTS)
  t.equal(res.statusCode, 200, 'every member reads the tree')
  t.match(res.json(), { departments: [{ id: sales, name: 'Sales', parentId: null }, { id: east, name: 'East', parentId: sales }] })

  const renamed = await send(owner, workspaceId, 'PATCH', `${DEPARTMENTS}/${east}`, { name: 'East coast' })
  t.match(renamed.json(), { department: { id: east, name: 'East coast', parentId: sales } }, 'a rename keeps the parent')
  t.match((await send(owner, workspaceId, 'PATCH', `${DEPARTMENTS}/${east}`, { parentId: null })).json(), { department: { parentId: null } })
  t.equal((await send(owner, workspaceId, 'PATCH', `${DEPARTMENTS}/${east}`, { parentId: sales })).statusCode, 200)

  assertError(t, await send(owner, workspaceId, 'PATCH', `${DEPARTMENTS}/${sales}`, { parentId: east }), 409, 'conflict', /under itself/)
  assertError(t, await send(owner, workspaceId, 'PATCH', `${DEPARTMENTS}/${sales}`, { parentId: sales }), 409, 'conflict', /under itself/)
  const other = await activeTenant(ctx, 'Other')
  const theirs = await department(other.owner, other.workspaceId, 'Theirs')
  assertError(t, await send(owner, workspaceId, 'POST', DEPARTMENTS, { name: 'Spy', parentId: theirs }), 400, 'validation_failed', /parentId/)
  assertError(t, await send(owner, workspaceId, 'PATCH', `${DEPARTMENTS}/${east}`, { parentId: theirs }), 400, 'validation_failed', /parentId/)
  assertError(t, await send(owner, workspaceId, 'PATCH', `${DEPARTMENTS}/${theirs}`, { name: 'Stolen' }), 404, 'not_found')
  assertError(t, await send(owner, workspaceId, 'DELETE', `${DEPARTMENTS}/${theirs}`), 404, 'not_found')
  assertError(t, await send(agent, workspaceId, 'POST', DEPARTMENTS, { name: 'Mine' }), 403, 'forbidden', /departments:manage/)
  for (const body of [{ name: '' }, { name: 'x'.repeat(101) }, { name: 'A', parentId: 'nope' }, { name: 'A', extra: 1 }]) {
    assertError(t, await send(owner, workspaceId, 'POST', DEPARTMENTS, body), 400, 'validation_failed')
  }
  assertError(t, await send(owner, workspaceId, 'PATCH', `${DEPARTMENTS}/${east}`, {}), 400, 'validation_failed')

  assertError(t, await send(owner, workspaceId, 'DELETE', `${DEPARTMENTS}/${sales}`), 409, 'conflict', /sub-departments/)
  t.equal((await patchMember(owner, workspaceId, agent.id, { departmentId: east })).statusCode, 200)
  assertError(t, await send(owner, workspaceId, 'DELETE', `${DEPARTMENTS}/${east}`), 409, 'conflict', /Members/)
  t.equal((await patchMember(owner, workspaceId, agent.id, { departmentId: null })).statusCode, 200)
  await createContact(ctx, owner, workspaceId, { name: 'In east', departmentId: east })
  assertError(t, await send(owner, workspaceId, 'DELETE', `${DEPARTMENTS}/${east}`), 409, 'conflict', /Contacts/)
  const lonely = await department(owner, workspaceId, 'Lonely', sales)
  t.equal((await send(owner, workspaceId, 'DELETE', `${DEPARTMENTS}/${lonely}`)).statusCode, 204)
  t.same((await send(owner, workspaceId, 'GET', DEPARTMENTS)).json<{ departments: { name: string }[] }>().departments.map((d) => d.name), ['Sales', 'East coast'])

  const entries = (await listAll(ctx, as(owner, workspaceId), '/api/workspace/audit-log', 'entity=department')).entries
  t.ok(entries.some((e) => e.action === 'department.update' && (e.before as { name?: string })?.name === 'East' && (e.after as { name?: string })?.name === 'East coast'),
    'a rename with before/after')
  t.ok(entries.some((e) => e.action === 'department.purge' && e.entityId === lonely), 'a deletion')
  assertError(t, await send(owner, workspaceId, 'POST', CONTACTS, { name: 'Elsewhere', departmentId: theirs }), 400, 'validation_failed', /departmentId/)
})

t.test('PATCH /members: department and scope, audited; nobody gives a wider scope than their own', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx)
  const manager = await register(ctx)
  const agent = await register(ctx)
  await addMember(ctx, workspaceId, manager, 'manager')
  await addMember(ctx, workspaceId, agent, 'agent')
  const support = await department(owner, workspaceId, 'Support')

  const res = await patchMember(owner, workspaceId, agent.id, { departmentId: support, scopes: { contacts: 'department' } })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { member: { userId: agent.id, role: 'agent', departmentId: support, scopes: { contacts: 'department' } } })
  const members = (await send(agent, workspaceId, 'GET', '/api/workspace/members')).json<{ members: { userId: string; scopes: { contacts: string } }[] }>().members
  t.same(members.map((m) => [m.userId, m.scopes.contacts]), [[owner.id, 'all'], [manager.id, 'department'], [agent.id, 'department']], 'the roles\' defaults and the set one')
  const change = (await listAll(ctx, as(owner, workspaceId), '/api/workspace/audit-log', 'entity=membership')).entries
    .filter((e) => e.action === 'membership.update' && e.entityId === agent.id).at(-1)
  t.match(change, { actorId: owner.id, entityId: agent.id, before: { departmentId: null, contactsScope: null }, after: { departmentId: support, contactsScope: 'department' } })

  // A team lead (custom role with members:manage) who sees their own contacts only.
  const leadRole = await customRole(ctx, workspaceId, 'Lead', ['workspace:read', 'members:read', 'members:manage', 'contacts:read', 'contacts:create', 'contacts:update', 'contacts:delete'])
  const lead = await register(ctx)
  await addMember(ctx, workspaceId, lead, 'agent')
  t.equal((await patchMember(owner, workspaceId, lead.id, { role: leadRole })).statusCode, 200)
  assertError(t, await patchMember(lead, workspaceId, agent.id, { scopes: { contacts: 'all' } }), 403, 'forbidden', /cannot let anyone see all/)
  t.equal((await patchMember(lead, workspaceId, agent.id, { scopes: { contacts: 'own' } })).statusCode, 200, 'narrowing is fine')
  assertError(t, await patchMember(agent, workspaceId, agent.id, { scopes: { contacts: 'all' } }), 403, 'forbidden', /members:manage/)
  for (const body of [{}, { scopes: { contacts: 'everything' } }, { scopes: {} }, { departmentId: 'x' }, { role: 'viewer' }]) {
    assertError(t, await patchMember(owner, workspaceId, agent.id, body), 400, 'validation_failed')
  }
  const other = await activeTenant(ctx, 'Other')
  const theirs = await department(other.owner, other.workspaceId, 'Theirs')
  assertError(t, await patchMember(owner, workspaceId, agent.id, { departmentId: theirs }), 400, 'validation_failed', /departmentId/)
  t.match((await patchMember(owner, workspaceId, agent.id, {})).json(), { code: 'validation_failed' })
})

t.test('scopes: agents see their own, managers their department tree; every route and the next request agree', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx)
  const sales = await department(owner, workspaceId, 'Sales')
  const east = await department(owner, workspaceId, 'East', sales)
  const city = await department(owner, workspaceId, 'City', east)
  const west = await department(owner, workspaceId, 'West', sales)
  const manager = await register(ctx)
  const agent = await register(ctx)
  const other = await register(ctx)
  await addMember(ctx, workspaceId, manager, 'manager')
  await addMember(ctx, workspaceId, agent, 'agent')
  await addMember(ctx, workspaceId, other, 'agent')
  t.equal((await patchMember(owner, workspaceId, manager.id, { departmentId: east })).statusCode, 200)

  const mine = await createContact(ctx, agent, workspaceId, { name: 'Agent own' })
  t.equal(mine.ownerId, agent.id, 'a new contact is its creator\'s')
  const theirs = await createContact(ctx, other, workspaceId, { name: 'Other own' })
  const inCity = await createContact(ctx, owner, workspaceId, { name: 'City lead', departmentId: city, ownerId: other.id })
  await createContact(ctx, owner, workspaceId, { name: 'East lead', departmentId: east })
  const inWest = await createContact(ctx, owner, workspaceId, { name: 'West lead', departmentId: west })

  t.same(await listNames(owner, workspaceId), ['Agent own', 'City lead', 'East lead', 'Other own', 'West lead'], 'the owner sees all')
  t.same(await listNames(agent, workspaceId), ['Agent own'], 'an agent their own')
  t.same(await listNames(manager, workspaceId), ['City lead', 'East lead'], 'a manager East and what is below it')

  // Outside the scope: not found on every route, and nothing changes.
  for (const [method, url, body] of [
    ['GET', `${CONTACTS}/${theirs.id}`, undefined],
    ['PATCH', `${CONTACTS}/${theirs.id}`, { name: 'Taken' }],
    ['DELETE', `${CONTACTS}/${theirs.id}`, undefined],
    ['GET', `${CONTACTS}/${theirs.id}/history`, undefined],
  ] as const) {
    assertError(t, await send(agent, workspaceId, method, url, body), 404, 'not_found')
  }
  assertError(t, await send(manager, workspaceId, 'GET', `${CONTACTS}/${inWest.id}`), 404, 'not_found')
  assertError(t, await send(manager, workspaceId, 'PATCH', `${CONTACTS}/${inWest.id}`, { name: 'Taken' }), 404, 'not_found')
  t.equal((await send(owner, workspaceId, 'GET', `${CONTACTS}/${theirs.id}`)).json<{ contact: { name: string } }>().contact.name, 'Other own')

  // Writes stay within the scope.
  assertError(t, await send(agent, workspaceId, 'POST', CONTACTS, { name: 'For other', ownerId: other.id }), 403, 'forbidden', /scope: own/)
  assertError(t, await send(agent, workspaceId, 'PATCH', `${CONTACTS}/${mine.id}`, { ownerId: other.id }), 403, 'forbidden', /scope: own/)
  assertError(t, await send(manager, workspaceId, 'PATCH', `${CONTACTS}/${inCity.id}`, { departmentId: west }), 403, 'forbidden', /scope: department/)
  t.equal((await send(manager, workspaceId, 'PATCH', `${CONTACTS}/${inCity.id}`, { departmentId: east, ownerId: agent.id })).statusCode, 200,
    'a manager moves a contact within their tree and gives it to anyone')
  t.equal((await send(agent, workspaceId, 'GET', `${CONTACTS}/${inCity.id}`)).statusCode, 200, 'which its new owner now sees')
  t.equal((await send(agent, workspaceId, 'GET', `${CONTACTS}/${mine.id}/history`)).statusCode, 200, 'the history of one\'s own')

  // A scope change holds from the member's next request.
  t.equal((await patchMember(owner, workspaceId, agent.id, { scopes: { contacts: 'all' } })).statusCode, 200)
  t.same(await listNames(agent, workspaceId), ['Agent own', 'City lead', 'East lead', 'Other own', 'West lead'])
  t.equal((await patchMember(owner, workspaceId, manager.id, { departmentId: city })).statusCode, 200)
  t.same(await listNames(manager, workspaceId), [], 'the moved contact left City; the manager now sees City only')
  t.equal((await patchMember(owner, workspaceId, manager.id, { departmentId: sales })).statusCode, 200)
  t.same(await listNames(manager, workspaceId), ['City lead', 'East lead', 'West lead'])
})

t.test('the _own permissions: a role that edits and deletes only what its holder owns, checked on the record', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx)
  const rep = await customRole(ctx, workspaceId, 'Sales rep', ['workspace:read', 'contacts:read', 'contacts:create', 'contacts:update_own', 'contacts:delete_own'])
  const seller = await register(ctx)
  const colleague = await register(ctx)
  await addMember(ctx, workspaceId, seller, 'agent')
  await addMember(ctx, workspaceId, colleague, 'agent')
  t.equal((await patchMember(owner, workspaceId, seller.id, { role: rep, scopes: { contacts: 'all' } })).statusCode, 200)
  const own = await createContact(ctx, seller, workspaceId, { name: 'Mine' })
  const notMine = await createContact(ctx, owner, workspaceId, { name: 'Not mine', ownerId: colleague.id })

  t.same(await listNames(seller, workspaceId), ['Mine', 'Not mine'], 'scope all: sees every contact')
  t.equal((await send(seller, workspaceId, 'PATCH', `${CONTACTS}/${own.id}`, { name: 'Mine, edited' })).statusCode, 200)
  assertError(t, await send(seller, workspaceId, 'PATCH', `${CONTACTS}/${notMine.id}`, { name: 'Edited' }), 403, 'forbidden', /not yours/)
  assertError(t, await send(seller, workspaceId, 'PATCH', `${CONTACTS}/${own.id}`, { ownerId: colleague.id }), 403, 'forbidden', /would not stay yours/)
  assertError(t, await send(seller, workspaceId, 'DELETE', `${CONTACTS}/${notMine.id}`), 403, 'forbidden', /not yours/)
  t.equal((await send(seller, workspaceId, 'DELETE', `${CONTACTS}/${own.id}`)).statusCode, 204)
  assertError(t, await send(seller, workspaceId, 'POST', `${CONTACTS}/${own.id}/restore`), 403, 'forbidden', /contacts:restore/)
  const rows = await ctx.sql<{ name: string; owner_id: string; deleted: boolean }>(
    'select name, owner_id, deleted_at is not null as deleted from contacts where workspace_id = $1 order by name', [workspaceId])
  t.same(rows, [{ name: 'Mine, edited', owner_id: seller.id, deleted: true }, { name: 'Not mine', owner_id: colleague.id, deleted: false }])
})

// The "done when", end to end over HTTP with nothing seeded behind the API: an owner runs
// a real team — departments, a custom "read-only auditor" role, invitations with built-in and
// custom roles accepted from the emailed links, people placed in departments — and no member sees
// or does more than their role and scope allow, whichever route they try.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, as, assertError, register, tokenFromEmail, type Actor } from '../helpers/actors.js'

const ctx = await buildTestApp(t)

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
const send = (actor: Actor, workspaceId: string, method: Method, url: string, payload?: object) =>
  ctx.app.inject({ method, url, headers: as(actor, workspaceId), ...(payload ? { payload } : {}) })

t.test('an owner runs a team: roles, departments, invitations; each member sees and does what their role and scope allow', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'Team Co')
  const ok = async (res: Promise<{ statusCode: number; body: string; json: <T>() => T }>, status = 200) => {
    const r = await res
    t.equal(r.statusCode, status, r.body)
    return r
  }
  const create = async (url: string, body: object) => (await ok(send(owner, workspaceId, 'POST', url, body), 201)).json<Record<string, { id: string }>>()

  // The organisation: Sales with two regions, and a read-only auditor role.
  const sales = (await create('/api/workspace/departments', { name: 'Sales' })).department!.id
  const north = (await create('/api/workspace/departments', { name: 'North', parentId: sales })).department!.id
  const south = (await create('/api/workspace/departments', { name: 'South', parentId: sales })).department!.id
  const auditorRole = (await create('/api/workspace/roles', {
    name: 'Read-only auditor', permissions: ['workspace:read', 'members:read', 'contacts:read', 'audit:read'],
  })).role!.id

  // Invitations, accepted from the emailed links by people signed in with the invited address.
  async function join(role: string): Promise<Actor> {
    const person = await register(ctx)
    await ok(send(owner, workspaceId, 'POST', '/api/workspace/invites', { email: person.email, role }), 201)
    const token = await tokenFromEmail(ctx, person.email)
    await ok(ctx.app.inject({ method: 'POST', url: '/api/invites/accept', headers: as(person), payload: { token } }))
    return person
  }
  const manager = await join('manager')
  const northAgent = await join('agent')
  const southAgent = await join('agent')
  const auditor = await join(auditorRole)

  await ok(send(owner, workspaceId, 'PATCH', `/api/workspace/members/${manager.id}`, { departmentId: north }))
  await ok(send(owner, workspaceId, 'PATCH', `/api/workspace/members/${northAgent.id}`, { departmentId: north }))
  await ok(send(owner, workspaceId, 'PATCH', `/api/workspace/members/${southAgent.id}`, { departmentId: south }))
  await ok(send(owner, workspaceId, 'PATCH', `/api/workspace/members/${auditor.id}`, { scopes: { contacts: 'all' } }))

  const members = (await ok(send(auditor, workspaceId, 'GET', '/api/workspace/members'))).json<{ members: { userId: string; role: string; departmentId: string | null; scopes: { contacts: string } }[] }>().members
  t.same(members.map((m) => [m.userId, m.role, m.departmentId, m.scopes.contacts]), [
    [owner.id, 'owner', null, 'all'],
    [manager.id, 'manager', north, 'department'],
    [northAgent.id, 'agent', north, 'own'],
    [southAgent.id, 'agent', south, 'own'],
    [auditor.id, auditorRole, null, 'all'],
  ], 'the team as everyone sees it')

  // Work: the agents add their own leads, tagged with their region.
  const contact = async (actor: Actor, name: string, departmentId: string) =>
    (await ok(send(actor, workspaceId, 'POST', '/api/crm/contacts', { name, departmentId }), 201)).json<{ contact: { id: string } }>().contact.id
  const northLead = await contact(northAgent, 'North lead', north)
  const southLead = await contact(southAgent, 'South lead', south)
  await contact(owner, 'Head office', sales)

  const names = async (actor: Actor) =>
    (await ok(send(actor, workspaceId, 'GET', '/api/crm/contacts'))).json<{ contacts: { name: string }[] }>().contacts.map((c) => c.name).sort()
  t.same(await names(owner), ['Head office', 'North lead', 'South lead'])
  t.same(await names(auditor), ['Head office', 'North lead', 'South lead'], 'the auditor reads everything')
  t.same(await names(manager), ['North lead'], 'the North manager sees North')
  t.same(await names(northAgent), ['North lead'], 'an agent sees their own')
  t.same(await names(southAgent), ['South lead'])

  // Nobody does more than their role allows.
  assertError(t, await send(auditor, workspaceId, 'PATCH', `/api/crm/contacts/${northLead}`, { name: 'Edited' }), 403, 'forbidden', /contacts:update/)
  assertError(t, await send(auditor, workspaceId, 'POST', '/api/crm/contacts', { name: 'By auditor' }), 403, 'forbidden', /contacts:create/)
  t.equal((await send(auditor, workspaceId, 'GET', '/api/workspace/audit-log')).statusCode, 200, 'the auditor reads the audit log')
  assertError(t, await send(manager, workspaceId, 'GET', '/api/workspace/audit-log'), 403, 'forbidden', /audit:read/)
  assertError(t, await send(manager, workspaceId, 'GET', `/api/crm/contacts/${southLead}`), 404, 'not_found')
  assertError(t, await send(northAgent, workspaceId, 'DELETE', `/api/crm/contacts/${southLead}`), 404, 'not_found')
  assertError(t, await send(northAgent, workspaceId, 'PATCH', `/api/workspace/members/${northAgent.id}`, { scopes: { contacts: 'all' } }), 403, 'forbidden')
  assertError(t, await send(manager, workspaceId, 'POST', '/api/workspace/roles', { name: 'Mine', permissions: [] }), 403, 'forbidden', /roles:manage/)
  t.equal((await send(manager, workspaceId, 'PATCH', `/api/crm/contacts/${northLead}`, { name: 'North lead, qualified' })).statusCode, 200,
    'a manager edits their department\'s contact')

  // The team changes: South's agent moves North; the owner's change holds from their next request.
  await ok(send(owner, workspaceId, 'PATCH', `/api/workspace/members/${southAgent.id}`, { departmentId: north }))
  await ok(send(owner, workspaceId, 'PATCH', `/api/crm/contacts/${southLead}`, { departmentId: north }))
  t.same(await names(manager), ['North lead, qualified', 'South lead'], 'the manager now sees the moved contact')
})

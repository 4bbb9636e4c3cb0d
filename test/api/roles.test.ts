// /api/workspace/roles and /api/workspace/permissions: the built-in roles, custom roles and
// their rules (the catalogue, unique names, built-ins fixed, a role in use kept, nobody creates,
// edits, assigns or invites with a permission they lack, only owners make owners), a role change
// effective on its holders' next request, and the attacks: another tenant's role id, a custom
// role holder raising their own role, a role named like a built-in.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, addMember, as, assertError, register, roleOf, uniqueEmail, type Actor } from '../helpers/actors.js'
import { listAll } from '../helpers/audit.js'
import { BUILT_IN_ROLES, PERMISSIONS } from '../../src/rbac/permissions.js'

const ctx = await buildTestApp(t)

const ROLES = '/api/workspace/roles'
const send = (actor: Actor, workspaceId: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
  ctx.app.inject({ method, url, headers: as(actor, workspaceId), ...(payload ? { payload } : {}) })
const createRole = (actor: Actor, workspaceId: string, body: object) => send(actor, workspaceId, 'POST', ROLES, body)
const patchMember = (actor: Actor, workspaceId: string, userId: string, body: object) =>
  send(actor, workspaceId, 'PATCH', `/api/workspace/members/${userId}`, body)
const customRoles = async (workspaceId: string) =>
  ctx.sql<{ name: string; permissions: string[] }>('select name, permissions from workspace_roles where workspace_id = $1 order by name', [workspaceId])

async function team() {
  const { owner, workspaceId } = await activeTenant(ctx)
  const admin = await register(ctx)
  const agent = await register(ctx)
  await addMember(ctx, workspaceId, admin, 'admin')
  await addMember(ctx, workspaceId, agent, 'agent')
  return { owner, admin, agent, workspaceId }
}

t.test('GET /permissions: the catalogue with a description each, and what every built-in role may do', async (t) => {
  const { agent, workspaceId } = await team()
  const res = await send(agent, workspaceId, 'GET', '/api/workspace/permissions')
  t.equal(res.statusCode, 200)
  const body = res.json<{ permissions: { name: string; description: string }[]; builtInRoles: { name: string; permissions: string[] }[] }>()
  t.same(body.permissions.map((p) => p.name), Object.keys(PERMISSIONS))
  t.ok(body.permissions.every((p) => p.description.length > 10), 'each with a description')
  t.same(body.builtInRoles.map((r) => r.name), ['owner', 'admin', 'manager', 'agent'])
  t.same(body.builtInRoles.find((r) => r.name === 'agent')!.permissions, [...BUILT_IN_ROLES.agent])
})

t.test('GET /roles lists the built-ins, then the custom roles; every member may read it', async (t) => {
  const { owner, agent, workspaceId } = await team()
  t.equal((await createRole(owner, workspaceId, { name: 'Auditor', permissions: ['workspace:read', 'audit:read'] })).statusCode, 201)
  const res = await send(agent, workspaceId, 'GET', ROLES)
  t.equal(res.statusCode, 200)
  const roles = res.json<{ roles: { id: string; name: string; permissions: string[]; builtIn: boolean }[] }>().roles
  t.same(roles.slice(0, 4).map((r) => [r.id, r.builtIn]), [['owner', true], ['admin', true], ['manager', true], ['agent', true]])
  t.match(roles[4], { name: 'Auditor', permissions: ['audit:read', 'workspace:read'], builtIn: false })
  t.equal(roles.length, 5, "no other workspace's roles")
})

t.test('POST /roles creates a custom role, audited; its permissions are the catalogue\'s', async (t) => {
  const { owner, workspaceId } = await team()
  const res = await createRole(owner, workspaceId, { name: '  Read-only auditor ', permissions: ['audit:read', 'workspace:read', 'audit:read'] })
  t.equal(res.statusCode, 201)
  const role = res.json<{ role: { id: string; name: string; permissions: string[]; builtIn: boolean } }>().role
  t.match(role, { name: 'Read-only auditor', permissions: ['audit:read', 'workspace:read'], builtIn: false }, 'trimmed, deduplicated, sorted')
  const entries = (await listAll(ctx, as(owner, workspaceId), '/api/workspace/audit-log', 'entity=role')).entries
  t.match(entries.find((e) => e.action === 'role.create'), { actorId: owner.id, entityId: role.id, before: null, after: { name: 'Read-only auditor', permissions: ['audit:read', 'workspace:read'] } })

  assertError(t, await createRole(owner, workspaceId, { name: 'X', permissions: ['contacts:read', 'contacts:fly'] }), 400, 'validation_failed', /contacts:fly/)
  assertError(t, await createRole(owner, workspaceId, { name: 'read-only AUDITOR', permissions: [] }), 409, 'conflict', /exists already/)
  for (const name of ['Owner', 'agent', ' ADMIN ']) {
    assertError(t, await createRole(owner, workspaceId, { name, permissions: [] }), 409, 'conflict', /built-in/)
  }
  for (const body of [{ name: '', permissions: [] }, { name: 'a\nb', permissions: [] }, { name: 'x'.repeat(61), permissions: [] }, { name: 'No perms' }, { name: 'Extra', permissions: [], extra: 1 }]) {
    assertError(t, await createRole(owner, workspaceId, body), 400, 'validation_failed')
  }
  t.same((await customRoles(workspaceId)).map((r) => r.name), ['Read-only auditor'], 'nothing else was created')
})

t.test('PATCH and DELETE /roles/:id: a role changes with before/after; built-ins are fixed; a role in use stays', async (t) => {
  const { owner, admin, agent, workspaceId } = await team()
  const id = (await createRole(owner, workspaceId, { name: 'Support', permissions: ['workspace:read', 'contacts:read'] })).json<{ role: { id: string } }>().role.id

  const res = await send(owner, workspaceId, 'PATCH', `${ROLES}/${id}`, { permissions: ['workspace:read', 'contacts:read', 'contacts:update'] })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { role: { id, name: 'Support', permissions: ['contacts:read', 'contacts:update', 'workspace:read'] } })
  t.equal((await send(owner, workspaceId, 'PATCH', `${ROLES}/${id}`, { name: 'Customer support' })).json<{ role: { permissions: string[] } }>().role.permissions.length, 3,
    'a rename keeps the permissions')
  const change = (await listAll(ctx, as(owner, workspaceId), '/api/workspace/audit-log', 'entity=role')).entries.filter((e) => e.action === 'role.update').at(-1)
  t.match(change, { actorId: owner.id, entityId: id, before: { permissions: ['contacts:read', 'workspace:read'] }, after: { permissions: ['contacts:read', 'contacts:update', 'workspace:read'] } })

  for (const builtIn of ['owner', 'admin', 'manager', 'agent']) {
    assertError(t, await send(owner, workspaceId, 'PATCH', `${ROLES}/${builtIn}`, { name: 'Boss' }), 409, 'conflict', /Built-in/)
    assertError(t, await send(owner, workspaceId, 'DELETE', `${ROLES}/${builtIn}`), 409, 'conflict', /Built-in/)
  }
  assertError(t, await send(owner, workspaceId, 'PATCH', `${ROLES}/${id}`, {}), 400, 'validation_failed')
  assertError(t, await send(owner, workspaceId, 'PATCH', `${ROLES}/${id}`, { permissions: ['root'] }), 400, 'validation_failed', /root/)
  assertError(t, await send(owner, workspaceId, 'PATCH', `${ROLES}/nonsense`, { name: 'X' }), 404, 'not_found')
  assertError(t, await send(owner, workspaceId, 'DELETE', `${ROLES}/00000000-0000-4000-8000-000000000000`), 404, 'not_found')

  // In use: held by a member, or offered by an open invitation.
  t.equal((await patchMember(admin, workspaceId, agent.id, { role: id })).statusCode, 200)
  assertError(t, await send(owner, workspaceId, 'DELETE', `${ROLES}/${id}`), 409, 'conflict', /held by 1 member/)
  t.equal((await patchMember(owner, workspaceId, agent.id, { role: 'agent' })).statusCode, 200)
  const invite = await send(owner, workspaceId, 'POST', '/api/workspace/invites', { email: uniqueEmail(), role: id })
  t.equal(invite.statusCode, 201)
  t.equal(invite.json<{ invite: { role: string } }>().invite.role, id, 'an invitation names the custom role by its id')
  assertError(t, await send(owner, workspaceId, 'DELETE', `${ROLES}/${id}`), 409, 'conflict', /open invitation/)
  t.equal((await send(owner, workspaceId, 'DELETE', `/api/workspace/invites/${invite.json<{ invite: { id: string } }>().invite.id}`)).statusCode, 204)
  t.equal((await send(owner, workspaceId, 'DELETE', `${ROLES}/${id}`)).statusCode, 204, 'unused, it goes')
  t.same(await customRoles(workspaceId), [])
  const deleted = (await listAll(ctx, as(owner, workspaceId), '/api/workspace/audit-log', 'entity=role')).entries.find((e) => e.action === 'role.purge')
  t.match(deleted, { actorId: owner.id, entityId: id, before: { name: 'Customer support' }, after: null })
})

t.test('a custom role is assigned by id everywhere: members, /me, /api/workspaces; its change holds from the next request', async (t) => {
  const { owner, agent, workspaceId } = await team()
  const id = (await createRole(owner, workspaceId, { name: 'Auditor', permissions: ['workspace:read', 'members:read', 'audit:read'] }))
    .json<{ role: { id: string } }>().role.id
  t.equal((await patchMember(owner, workspaceId, agent.id, { role: id })).json<{ member: { role: string } }>().member.role, id)
  t.equal(await roleOf(ctx, workspaceId, agent.id), 'Auditor')
  const me = await ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: as(agent) })
  t.match(me.json(), { memberships: [{ workspaceId, role: id }] })
  const mine = await ctx.app.inject({ method: 'GET', url: '/api/workspaces', headers: as(agent) })
  t.match(mine.json(), { workspaces: [{ id: workspaceId, role: id }] })

  t.equal((await send(agent, workspaceId, 'GET', '/api/workspace/audit-log')).statusCode, 200, 'the role grants audit:read')
  assertError(t, await send(agent, workspaceId, 'GET', '/api/crm/contacts'), 403, 'forbidden', /contacts:read/)

  // The owner takes audit:read away and gives contacts:read: the very next request sees it.
  t.equal((await send(owner, workspaceId, 'PATCH', `${ROLES}/${id}`, { permissions: ['workspace:read', 'contacts:read'] })).statusCode, 200)
  assertError(t, await send(agent, workspaceId, 'GET', '/api/workspace/audit-log'), 403, 'forbidden', /audit:read/)
  t.equal((await send(agent, workspaceId, 'GET', '/api/crm/contacts')).statusCode, 200)
})

t.test('no escalation: nobody creates, edits, assigns or invites with a permission they lack; only owners make owners', async (t) => {
  const { owner, admin, agent, workspaceId } = await team()
  // An admin lacks billing:read and security:read (the owners' alone).
  assertError(t, await createRole(admin, workspaceId, { name: 'Treasurer', permissions: ['billing:read'] }), 403, 'forbidden', /billing:read/)
  const treasurer = (await createRole(owner, workspaceId, { name: 'Treasurer', permissions: ['workspace:read', 'billing:read'] }))
    .json<{ role: { id: string } }>().role.id
  assertError(t, await send(admin, workspaceId, 'PATCH', `${ROLES}/${treasurer}`, { name: 'Renamed' }), 403, 'forbidden', /billing:read/, )
  assertError(t, await send(admin, workspaceId, 'DELETE', `${ROLES}/${treasurer}`), 403, 'forbidden', /billing:read/)
  assertError(t, await patchMember(admin, workspaceId, agent.id, { role: treasurer }), 403, 'forbidden', /cannot grant the role "Treasurer"/)
  assertError(t, await send(admin, workspaceId, 'POST', '/api/workspace/invites', { email: uniqueEmail(), role: treasurer }), 403, 'forbidden', /"Treasurer"/)

  // A role manager who is not an admin: may manage roles within what they hold, never beyond.
  const lead = await register(ctx)
  const leadRole = (await createRole(owner, workspaceId, { name: 'Team lead', permissions: ['workspace:read', 'members:read', 'members:manage', 'roles:manage', 'contacts:read'] }))
    .json<{ role: { id: string } }>().role.id
  await addMember(ctx, workspaceId, lead, 'agent')
  t.equal((await patchMember(owner, workspaceId, lead.id, { role: leadRole })).statusCode, 200)
  assertError(t, await send(lead, workspaceId, 'PATCH', `${ROLES}/${leadRole}`, { permissions: ['workspace:read', 'members:read', 'members:manage', 'roles:manage', 'contacts:read', 'audit:read'] }),
    403, 'forbidden', /audit:read/, )
  t.equal((await createRole(lead, workspaceId, { name: 'Reader', permissions: ['workspace:read', 'contacts:read'] })).statusCode, 201, 'within what they hold')
  assertError(t, await createRole(lead, workspaceId, { name: 'Writer', permissions: ['contacts:create'] }), 403, 'forbidden', /contacts:create/)
  assertError(t, await patchMember(lead, workspaceId, agent.id, { role: 'admin' }), 403, 'forbidden')
  assertError(t, await patchMember(lead, workspaceId, agent.id, { role: 'owner' }), 403, 'forbidden')

  // Everything an owner holds, as a custom role: still not an owner's to give.
  const all = (await createRole(owner, workspaceId, { name: 'Everything', permissions: Object.keys(PERMISSIONS) })).json<{ role: { id: string } }>().role.id
  t.equal((await patchMember(owner, workspaceId, admin.id, { role: all })).statusCode, 200)
  assertError(t, await patchMember(admin, workspaceId, agent.id, { role: 'owner' }), 403, 'forbidden', /cannot grant the role owner/)
  assertError(t, await patchMember(admin, workspaceId, owner.id, { role: 'agent' }), 403, 'forbidden', /member who is owner/)
  t.equal(await roleOf(ctx, workspaceId, owner.id), 'owner')

  // An agent has no roles:manage.
  assertError(t, await createRole(agent, workspaceId, { name: 'Mine', permissions: [] }), 403, 'forbidden', /roles:manage/)
  t.same((await customRoles(workspaceId)).map((r) => r.name).sort(), ['Everything', 'Reader', 'Team lead', 'Treasurer'])
})

t.test("another tenant's role id: not found to change, not assignable, not offered", async (t) => {
  const a = await team()
  const b = await team()
  const theirs = (await createRole(b.owner, b.workspaceId, { name: 'B only', permissions: ['workspace:read'] })).json<{ role: { id: string } }>().role.id
  assertError(t, await send(a.owner, a.workspaceId, 'PATCH', `${ROLES}/${theirs}`, { name: 'Stolen' }), 404, 'not_found')
  assertError(t, await send(a.owner, a.workspaceId, 'DELETE', `${ROLES}/${theirs}`), 404, 'not_found')
  assertError(t, await patchMember(a.owner, a.workspaceId, a.agent.id, { role: theirs }), 400, 'validation_failed', /No such role/)
  assertError(t, await send(a.owner, a.workspaceId, 'POST', '/api/workspace/invites', { email: uniqueEmail(), role: theirs }), 400, 'validation_failed', /No such role/)
  // The header names B, the caller is not B's member.
  assertError(t, await send(a.owner, b.workspaceId, 'PATCH', `${ROLES}/${theirs}`, { name: 'Stolen' }), 403, 'not_a_member')
  t.same((await customRoles(b.workspaceId)).map((r) => r.name), ['B only'])
  t.equal(await roleOf(ctx, a.workspaceId, a.agent.id), 'agent')
})

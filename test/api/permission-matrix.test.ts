// The permission matrix, generated from the routes' own declarations (app.routeTable) and the
// catalogue (src/rbac/permissions.ts): every workspace route × every built-in role × a custom
// role is allowed exactly when the role holds the route's permission (any one of a list), and
// answers 403 forbidden naming it otherwise; a contact outside the caller's scope answers 404 on
// every contact route. A new workspace route without a request here fails the test.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, addMember, as, customRole, register, uniqueEmail, type Actor } from '../helpers/actors.js'
import { BUILT_IN_ROLES, type Permission } from '../../src/rbac/permissions.js'

const ctx = await buildTestApp(t)

// A custom role mixing read, _own and management permissions.
const CUSTOM: Permission[] = ['workspace:read', 'members:read', 'audit:read', 'contacts:read', 'contacts:update_own', 'departments:manage']
const ROLES: [string, readonly Permission[]][] = [...Object.entries(BUILT_IN_ROLES), ['custom', CUSTOM]]

interface Fixture {
  actor: Actor
  workspaceId: string
  ownContact: string
  deletedContact: string
  othersContact: string
  member: string
  /** A member who owns nothing, to remove. */
  leaver: string
  role: string
  department: string
  invite: string
  apiToken: string
  workspaceName: string
}

async function fixture(role: string): Promise<Fixture> {
  const { owner, workspaceId } = await activeTenant(ctx, `Matrix ${role}`)
  const actor = role === 'owner' ? owner : await register(ctx)
  if (role === 'custom') {
    await addMember(ctx, workspaceId, actor, 'agent')
    const id = await customRole(ctx, workspaceId, 'Matrix custom', CUSTOM)
    await ctx.sql(`update memberships set role = 'custom', role_id = $1 where workspace_id = $2 and user_id = $3`, [id, workspaceId, actor.id])
  } else if (role !== 'owner') {
    await addMember(ctx, workspaceId, actor, role)
  }
  const target = await register(ctx)
  await addMember(ctx, workspaceId, target, 'agent')
  const leaver = await register(ctx)
  await addMember(ctx, workspaceId, leaver, 'agent')
  const one = async (sql: string, values: unknown[]) => (await ctx.sql<{ id: string }>(sql, values))[0]!.id
  const contact = (ownerId: string, deleted: boolean) =>
    one(`insert into contacts (workspace_id, name, owner_id, deleted_at) values ($1, 'Fixture', $2, case when $3 then now() end) returning id`,
      [workspaceId, ownerId, deleted])
  return {
    actor,
    workspaceId,
    workspaceName: `Matrix ${role}`,
    ownContact: await contact(actor.id, false),
    deletedContact: await contact(actor.id, true),
    othersContact: await contact(target.id, false),
    member: target.id,
    leaver: leaver.id,
    role: await customRole(ctx, workspaceId, 'Matrix target', ['workspace:read']),
    department: await one(`insert into departments (workspace_id, name) values ($1, 'Fixture') returning id`, [workspaceId]),
    invite: await one(`insert into workspace_invites (workspace_id, email, role, token_hash, invited_by, expires_at)
                       values ($1, $2, 'agent', $3, $4, now() + interval '1 day') returning id`,
      [workspaceId, uniqueEmail('invited'), randomBytes(32), owner.id]),
    apiToken: await one(`insert into api_tokens (workspace_id, name, token_hash, hint, scopes, created_by)
                         values ($1, 'Fixture', $2, 'abcd', '{contacts:read}', $3) returning id`, [workspaceId, randomBytes(32), owner.id]),
  }
}

type Request = { url: string; payload?: object }
// One request per workspace route, made against a fixture. Routes whose gate checks no
// permission name the one the database checks instead (removing another member).
const REQUESTS: Record<string, { request: (f: Fixture) => Request; permission?: Permission }> = {
  'GET /api/workspace': { request: () => ({ url: '/api/workspace/' }) },
  'GET /api/workspace/permissions': { request: () => ({ url: '/api/workspace/permissions' }) },
  'GET /api/workspace/billing': { request: () => ({ url: '/api/workspace/billing/' }) },
  'GET /api/workspace/audit-log': { request: () => ({ url: '/api/workspace/audit-log/' }) },
  'GET /api/workspace/security-events': { request: () => ({ url: '/api/workspace/security-events/' }) },
  'GET /api/workspace/members': { request: () => ({ url: '/api/workspace/members/' }) },
  'PATCH /api/workspace/members/:userId': { request: (f) => ({ url: `/api/workspace/members/${f.member}`, payload: { role: 'agent' } }) },
  'DELETE /api/workspace/members/:userId': { request: (f) => ({ url: `/api/workspace/members/${f.leaver}` }), permission: 'members:manage' },
  'GET /api/workspace/roles': { request: () => ({ url: '/api/workspace/roles/' }) },
  'POST /api/workspace/roles': { request: () => ({ url: '/api/workspace/roles/', payload: { name: 'Made', permissions: ['workspace:read'] } }) },
  'PATCH /api/workspace/roles/:id': { request: (f) => ({ url: `/api/workspace/roles/${f.role}`, payload: { name: 'Renamed' } }) },
  'DELETE /api/workspace/roles/:id': { request: (f) => ({ url: `/api/workspace/roles/${f.role}` }) },
  'GET /api/workspace/departments': { request: () => ({ url: '/api/workspace/departments/' }) },
  'POST /api/workspace/departments': { request: () => ({ url: '/api/workspace/departments/', payload: { name: 'Made' } }) },
  'PATCH /api/workspace/departments/:id': { request: (f) => ({ url: `/api/workspace/departments/${f.department}`, payload: { name: 'Renamed' } }) },
  'DELETE /api/workspace/departments/:id': { request: (f) => ({ url: `/api/workspace/departments/${f.department}` }) },
  'GET /api/workspace/invites': { request: () => ({ url: '/api/workspace/invites/' }) },
  'POST /api/workspace/invites': { request: () => ({ url: '/api/workspace/invites/', payload: { email: uniqueEmail('matrix'), role: 'agent' } }) },
  'DELETE /api/workspace/invites/:id': { request: (f) => ({ url: `/api/workspace/invites/${f.invite}` }) },
  'GET /api/workspace/api-tokens': { request: () => ({ url: '/api/workspace/api-tokens/' }) },
  'POST /api/workspace/api-tokens': { request: () => ({ url: '/api/workspace/api-tokens/', payload: { name: 'Made', scopes: ['workspace:read'] } }) },
  'DELETE /api/workspace/api-tokens/:id': { request: (f) => ({ url: `/api/workspace/api-tokens/${f.apiToken}` }) },
  'GET /api/workspace/channels': { request: () => ({ url: '/api/workspace/channels/' }) },
  'PUT /api/workspace/channels/:type': { request: () => ({ url: '/api/workspace/channels/telegram', payload: { botToken: '12345:AAmatrixTelegramBotToken_0123456789' } }) },
  'DELETE /api/workspace/channels/:type': { request: () => ({ url: '/api/workspace/channels/telegram' }) },
  // Runs last (see `order`): it deletes the fixture's workspace.
  'DELETE /api/workspace': { request: (f) => ({ url: '/api/workspace/', payload: { confirm: f.workspaceName } }) },
  'GET /api/crm/contacts': { request: () => ({ url: '/api/crm/contacts/' }) },
  'POST /api/crm/contacts': { request: () => ({ url: '/api/crm/contacts/', payload: { name: 'Made' } }) },
  'GET /api/crm/contacts/:id': { request: (f) => ({ url: `/api/crm/contacts/${f.ownContact}` }) },
  'PATCH /api/crm/contacts/:id': { request: (f) => ({ url: `/api/crm/contacts/${f.ownContact}`, payload: { name: 'Renamed' } }) },
  'DELETE /api/crm/contacts/:id': { request: (f) => ({ url: `/api/crm/contacts/${f.ownContact}` }) },
  'POST /api/crm/contacts/:id/restore': { request: (f) => ({ url: `/api/crm/contacts/${f.deletedContact}/restore` }) },
  'GET /api/crm/contacts/:id/history': { request: (f) => ({ url: `/api/crm/contacts/${f.ownContact}/history` }) },
}

const workspaceRoutes = ctx.app.routeTable.filter((r) => r.access === 'workspace')
const key = (r: { method: string; url: string }) => `${r.method} ${r.url}`
// Reads first, deletions last: each request acts on its own fixture record.
// Deleting the workspace itself comes after everything.
const order = (r: { method: string; url: string }) =>
  key(r) === 'DELETE /api/workspace' ? 9 : ['GET', 'PUT', 'POST', 'PATCH', 'DELETE'].indexOf(r.method)
const routes = [...workspaceRoutes].sort((a, b) => order(a) - order(b))

t.test('every workspace route has a request in the matrix, and the matrix no stale one', async (t) => {
  t.same(workspaceRoutes.map(key).sort(), Object.keys(REQUESTS).sort())
})

for (const [role, held] of ROLES) {
  t.test(`${role}: allowed exactly where the role holds the route's permission`, async (t) => {
    const f = await fixture(role)
    for (const route of routes) {
      const spec = REQUESTS[key(route)]
      if (!spec) continue
      const needed = [route.permission ?? spec.permission].flat().filter((p): p is Permission => !!p)
      const allowed = needed.length === 0 || needed.some((p) => held.includes(p))
      const { url, payload } = spec.request(f)
      const res = await ctx.app.inject({ method: route.method as 'GET', url, headers: as(f.actor, f.workspaceId), ...(payload ? { payload } : {}) })
      const label = `${role} ${key(route)} → ${res.statusCode}`
      if (allowed) {
        t.ok(res.statusCode < 400, `${label}: allowed (${res.body.slice(0, 160)})`)
      } else {
        t.equal(res.statusCode, 403, `${label}: refused`)
        t.match(res.json(), { code: 'forbidden', message: new RegExp(needed[0]!) }, `${label}: names ${needed[0]}`)
      }
    }
  })
}

t.test('a contact outside the scope is not found on every contact route; inside it, the permission decides', async (t) => {
  for (const [role, held] of ROLES) {
    const f = await fixture(role)
    const sees = role === 'owner' || role === 'admin' // the others see their own (custom, agent) or their department (manager, none here)
    for (const route of routes.filter((r) => r.url.startsWith('/api/crm/contacts/:id'))) {
      const needed = [route.permission].flat().filter((p): p is Permission => !!p)
      const url = route.url.replace(':id', f.othersContact)
      const res = await ctx.app.inject({ method: route.method as 'GET', url, headers: as(f.actor, f.workspaceId), ...(route.method === 'PATCH' ? { payload: { name: 'x' } } : {}) })
      const label = `${role} ${key(route)} on another member's contact → ${res.statusCode}`
      if (!needed.some((p) => held.includes(p))) t.equal(res.statusCode, 403, `${label}: refused by the gate first`)
      else if (!sees) t.equal(res.statusCode, 404, `${label}: outside the scope`)
      else t.not(res.statusCode, 404, `${label}: inside the scope`)
    }
  }
})

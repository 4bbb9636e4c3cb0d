// GET/PATCH /api/workspace/members: the member list and role changes, with their rules (nobody
// grants what they lack, nobody changes someone above them, the last owner stays) and the
// attacks they defend against (another tenant's member id, two owners deposing each other).
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, addMember, as, assertError, createWorkspace, customRole, register, roleOf, type Actor } from '../helpers/actors.js'
import { listAll } from '../helpers/audit.js'

const ctx = await buildTestApp(t)

const members = (actor: Actor, workspaceId: string) =>
  ctx.app.inject({ method: 'GET', url: '/api/workspace/members', headers: as(actor, workspaceId) })
const patch = (actor: Actor, workspaceId: string, userId: string, body: unknown) =>
  ctx.app.inject({ method: 'PATCH', url: `/api/workspace/members/${userId}`, headers: as(actor, workspaceId), payload: body as object })
const membershipChanges = async (actor: Actor, workspaceId: string) =>
  (await listAll(ctx, as(actor, workspaceId), '/api/workspace/audit-log', 'entity=membership')).entries.filter((e) => e.action === 'membership.update')

/** An active workspace with one member of each built-in role but manager, and one of its custom "Viewer" role (`viewerRole`, its id). */
async function team() {
  const { owner, workspaceId } = await activeTenant(ctx)
  const admin = await register(ctx)
  const member = await register(ctx)
  const viewer = await register(ctx)
  await addMember(ctx, workspaceId, admin, 'admin')
  await addMember(ctx, workspaceId, member, 'agent')
  await addMember(ctx, workspaceId, viewer, 'viewer')
  return { owner, admin, member, viewer, workspaceId, viewerRole: await customRole(ctx, workspaceId) }
}

t.test('GET /members lists the workspace members, to every role', async (t) => {
  const { owner, admin, member, viewer, workspaceId, viewerRole } = await team()
  const outsider = await activeTenant(ctx, 'Other')
  await ctx.sql(`insert into user_mfa (user_id, secret_encrypted, enabled_at) values ($1, 'v1:k:x:y:z', now())`, [admin.id])
  for (const caller of [owner, admin, member, viewer]) {
    const res = await members(caller, workspaceId)
    t.equal(res.statusCode, 200, res.body)
    const list = res.json().members as Array<Record<string, unknown>>
    t.same(list.map((m) => m.userId), [owner.id, admin.id, member.id, viewer.id], 'every member, in joining order, nobody else')
    t.same(Object.keys(list[0]!).sort(), ['departmentId', 'email', 'joinedAt', 'mfaEnabled', 'name', 'role', 'scopes', 'userId'])
    t.match(list[1], { email: admin.email, name: 'Test User', role: 'admin', departmentId: null, scopes: { contacts: 'all' }, mfaEnabled: true })
    t.same(list.map((m) => m.mfaEnabled), [false, true, false, false])
    t.same(list.map((m) => m.role), ['owner', 'admin', 'agent', viewerRole], 'a built-in role by name, a custom one by id')
    t.notOk(list.some((m) => m.userId === outsider.owner.id))
    t.notMatch(res.body, /password|secret|token/i, 'nothing secret')
  }
})

t.test('GET /members of a workspace the caller is not in: 403 not_a_member', async (t) => {
  // Threat: listing another tenant's people (emails) by naming its workspace id.
  const a = await activeTenant(ctx)
  const b = await activeTenant(ctx)
  assertError(t, await members(a.owner, b.workspaceId), 403, 'not_a_member')
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/workspace/members', headers: { 'x-workspace-id': a.workspaceId } }), 401, 'unauthenticated')
})

t.test('PATCH /members/:userId changes a role, audited', async (t) => {
  const { owner, member, workspaceId } = await team()
  const res = await patch(owner, workspaceId, member.id, { role: 'admin' })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json().member, { userId: member.id, email: member.email, role: 'admin' })
  t.equal(await roleOf(ctx, workspaceId, member.id), 'admin')
  const [change, ...more] = await membershipChanges(owner, workspaceId)
  t.equal(more.length, 0)
  t.match(change, { actorId: owner.id, before: { role: 'agent' }, after: { role: 'admin' } }, 'who changed whom, from what to what')

  const same = await patch(owner, workspaceId, member.id, { role: 'admin' })
  t.equal(same.statusCode, 200, 'setting the role a member has is a no-op')
  t.equal((await membershipChanges(owner, workspaceId)).length, 1, 'and records nothing')
})

t.test('only owners and admins change roles; nobody grants or changes what they lack', async (t) => {
  const { owner, admin, member, viewer, workspaceId, viewerRole } = await team()
  // Threat: a member promotes themselves, or an admin makes themselves owner or deposes one.
  assertError(t, await patch(member, workspaceId, member.id, { role: 'admin' }), 403, 'forbidden', /members:manage/)
  assertError(t, await patch(viewer, workspaceId, viewer.id, { role: 'owner' }), 403, 'forbidden', /members:manage/)
  assertError(t, await patch(admin, workspaceId, admin.id, { role: 'owner' }), 403, 'forbidden', /cannot grant the role owner/)
  assertError(t, await patch(admin, workspaceId, member.id, { role: 'owner' }), 403, 'forbidden', /cannot grant the role owner/)
  assertError(t, await patch(admin, workspaceId, owner.id, { role: viewerRole }), 403, 'forbidden', /member who is owner/)
  t.same([await roleOf(ctx, workspaceId, owner.id), await roleOf(ctx, workspaceId, admin.id), await roleOf(ctx, workspaceId, member.id)], ['owner', 'admin', 'agent'], 'nothing changed')

  // What an admin holds, an admin may grant and take away.
  t.equal((await patch(admin, workspaceId, viewer.id, { role: 'admin' })).statusCode, 200)
  t.equal((await patch(admin, workspaceId, viewer.id, { role: 'agent' })).statusCode, 200)
  t.equal((await patch(admin, workspaceId, admin.id, { role: viewerRole })).statusCode, 200, 'an admin may step down')
  t.equal(await roleOf(ctx, workspaceId, admin.id), 'Viewer')
  t.equal((await patch(owner, workspaceId, member.id, { role: 'owner' })).statusCode, 200, 'an owner makes an owner')
})

t.test('the last owner cannot be demoted: 409 conflict', async (t) => {
  const { owner, member, workspaceId, viewerRole } = await team()
  assertError(t, await patch(owner, workspaceId, owner.id, { role: 'admin' }), 409, 'conflict', /last owner/)
  t.equal(await roleOf(ctx, workspaceId, owner.id), 'owner')
  // With a second owner, either may step down; then the other is the last one.
  t.equal((await patch(owner, workspaceId, member.id, { role: 'owner' })).statusCode, 200)
  t.equal((await patch(member, workspaceId, owner.id, { role: 'agent' })).statusCode, 200)
  assertError(t, await patch(member, workspaceId, member.id, { role: viewerRole }), 409, 'conflict')
  t.equal(await roleOf(ctx, workspaceId, member.id), 'owner')
})

t.test('two owners demoting each other at once: exactly one wins, an owner remains', async (t) => {
  // Threat: a race leaves a workspace with no owner (nobody can manage billing or roles).
  for (let round = 0; round < 5; round++) {
    const { owner, member: second, workspaceId } = await team()
    await ctx.sql(`update memberships set role = 'owner' where workspace_id = $1 and user_id = $2`, [workspaceId, second.id])
    const [a, b] = await Promise.all([
      patch(owner, workspaceId, second.id, { role: 'agent' }),
      patch(second, workspaceId, owner.id, { role: 'agent' }),
    ])
    // The loser is refused as the last owner (409) or, if it started after the winner's commit,
    // as the member it has just become (403).
    const codes = [a.statusCode, b.statusCode].sort()
    t.ok(codes[0] === 200 && (codes[1] === 403 || codes[1] === 409), `round ${round}: one 200, one refusal (${codes.join()})`)
    const owners = await ctx.sql('select user_id from memberships where workspace_id = $1 and role = $2', [workspaceId, 'owner'])
    t.equal(owners.length, 1, 'one owner left')
  }
})

t.test("another tenant's member, or nobody: 404, and nothing changes", async (t) => {
  // Threat: changing the role of a user in another workspace by naming their id.
  const a = await team()
  const b = await team()
  assertError(t, await patch(a.owner, a.workspaceId, b.member.id, { role: a.viewerRole }), 404, 'not_found')
  assertError(t, await patch(a.owner, a.workspaceId, '00000000-0000-4000-8000-000000000000', { role: a.viewerRole }), 404, 'not_found')
  t.equal(await roleOf(ctx, b.workspaceId, b.member.id), 'agent')
  // Naming the other workspace in the header instead: not a member there.
  assertError(t, await patch(a.owner, b.workspaceId, b.member.id, { role: b.viewerRole }), 403, 'not_a_member')
})

t.test('bad input: 400 validation_failed, nothing changes', async (t) => {
  const { owner, member, workspaceId } = await team()
  for (const [body, field] of [
    [{ role: 'superuser' }, /body\.role/],
    [{ role: 'viewer' }, /body\.role/],
    [{ role: '00000000-0000-4000-8000-000000000000' }, /No such role in this workspace: 00000000-0000-4000-8000-000000000000/],
    [{}, /fewer than 1 properties/],
    [{ role: 'admin', scopes: { contacts: 'everyone' } }, /scopes/],
    [{ role: 'admin', departmentId: 'sales' }, /departmentId/],
    [{ role: 'admin', superuser: true }, /superuser/],
    [{ role: 7 }, /body\.role/],
  ] as const) {
    assertError(t, await patch(owner, workspaceId, member.id, body), 400, 'validation_failed', field)
  }
  assertError(t, await patch(owner, workspaceId, 'not-a-uuid', { role: 'admin' }), 400, 'validation_failed', /userId/)
  // Another workspace's custom role is no role here.
  const elsewhere = await activeTenant(ctx, 'Elsewhere')
  const foreignRole = await customRole(ctx, elsewhere.workspaceId)
  assertError(t, await patch(owner, workspaceId, member.id, { role: foreignRole }), 400, 'validation_failed', new RegExp(`No such role in this workspace: ${foreignRole}`))
  t.equal(await roleOf(ctx, workspaceId, member.id), 'agent')
})

t.test('the gate chain: a pending workspace refuses role changes', async (t) => {
  const owner = await register(ctx)
  const workspaceId = await createWorkspace(ctx, owner)
  const other = await register(ctx)
  await addMember(ctx, workspaceId, other, 'agent')
  assertError(t, await patch(owner, workspaceId, other.id, { role: 'admin' }), 403, 'workspace_pending_approval')
  t.equal((await members(owner, workspaceId)).statusCode, 200, 'the list still reads')
  t.equal(await roleOf(ctx, workspaceId, other.id), 'agent')
})

const remove = (actor: Actor, workspaceId: string, userId: string) =>
  ctx.app.inject({ method: 'DELETE', url: `/api/workspace/members/${userId}`, headers: as(actor, workspaceId) })

t.test('DELETE /members/:userId removes a member, who then has no access; audited', async (t) => {
  const { owner, member, viewer, workspaceId } = await team()
  const res = await remove(owner, workspaceId, member.id)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal(await roleOf(ctx, workspaceId, member.id), undefined)
  t.notOk((await members(owner, workspaceId)).json().members.some((m: { userId: string }) => m.userId === member.id))
  assertError(t, await members(member, workspaceId), 403, 'not_a_member', undefined)
  const purge = (await listAll(ctx, as(owner, workspaceId), '/api/workspace/audit-log', 'entity=membership')).entries.find((e) => e.action === 'membership.purge')
  t.match(purge, { actorId: owner.id, entityId: member.id, before: { role: 'agent' }, after: null })

  // Leaving needs no permission: a viewer may go.
  t.equal((await remove(viewer, workspaceId, viewer.id)).statusCode, 204, 'a viewer leaves')
  t.equal(await roleOf(ctx, workspaceId, viewer.id), undefined)
})

t.test('removing others needs members:manage and a role at least as high; the last owner stays', async (t) => {
  const { owner, admin, member, viewer, workspaceId } = await team()
  // Threat: a member removes a colleague, or an admin removes the owner to take the workspace.
  assertError(t, await remove(member, workspaceId, viewer.id), 403, 'forbidden', /members:manage/)
  assertError(t, await remove(admin, workspaceId, owner.id), 403, 'forbidden', /member who is owner/)
  assertError(t, await remove(owner, workspaceId, owner.id), 409, 'conflict', /last owner/)
  t.same([await roleOf(ctx, workspaceId, viewer.id), await roleOf(ctx, workspaceId, owner.id)], ['Viewer', 'owner'], 'nothing changed')
  t.equal((await remove(admin, workspaceId, viewer.id)).statusCode, 204, 'an admin removes a viewer')
  await patch(owner, workspaceId, admin.id, { role: 'owner' })
  t.equal((await remove(owner, workspaceId, owner.id)).statusCode, 204, 'with another owner, an owner may leave')
  t.equal(await roleOf(ctx, workspaceId, admin.id), 'owner')
})

t.test('a member who still owns contacts is not removed: 409, nothing lost', async (t) => {
  const { owner, member, workspaceId } = await team()
  const kept = await ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: as(member, workspaceId), payload: { name: 'Grace' } })
  t.equal(kept.statusCode, 201)
  const contactId = kept.json().contact.id as string
  await ctx.app.inject({ method: 'DELETE', url: `/api/crm/contacts/${contactId}`, headers: as(member, workspaceId) })
  assertError(t, await remove(owner, workspaceId, member.id), 409, 'conflict', /owns 1 contact \(deleted ones included\)/)
  t.equal(await roleOf(ctx, workspaceId, member.id), 'agent')
  await ctx.app.inject({ method: 'POST', url: `/api/crm/contacts/${contactId}/restore`, headers: as(owner, workspaceId) })
  const moved = await ctx.app.inject({ method: 'PATCH', url: `/api/crm/contacts/${contactId}`, headers: as(owner, workspaceId), payload: { ownerId: owner.id } })
  t.equal(moved.statusCode, 200, moved.body)
  t.equal((await remove(owner, workspaceId, member.id)).statusCode, 204, 'once the contacts are handed over')
})

t.test("DELETE: another tenant's member or nobody is 404; a pending workspace refuses", async (t) => {
  // Threat: removing a user from another workspace by naming their id.
  const a = await team()
  const b = await team()
  assertError(t, await remove(a.owner, a.workspaceId, b.member.id), 404, 'not_found')
  assertError(t, await remove(a.owner, a.workspaceId, '00000000-0000-4000-8000-000000000000'), 404, 'not_found')
  assertError(t, await remove(a.owner, b.workspaceId, b.member.id), 403, 'not_a_member')
  assertError(t, await remove(a.owner, a.workspaceId, 'nope'), 400, 'validation_failed')
  t.equal(await roleOf(ctx, b.workspaceId, b.member.id), 'agent')

  const owner = await register(ctx)
  const pending = await createWorkspace(ctx, owner)
  const other = await register(ctx)
  await addMember(ctx, pending, other, 'agent')
  assertError(t, await remove(owner, pending, other.id), 403, 'workspace_pending_approval')
})

t.test('two owners leaving at once: one goes, one stays', async (t) => {
  // Threat: a race leaves a workspace with no owner.
  for (let round = 0; round < 3; round++) {
    const { owner, member: second, workspaceId } = await team()
    await ctx.sql(`update memberships set role = 'owner' where workspace_id = $1 and user_id = $2`, [workspaceId, second.id])
    const codes = (await Promise.all([remove(owner, workspaceId, owner.id), remove(second, workspaceId, second.id)])).map((r) => r.statusCode).sort()
    t.same(codes, [204, 409], `round ${round}`)
    const owners = await ctx.sql('select 1 from memberships where workspace_id = $1 and role = $2', [workspaceId, 'owner'])
    t.equal(owners.length, 1)
  }
})

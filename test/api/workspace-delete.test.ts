// DELETE /api/workspace: the owner deletes the workspace by typing its name; its data key is
// destroyed (its secrets unrecoverable), its channel credentials gone, its contacts soft-deleted,
// its open invitations revoked, nobody is a member any more; audited. And the refusals: an
// admin, a wrong name, another tenant.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, addMember, as, assertError, createContact, createWorkspace, register, setWorkspaceState } from '../helpers/actors.js'

const ctx = await buildTestApp(t)

const remove = (actor: { cookie: string }, workspaceId: string, confirm: unknown) =>
  ctx.app.inject({ method: 'DELETE', url: '/api/workspace', headers: as(actor as never, workspaceId), payload: { confirm } })

t.test('the owner deletes the workspace: key destroyed, secrets and access gone, records soft-deleted, audited', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'Doomed Ltd')
  const agent = await register(ctx)
  await addMember(ctx, workspaceId, agent, 'agent')
  await createContact(ctx, owner, workspaceId, { name: 'Grace Hopper' })
  const put = await ctx.app.inject({ method: 'PUT', url: '/api/workspace/channels/resend', headers: as(owner, workspaceId),
    payload: { apiKey: 're_secretToShred_1234', from: 'x@doomed.test' } })
  t.equal(put.statusCode, 200)
  await ctx.app.inject({ method: 'POST', url: '/api/workspace/invites', headers: as(owner, workspaceId), payload: { email: 'later@doomed.test', role: 'agent' } })

  const res = await remove(owner, workspaceId, 'Doomed Ltd')
  t.equal(res.statusCode, 204, res.body)

  const [key] = await ctx.sql('select kid, data_key_encrypted, destroyed_at from workspace_keys where workspace_id = $1', [workspaceId])
  t.same([key!.kid, key!.data_key_encrypted], [null, null], 'the data key is gone')
  t.ok(key!.destroyed_at)
  t.equal((await ctx.sql('select 1 from channel_credentials where workspace_id = $1', [workspaceId])).length, 0)
  t.same(await ctx.sql('select count(*)::int as n from contacts where workspace_id = $1 and deleted_at is null', [workspaceId]), [{ n: 0 }])
  t.same(await ctx.sql('select count(*)::int as n from workspace_invites where workspace_id = $1 and revoked_at is null and accepted_at is null', [workspaceId]), [{ n: 0 }])
  const [ws] = await ctx.sql('select deleted_at from workspaces where id = $1', [workspaceId])
  t.ok(ws!.deleted_at, 'marked deleted')

  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/workspace', headers: as(owner, workspaceId) }), 403, 'not_a_member')
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/crm/contacts', headers: as(agent, workspaceId) }), 403, 'not_a_member')
  const mine = await ctx.app.inject({ method: 'GET', url: '/api/workspaces', headers: as(owner) })
  t.same(mine.json().workspaces, [], 'no longer listed')
  const events = await ctx.sql<{ action: string; actor_user_id: string; after: Record<string, unknown> }>(
    `select action, actor_user_id, after from audit_log where workspace_id = $1 and action = 'workspace.delete'`, [workspaceId])
  t.equal(events.length, 1, 'audited')
  t.equal(events[0]!.actor_user_id, owner.id)
  t.match(events[0]!.after, { dataKeyDestroyed: true, contactsDeleted: 1 })
  t.equal((await ctx.sql(`select 1 from audit_log where workspace_id = $1 and action = 'contact.delete'`, [workspaceId])).length, 1, 'the trail stays')
  // One owned workspace per user during the beta: a deleted one no longer counts.
  t.ok(await createWorkspace(ctx, owner, 'Second Go'), 'the owner may start again')
})

t.test('refusals: an admin (403), a wrong or missing name (400), another tenant (403); nothing changes', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'Keep Me')
  const admin = await register(ctx)
  await addMember(ctx, workspaceId, admin, 'admin')
  assertError(t, await remove(admin, workspaceId, 'Keep Me'), 403, 'forbidden', /workspace:delete/)
  assertError(t, await remove(owner, workspaceId, 'keep me'), 400, 'validation_failed', /name/)
  assertError(t, await remove(owner, workspaceId, ''), 400, 'validation_failed')
  assertError(t, await ctx.app.inject({ method: 'DELETE', url: '/api/workspace', headers: as(owner, workspaceId) }), 400, 'validation_failed')
  const other = await activeTenant(ctx, 'Keep Me')
  assertError(t, await remove(other.owner, workspaceId, 'Keep Me'), 403, 'not_a_member')
  const [ws] = await ctx.sql('select deleted_at from workspaces where id = $1', [workspaceId])
  t.equal(ws!.deleted_at, null)
})

t.test('a lapsed trial does not stop the owner leaving; a suspension does', async (t) => {
  const lapsed = await activeTenant(ctx, 'Lapsed')
  await setWorkspaceState(ctx, lapsed.workspaceId, { trialDays: -1 })
  t.equal((await remove(lapsed.owner, lapsed.workspaceId, 'Lapsed')).statusCode, 204)
  const suspended = await activeTenant(ctx, 'Suspended')
  await setWorkspaceState(ctx, suspended.workspaceId, { status: 'suspended' })
  assertError(t, await remove(suspended.owner, suspended.workspaceId, 'Suspended'), 403, 'workspace_suspended')
})

t.test('the runtime login cannot delete a workspace it is not sealed into', async (t) => {
  const { workspaceId } = await activeTenant(ctx, 'Target')
  const client = await ctx.pools.runtime.connect()
  try {
    await t.rejects(client.query(`select app.delete_workspace('Target')`), /not a member/)
    await t.rejects(client.query(`update workspaces set deleted_at = now() where id = $1`, [workspaceId]), /permission denied/)
  } finally {
    client.release()
  }
})

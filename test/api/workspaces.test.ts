// Workspaces over HTTP: creation in the closed beta (verified email, invite code, one owned
// workspace per user), the caller's list, and the current workspace's view with its trial.
import t from 'tap'
import { buildTestApp, INVITE_CODE } from '../helpers/app.js'
import { as, assertError, createWorkspace, register, setWorkspaceState, type Actor } from '../helpers/actors.js'

const ctx = await buildTestApp(t)

function create(actor: Actor, body: Record<string, unknown> = { name: 'Acme', inviteCode: INVITE_CODE }) {
  return ctx.app.inject({ method: 'POST', url: '/api/workspaces', headers: as(actor), payload: body })
}

async function ownedCount(actor: Actor): Promise<number> {
  return (await ctx.sql<{ n: number }>('select count(*)::int as n from workspaces where owner_id = $1', [actor.id]))[0]!.n
}

t.test('POST /api/workspaces', async (t) => {
  await t.test('201 with a pending workspace the caller owns', async (t) => {
    const owner = await register(ctx)
    const res = await create(owner, { name: '  Acme Ltd  ', inviteCode: INVITE_CODE })
    t.equal(res.statusCode, 201, res.body)
    const { workspace } = res.json()
    t.match(workspace.id, /^[0-9a-f-]{36}$/)
    t.same(
      { ...workspace, id: undefined },
      {
        id: undefined,
        name: 'Acme Ltd',
        status: 'pending_approval',
        statusReason: null,
        trial: { endsAt: null, daysLeft: null, expired: false },
        billing: { status: 'none' },
      },
    )
    const rows = await ctx.sql('select w.status, w.owner_id, m.role from workspaces w join memberships m on m.workspace_id = w.id where w.id = $1', [
      workspace.id,
    ])
    t.same(rows, [{ status: 'pending_approval', owner_id: owner.id, role: 'owner' }], 'committed, with the owner membership')
  })

  await t.test('403 email_unverified for an unverified account', async (t) => {
    // Threat: throwaway, unverifiable accounts create tenants during the closed beta.
    const owner = await register(ctx, { verified: false })
    assertError(t, await create(owner), 403, 'email_unverified')
    t.equal(await ownedCount(owner), 0, 'nothing created')
  })

  await t.test('403 invalid_invite_code for a wrong or missing code', async (t) => {
    // Threat: anyone who finds the API creates workspaces without a closed-beta invitation.
    const owner = await register(ctx)
    assertError(t, await create(owner, { name: 'Acme', inviteCode: 'guess' }), 403, 'invalid_invite_code')
    assertError(t, await create(owner, { name: 'Acme', inviteCode: `${INVITE_CODE}x` }), 403, 'invalid_invite_code')
    assertError(t, await create(owner, { name: 'Acme' }), 400, 'validation_failed')
    t.equal(await ownedCount(owner), 0, 'nothing created')
  })

  await t.test('401 without a session', async (t) => {
    const res = await ctx.app.inject({ method: 'POST', url: '/api/workspaces', payload: { name: 'Acme', inviteCode: INVITE_CODE } })
    assertError(t, res, 401, 'unauthenticated')
  })

  await t.test('409 workspace_limit_reached for a second workspace', async (t) => {
    const owner = await register(ctx)
    t.equal((await create(owner, { name: 'First', inviteCode: INVITE_CODE })).statusCode, 201)
    assertError(t, await create(owner, { name: 'Second', inviteCode: INVITE_CODE }), 409, 'workspace_limit_reached')
    const names = await ctx.sql<{ name: string }>('select name from workspaces where owner_id = $1', [owner.id])
    t.same(names, [{ name: 'First' }], 'still only the first one')
  })

  await t.test('two concurrent creations: exactly one 201', async (t) => {
    // Threat: a check-then-insert race lets one user own several workspaces.
    const owner = await register(ctx)
    const results = await Promise.all([1, 2, 3].map((n) => create(owner, { name: `Race ${n}`, inviteCode: INVITE_CODE })))
    const statuses = results.map((r) => r.statusCode).sort()
    t.same(statuses, [201, 409, 409], results.map((r) => r.body).join('\n'))
    for (const r of results.filter((x) => x.statusCode === 409)) t.equal(r.json().code, 'workspace_limit_reached')
    t.equal(await ownedCount(owner), 1, 'one workspace in the database')
    const memberships = await ctx.sql('select 1 from memberships where user_id = $1', [owner.id])
    t.equal(memberships.length, 1, 'and one membership')
  })
})

t.test("GET /api/workspaces lists only the caller's workspaces", async (t) => {
  const alice = await register(ctx)
  const bob = await register(ctx)
  const aliceWs = await createWorkspace(ctx, alice, 'Alice Co')
  const bobWs = await createWorkspace(ctx, bob, 'Bob Co')
  await ctx.sql('insert into memberships (workspace_id, user_id, role) values ($1, $2, $3)', [bobWs, alice.id, 'agent'])
  await setWorkspaceState(ctx, bobWs, { status: 'active', trialDays: 14 })

  const res = await ctx.app.inject({ method: 'GET', url: '/api/workspaces', headers: as(alice) })
  t.equal(res.statusCode, 200)
  t.same(
    [...res.json().workspaces].sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)),
    [
      { id: aliceWs, name: 'Alice Co', role: 'owner', status: 'pending_approval' },
      { id: bobWs, name: 'Bob Co', role: 'agent', status: 'active' },
    ],
  )
  const bobs = await ctx.app.inject({ method: 'GET', url: '/api/workspaces', headers: as(bob) })
  t.same(bobs.json().workspaces, [{ id: bobWs, name: 'Bob Co', role: 'owner', status: 'active' }], "Bob does not see Alice's")
  const loner = await register(ctx)
  t.same((await ctx.app.inject({ method: 'GET', url: '/api/workspaces', headers: as(loner) })).json(), { workspaces: [] })
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/workspaces' }), 401, 'unauthenticated')
})

t.test('GET /api/workspace', async (t) => {
  const owner = await register(ctx)
  const workspaceId = await createWorkspace(ctx, owner, 'Current Co')
  const get = (headers: Record<string, string>) => ctx.app.inject({ method: 'GET', url: '/api/workspace', headers })

  await t.test('pending: no trial yet', async (t) => {
    const res = await get(as(owner, workspaceId))
    t.equal(res.statusCode, 200, res.body)
    t.same(res.json(), {
      workspace: {
        id: workspaceId,
        name: 'Current Co',
        status: 'pending_approval',
        statusReason: null,
        trial: { endsAt: null, daysLeft: null, expired: false },
        billing: { status: 'none' },
      },
    })
  })

  await t.test('active: the trial end, days left and not expired', async (t) => {
    await setWorkspaceState(ctx, workspaceId, { status: 'active', trialDays: 10 })
    const [row] = await ctx.sql<{ ends: Date }>('select trial_ends_at as ends from workspaces where id = $1', [workspaceId])
    const { workspace } = (await get(as(owner, workspaceId))).json()
    t.equal(workspace.status, 'active')
    t.same(workspace.trial, { endsAt: row!.ends.toISOString(), daysLeft: 10, expired: false })
  })

  await t.test('trial over: expired, 0 days left; an active subscription is not expired', async (t) => {
    await setWorkspaceState(ctx, workspaceId, { trialDays: -2 })
    const expired = (await get(as(owner, workspaceId))).json().workspace
    t.equal(expired.trial.expired, true)
    t.equal(expired.trial.daysLeft, 0)
    await setWorkspaceState(ctx, workspaceId, { billing: 'active' })
    const paid = (await get(as(owner, workspaceId))).json().workspace
    t.equal(paid.trial.expired, false)
    t.same(paid.billing, { status: 'active' })
  })

  await t.test('suspended: still answers, with the reason', async (t) => {
    await ctx.sql(`update workspaces set status = 'suspended', status_reason = 'unpaid invoices' where id = $1`, [workspaceId])
    const { workspace } = (await get(as(owner, workspaceId))).json()
    t.equal(workspace.status, 'suspended')
    t.equal(workspace.statusReason, 'unpaid invoices')
  })

  await t.test('another user gets 403 not_a_member; a missing header is 400', async (t) => {
    // Threat: a user reads another tenant's workspace by naming its id.
    const stranger = await register(ctx)
    assertError(t, await get(as(stranger, workspaceId)), 403, 'not_a_member')
    assertError(t, await get(as(owner)), 400, 'validation_failed')
    assertError(t, await get({ 'x-workspace-id': workspaceId }), 401, 'unauthenticated')
  })
})

t.test('GET /api/workspace/permissions: the catalogue, to any member', async (t) => {
  const owner = await register(ctx)
  const workspaceId = await createWorkspace(ctx, owner, 'Catalogue Co')
  const outsider = await register(ctx)
  const get = (actor: Actor, ws: string) => ctx.app.inject({ method: 'GET', url: '/api/workspace/permissions', headers: as(actor, ws) })
  const res = await get(owner, workspaceId)
  t.equal(res.statusCode, 200, 'answers in a pending workspace too (a read)')
  const permissions = res.json().permissions as Array<{ name: string; description: string }>
  t.ok(permissions.length >= 10)
  t.ok(permissions.every((p) => /^[a-z]+(_[a-z]+)*:[a-z]+(_[a-z]+)*$/.test(p.name) && p.description.length > 10), 'names and descriptions')
  t.ok(['contacts:read', 'members:manage', 'audit:read', 'billing:read'].every((n) => permissions.some((p) => p.name === n)))
  assertError(t, await get(outsider, workspaceId), 403, 'not_a_member')
})

t.test('a workspace name with control characters is refused (it goes into email subjects)', async (t) => {
  // Threat: a line break in a name becomes a header line in an invitation email.
  const owner = await register(ctx)
  assertError(t, await create(owner, { name: 'Acme\r\nBcc: victim@example.test', inviteCode: INVITE_CODE }), 400, 'validation_failed', /body\.name/)
  t.equal(await ownedCount(owner), 0)
})

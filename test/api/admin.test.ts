// Platform administration over HTTP: who is a platform admin, the workspace approval state
// machine (approve, reject, suspend, reinstate, trial), and what each state means for the owner.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { ADMIN_EMAIL, buildTestApp } from '../helpers/app.js'
import { PASSWORD, as, assertError, createWorkspace, enrolMfa, platformAdmin, register, sessionCookie, tokenFromEmail, totpCode, type Actor } from '../helpers/actors.js'

const PENDING_ADMIN = 'pending-admin@gatehouse.test'
const PASSWORD_ADMIN = 'password-admin@gatehouse.test'
const ctx = await buildTestApp(t, { TRIAL_DAYS: '7', PLATFORM_ADMIN_EMAILS: `${ADMIN_EMAIL}, ${PENDING_ADMIN.toUpperCase()}, ${PASSWORD_ADMIN}` })
const admin = await platformAdmin(ctx)

type Action = 'approve' | 'reject' | 'suspend' | 'reinstate' | 'trial'

function act(actor: Actor | null, id: string, action: Action, body?: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return ctx.app.inject({
    method: 'POST',
    url: `/api/admin/workspaces/${id}/${action}`,
    headers: actor ? as(actor) : {},
    ...(body ? { payload: body } : {}),
  })
}

function list(actor: Actor | null, query = ''): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method: 'GET', url: `/api/admin/workspaces${query}`, headers: actor ? as(actor) : {} })
}

/** A new owner with a pending workspace. */
async function pendingWorkspace(name = 'Acme'): Promise<{ owner: Actor; id: string }> {
  const owner = await register(ctx)
  return { owner, id: await createWorkspace(ctx, owner, name) }
}

/** The workspace row as the superuser sees it, for "changes nothing" comparisons. */
async function row(id: string) {
  const [r] = await ctx.sql(
    `select status, status_reason, trial_ends_at::text as trial_ends_at, approved_at::text as approved_at,
            updated_at::text as updated_at from workspaces where id = $1`,
    [id],
  )
  return r!
}

function writeContact(owner: Actor, id: string): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: as(owner, id), payload: { name: 'Probe' } })
}

t.test('who may administer', async (t) => {
  // Threat: an ordinary user, or someone who merely registered an admin's address, runs the platform.
  const { id } = await pendingWorkspace('Guarded')

  await t.test('unauthenticated → 401', async (t) => {
    assertError(t, await list(null), 401, 'unauthenticated')
    assertError(t, await act(null, id, 'approve'), 401, 'unauthenticated')
  })

  await t.test('a normal verified user → 403 forbidden', async (t) => {
    const user = await register(ctx)
    assertError(t, await list(user), 403, 'forbidden')
    assertError(t, await act(user, id, 'approve'), 403, 'forbidden')
    t.equal((await row(id)).status, 'pending_approval', 'nothing changed')
  })

  await t.test('an admin address not yet verified → 403, then admin once verified', async (t) => {
    const pending = await register(ctx, { email: PENDING_ADMIN, verified: false })
    const me = await ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: as(pending) })
    t.equal(me.json().user.isPlatformAdmin, false)
    assertError(t, await list(pending), 403, 'forbidden')
    assertError(t, await act(pending, id, 'approve'), 403, 'forbidden')
    t.equal((await row(id)).status, 'pending_approval', 'nothing changed')

    const token = await tokenFromEmail(ctx, PENDING_ADMIN)
    t.equal((await ctx.app.inject({ method: 'POST', url: '/api/auth/verify-email', headers: as(pending), payload: { token } })).statusCode, 200)
    assertError(t, await list(pending), 403, 'mfa_required')
    assertError(t, await act(pending, id, 'approve'), 403, 'mfa_required')
    t.equal((await row(id)).status, 'pending_approval', 'nothing changed')
    const enrolled = await enrolMfa(ctx, pending)
    t.equal((await list(enrolled)).statusCode, 200, 'verified, with a second factor: the rotated session administers')
    t.same(
      await ctx.sql(`select action, actor_user_id, entity_id, after from audit_log where action = 'platform.admin_granted' and entity_id = $1`, [pending.id]),
      [{ action: 'platform.admin_granted', actor_user_id: pending.id, entity_id: pending.id, after: { email: PENDING_ADMIN } }],
      'the grant is audited',
    )
    const again = await ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: as(enrolled) })
    t.equal(again.json().user.isPlatformAdmin, true)
  })

  await t.test('a platform admin needs a session signed in with a second factor', async (t) => {
    // Threat: a phished or reused password alone administers the platform.
    const byPassword = await register(ctx, { email: PASSWORD_ADMIN })
    const listAs = (actor: Actor) => ctx.app.inject({ method: 'GET', url: '/api/admin/workspaces', headers: as(actor) })
    const me = await ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: as(byPassword) })
    t.equal(me.json().user.isPlatformAdmin, true, 'an administrator')
    assertError(t, await listAs(byPassword), 403, 'mfa_required')
    const approve = await ctx.app.inject({ method: 'POST', url: `/api/admin/workspaces/${id}/approve`, headers: as(byPassword) })
    assertError(t, approve, 403, 'mfa_required')
    t.equal((await row(id)).status, 'pending_approval', 'nothing changed')

    const enrolled = await enrolMfa(ctx, byPassword)
    t.equal((await listAs(enrolled)).statusCode, 200, 'enabling MFA confirms the rotated session')
    // A later sign-in needs the code, and its session administers.
    const login = await ctx.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: PASSWORD_ADMIN, password: PASSWORD } })
    t.equal(login.json().mfaRequired, true)
    const done = await ctx.app.inject({
      method: 'POST', url: '/api/auth/login/mfa', payload: { mfaToken: login.json().mfaToken, code: totpCode(enrolled.secret, Date.now() + 30_000) },
    })
    t.equal(done.statusCode, 200, done.body)
    t.equal((await listAs({ ...enrolled, cookie: sessionCookie(done) })).statusCode, 200, 'an MFA sign-in administers')
  })

  await t.test('the configured admin is one', async (t) => {
    const me = await ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: as(admin) })
    t.equal(me.json().user.isPlatformAdmin, true)
  })
})

t.test('GET /api/admin/workspaces', async (t) => {
  const pending = await pendingWorkspace('List Pending')
  const approved = await pendingWorkspace('List Active')
  t.equal((await act(admin, approved.id, 'approve')).statusCode, 200)

  const all = await list(admin)
  t.equal(all.statusCode, 200)
  const byId = new Map(all.json().workspaces.map((w: { id: string }) => [w.id, w]))
  const p = byId.get(pending.id) as Record<string, unknown>
  t.ok(p, 'pending workspace listed')
  t.ok(byId.get(approved.id), 'active workspace listed')
  t.match(p, {
    id: pending.id,
    name: 'List Pending',
    status: 'pending_approval',
    statusReason: null,
    ownerId: pending.owner.id,
    ownerEmail: pending.owner.email,
    approvedAt: null,
    trial: { endsAt: null, daysLeft: null, expired: false },
    billing: { status: 'none' },
  })
  t.match(p.createdAt, /^\d{4}-\d\d-\d\dT/)

  const onlyPending = (await list(admin, '?status=pending_approval')).json().workspaces as { id: string; status: string }[]
  t.ok(onlyPending.some((w) => w.id === pending.id))
  t.notOk(onlyPending.some((w) => w.id === approved.id), 'the active one is filtered out')
  t.ok(onlyPending.every((w) => w.status === 'pending_approval'))
  const onlyActive = (await list(admin, '?status=active')).json().workspaces as { id: string; status: string }[]
  t.same(onlyActive.map((w) => w.status).filter((s) => s !== 'active'), [])
  t.ok(onlyActive.some((w) => w.id === approved.id))

  assertError(t, await list(admin, '?status=deleted'), 400, 'validation_failed')
})

t.test('approve starts a TRIAL_DAYS trial', async (t) => {
  const { owner, id } = await pendingWorkspace('Approve Me')
  assertError(t, await writeContact(owner, id), 403, 'workspace_pending_approval')
  const res = await act(admin, id, 'approve')
  t.equal(res.statusCode, 200, res.body)
  const { workspace } = res.json()
  t.equal(workspace.status, 'active')
  t.equal(workspace.statusReason, null)
  t.equal(workspace.trial.daysLeft, 7, 'TRIAL_DAYS=7')
  t.equal(workspace.trial.expired, false)
  t.match(workspace.approvedAt, /^\d{4}-/)
  const [db] = await ctx.sql<{ days: number }>(
    `select round(extract(epoch from trial_ends_at - approved_at) / 86400)::int as days from workspaces where id = $1`,
    [id],
  )
  t.equal(db!.days, 7, 'trial_ends_at is 7 days after approval in the database')
  const view = await ctx.app.inject({ method: 'GET', url: '/api/workspace', headers: as(owner, id) })
  t.equal(view.json().workspace.trial.daysLeft, 7, "the owner's view agrees")
  t.equal((await writeContact(owner, id)).statusCode, 201, 'the owner can now write')
})

t.test('reject needs a reason', async (t) => {
  const { owner, id } = await pendingWorkspace('Reject Me')
  const before = await row(id)
  assertError(t, await act(admin, id, 'reject'), 400, 'validation_failed')
  assertError(t, await act(admin, id, 'reject', {}), 400, 'validation_failed')
  assertError(t, await act(admin, id, 'reject', { reason: '   ' }), 400, 'validation_failed')
  t.same(await row(id), before, 'nothing changed')

  const res = await act(admin, id, 'reject', { reason: 'Not a real business' })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().workspace.status, 'rejected')
  t.equal(res.json().workspace.statusReason, 'Not a real business')
  assertError(t, await writeContact(owner, id), 403, 'workspace_rejected')
  const view = await ctx.app.inject({ method: 'GET', url: '/api/workspace', headers: as(owner, id) })
  t.equal(view.json().workspace.statusReason, 'Not a real business', 'the owner can see why')
})

t.test('suspend (with a reason), then reinstate', async (t) => {
  // Threat: a suspended tenant keeps writing data through the API.
  const { owner, id } = await pendingWorkspace('Suspend Me')
  t.equal((await act(admin, id, 'approve')).statusCode, 200)
  t.equal((await writeContact(owner, id)).statusCode, 201)

  const before = await row(id)
  assertError(t, await act(admin, id, 'suspend'), 400, 'validation_failed')
  assertError(t, await act(admin, id, 'suspend', { reason: '' }), 400, 'validation_failed')
  t.same(await row(id), before, 'nothing changed without a reason')

  const res = await act(admin, id, 'suspend', { reason: 'Chargebacks' })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().workspace.status, 'suspended')
  t.equal(res.json().workspace.statusReason, 'Chargebacks')

  const contactsBefore = await ctx.sql('select id from contacts where workspace_id = $1', [id])
  assertError(t, await writeContact(owner, id), 403, 'workspace_suspended')
  const read = await ctx.app.inject({ method: 'GET', url: '/api/crm/contacts', headers: as(owner, id) })
  assertError(t, read, 403, 'workspace_suspended')
  t.same(await ctx.sql('select id from contacts where workspace_id = $1', [id]), contactsBefore, 'no contact was written')

  const back = await act(admin, id, 'reinstate')
  t.equal(back.statusCode, 200, back.body)
  t.equal(back.json().workspace.status, 'active')
  t.equal(back.json().workspace.statusReason, null, 'the reason is cleared')
  t.equal((await writeContact(owner, id)).statusCode, 201, 'writes work again')
})

t.test('trial: extend, then end', async (t) => {
  const { owner, id } = await pendingWorkspace('Trial Me')
  t.equal((await act(admin, id, 'approve')).statusCode, 200)

  const later = new Date(Date.now() + 30 * 24 * 3600 * 1000)
  const extended = await act(admin, id, 'trial', { endsAt: later.toISOString() })
  t.equal(extended.statusCode, 200, extended.body)
  t.equal(extended.json().workspace.trial.endsAt, later.toISOString())
  t.equal(extended.json().workspace.trial.daysLeft, 30)
  t.equal(extended.json().workspace.status, 'active', 'the status is kept')
  const [db] = await ctx.sql<{ ends: Date }>('select trial_ends_at as ends from workspaces where id = $1', [id])
  t.equal(db!.ends.toISOString(), later.toISOString(), 'stored')

  const past = new Date(Date.now() - 60_000)
  const ended = await act(admin, id, 'trial', { endsAt: past.toISOString() })
  t.equal(ended.statusCode, 200)
  t.same(ended.json().workspace.trial, { endsAt: past.toISOString(), daysLeft: 0, expired: true })
  assertError(t, await writeContact(owner, id), 402, 'trial_expired')

  assertError(t, await act(admin, id, 'trial', {}), 400, 'validation_failed')
  assertError(t, await act(admin, id, 'trial', { endsAt: 'next tuesday' }), 400, 'validation_failed')
})

t.test('invalid transitions → 409 conflict and change nothing', async (t) => {
  // Threat: an out-of-order admin action (or a raced one) silently reopens a rejected tenant.
  const rejected = await pendingWorkspace('Was Rejected')
  t.equal((await act(admin, rejected.id, 'reject', { reason: 'spam' })).statusCode, 200)
  const pending = await pendingWorkspace('Still Pending')
  const active = await pendingWorkspace('Already Active')
  t.equal((await act(admin, active.id, 'approve')).statusCode, 200)

  const cases: [string, string, Action, Record<string, unknown> | undefined][] = [
    ['approve a rejected one', rejected.id, 'approve', undefined],
    ['reinstate a rejected one', rejected.id, 'reinstate', undefined],
    ['suspend a pending one', pending.id, 'suspend', { reason: 'why not' }],
    ['reinstate a pending one', pending.id, 'reinstate', undefined],
    ['trial on a pending one', pending.id, 'trial', { endsAt: new Date(Date.now() + 86400_000).toISOString() }],
    ['reinstate an active one', active.id, 'reinstate', undefined],
    ['approve an active one', active.id, 'approve', undefined],
    ['reject an active one', active.id, 'reject', { reason: 'too late' }],
  ]
  for (const [name, id, action, body] of cases) {
    const before = await row(id)
    const res = await act(admin, id, action, body)
    assertError(t, res, 409, 'conflict', /Cannot/)
    t.same(await row(id), before, `${name}: nothing changed`)
  }
})

t.test('an unknown workspace id → 404; a malformed one → 400', async (t) => {
  assertError(t, await act(admin, randomUUID(), 'approve'), 404, 'not_found')
  assertError(t, await act(admin, randomUUID(), 'suspend', { reason: 'x' }), 404, 'not_found')
  assertError(t, await act(admin, 'not-a-uuid', 'approve'), 400, 'validation_failed')
})

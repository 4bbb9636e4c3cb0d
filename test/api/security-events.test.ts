// Refused attempts leave a record (sql/060, src/plugins/security-events.ts): a wrong password, a
// bad token, a request into another tenant's workspace, a forbidden action, a CSRF refusal and a
// rate limit, each recorded after its request rolled back, with who, against whom, the workspace
// named and where from; platform administrators read every event, a workspace's owners their own.
import t from 'tap'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, activeTenant, addMember, as, assertError, enrolMfa, platformAdmin, register, type Actor } from '../helpers/actors.js'

const clock = { now: Date.now() }
const ctx = await buildTestApp(t, { RATE_LIMIT_INVITE_ACCEPT_IP: '2/15m', CORS_ORIGINS: 'https://app.example.test' }, { clock: () => clock.now })
const admin = await platformAdmin(ctx, { at: clock.now })

interface EventJson {
  id: string; at: string; code: string; method: string; route: string; userId: string | null; targetUserId: string | null
  workspaceId: string | null; ip: string | null; userAgent: string | null; requestId: string | null
}

/** Sends a request, then waits until its security event (if any) is written. */
async function send(opts: InjectOptions): Promise<LightMyRequestResponse> {
  const res = await ctx.app.inject(opts)
  await ctx.app.securityEvents.settled()
  return res
}

async function adminEvents(query = ''): Promise<{ events: EventJson[]; nextCursor: string | null }> {
  const res = await ctx.app.inject({ method: 'GET', url: `/api/admin/security-events${query}`, headers: as(admin) })
  if (res.statusCode !== 200) throw new Error(`admin events: ${res.statusCode} ${res.body}`)
  return res.json()
}

t.test('a wrong password is recorded against the account, though its request rolled back', async (t) => {
  // Threat: a password sprayer works through accounts and nobody can see it.
  const victim = await register(ctx)
  const res = await send({ method: 'POST', url: '/api/auth/login', payload: { email: victim.email.toUpperCase(), password: 'not the password' }, headers: { 'user-agent': 'Sprayer/1.0' } })
  assertError(t, res, 401, 'invalid_credentials')
  const events = (await adminEvents('?limit=100')).events.filter((e) => e.targetUserId === victim.id)
  t.equal(events.length, 1, 'one event')
  t.match(events[0], {
    code: 'invalid_credentials', method: 'POST', route: '/api/auth/login', userId: null, targetUserId: victim.id,
    workspaceId: null, ip: '127.0.0.1', userAgent: 'Sprayer/1.0',
  })
  t.notOk(JSON.stringify(events[0]).includes('not the password'), 'the guess is not stored')
  const audit = await ctx.sql(`select 1 from audit_log where action like 'auth.login%' and (actor_user_id = $1 or entity_id = $1::text)`, [victim.id])
  t.equal(audit.length, 0, 'the audit log holds nothing of it: the refusal rolled back there')
})

t.test('a wrong MFA code is recorded against the account behind the challenge', async (t) => {
  // Threat: someone who has the password guesses the second factor, unseen.
  const user = await enrolMfa(ctx, await register(ctx), clock.now)
  const login = await ctx.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: PASSWORD } })
  const res = await send({ method: 'POST', url: '/api/auth/login/mfa', payload: { mfaToken: login.json().mfaToken, code: '000000' } })
  assertError(t, res, 401, 'invalid_mfa_code')
  const events = (await adminEvents('?limit=100')).events.filter((e) => e.code === 'invalid_mfa_code')
  t.match(events[0], { targetUserId: user.id, userId: null, route: '/api/auth/login/mfa' })
})

t.test('a request into another tenant, a forbidden action and a bad token are recorded with who made them', async (t) => {
  // Threat: a signed-in user probes other tenants' ids or their own role's limits, unnoticed.
  const a = await activeTenant(ctx, 'Prober')
  const b = await activeTenant(ctx, 'Target')
  const probe = await send({ method: 'GET', url: '/api/crm/contacts', headers: as(a.owner, b.workspaceId) })
  assertError(t, probe, 403, 'not_a_member')
  const viewer = await register(ctx)
  await addMember(ctx, b.workspaceId, viewer, 'viewer')
  const denied = await send({ method: 'POST', url: '/api/crm/contacts', headers: as(viewer, b.workspaceId), payload: { name: 'Nope' } })
  assertError(t, denied, 403, 'forbidden')
  const badToken = await send({ method: 'POST', url: '/api/auth/verify-email', headers: as(a.owner), payload: { token: 'A'.repeat(43) } })
  assertError(t, badToken, 400, 'invalid_token')

  const events = (await adminEvents('?limit=100')).events
  t.match(events.find((e) => e.code === 'not_a_member' && e.userId === a.owner.id), {
    route: '/api/crm/contacts', method: 'GET', workspaceId: b.workspaceId,
  }, 'the prober, and the workspace they named')
  t.match(events.find((e) => e.code === 'forbidden' && e.userId === viewer.id), { route: '/api/crm/contacts', method: 'POST', workspaceId: b.workspaceId })
  t.match(events.find((e) => e.code === 'invalid_token' && e.userId === a.owner.id), { route: '/api/auth/verify-email', workspaceId: null })

  // B's owner sees what named B; A's owner does not; B's admin may not read them (owners only).
  const forB = await ctx.app.inject({ method: 'GET', url: '/api/workspace/security-events', headers: as(b.owner, b.workspaceId) })
  t.equal(forB.statusCode, 200, forB.body)
  const seenByB = forB.json<{ events: EventJson[] }>().events
  t.same(seenByB.map((e) => e.code).sort(), ['forbidden', 'not_a_member'])
  t.ok(seenByB.every((e) => e.workspaceId === b.workspaceId))
  const forA = await ctx.app.inject({ method: 'GET', url: '/api/workspace/security-events', headers: as(a.owner, a.workspaceId) })
  t.same(forA.json().events, [], "A's owner sees nothing of B's")
  const bAdmin = await register(ctx)
  await addMember(ctx, b.workspaceId, bAdmin, 'admin')
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/workspace/security-events', headers: as(bAdmin, b.workspaceId) }), 403, 'forbidden')
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/workspace/security-events', headers: as(a.owner, b.workspaceId) }), 403, 'not_a_member')
})

t.test('a CSRF refusal and a rate limit are recorded; an ordinary user reads no security events', async (t) => {
  // Threat: a cross-site attack or a flood goes unseen.
  const { owner, workspaceId } = await activeTenant(ctx, 'Csrf')
  const csrf = await send({
    method: 'POST', url: '/api/crm/contacts', headers: { ...as(owner, workspaceId), origin: 'https://evil.example' }, payload: { name: 'Forged' },
  })
  assertError(t, csrf, 403, 'csrf_rejected')
  const answers: number[] = []
  for (let i = 0; i < 3; i++) {
    answers.push((await send({ method: 'POST', url: '/api/invites/accept', headers: { ...as(owner), 'x-forwarded-for': '203.0.113.9' }, payload: { token: 'A'.repeat(43) } })).statusCode)
  }
  t.equal(answers.at(-1), 429)
  const events = (await adminEvents('?limit=100')).events
  t.match(events.find((e) => e.code === 'csrf_rejected'), { userId: owner.id, workspaceId, route: '/api/crm/contacts' })
  t.match(events.find((e) => e.code === 'rate_limited'), { route: '/api/invites/accept', ip: '127.0.0.1' }, 'the peer address, not a forged header')

  const user: Actor = await register(ctx)
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/admin/security-events', headers: as(user) }), 403, 'forbidden')
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/admin/security-events' }), 401, 'unauthenticated')
})

t.test("a stolen cookie replayed after its owner signed out is recorded against the owner; a signed-out visitor is not", async (t) => {
  // Threat: a thief keeps trying a cookie the owner already revoked, unseen.
  const victim = await register(ctx)
  const stolen = victim.cookie
  t.equal((await send({ method: 'POST', url: '/api/auth/logout', headers: { cookie: stolen } })).statusCode, 204)
  assertError(t, await send({ method: 'GET', url: '/api/auth/me', headers: { cookie: stolen, 'user-agent': 'Thief/1.0' } }), 401, 'unauthenticated')
  assertError(t, await send({ method: 'GET', url: '/api/auth/me', headers: { 'user-agent': 'Visitor/1.0' } }), 401, 'unauthenticated')
  const events = (await adminEvents('?limit=100')).events.filter((e) => e.code === 'unauthenticated')
  t.same(events.map((e) => [e.userAgent, e.targetUserId, e.userId]), [['Thief/1.0', victim.id, null]], 'only the replayed cookie, naming whose it was')
})

t.test('a flood is recorded up to 60 events a minute per address, then again the next minute', async (t) => {
  // Threat: a flood of refused requests fills the disk, or costs a statement each.
  clock.now += 3_600_000
  const count = async () => (await ctx.sql<{ n: number }>(`select count(*)::int as n from security_events where route = '/api/auth/login' and user_agent = 'Flood/1.0'`))[0]!.n
  const attempt = () => send({ method: 'POST', url: '/api/auth/login', payload: { email: 'nobody@example.test', password: 'wrong password!' }, headers: { 'user-agent': 'Flood/1.0' } })
  const before = await count()
  for (let i = 0; i < 70; i++) assertError(t, await attempt(), 401, 'invalid_credentials')
  const recorded = await count()
  t.ok(recorded - before <= 60, `at most 60 recorded in a minute (${recorded - before})`)
  t.ok(recorded - before >= 40, 'but the flood is visible')
  clock.now += 60_000
  await attempt()
  t.ok((await count()) <= recorded + 1, 'the next minute records again, within the database cap')
})

t.test('pages of events, newest first', async (t) => {
  const first = await adminEvents('?limit=2')
  t.equal(first.events.length, 2)
  t.ok(first.nextCursor)
  const second = await adminEvents(`?limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`)
  t.ok(second.events.length > 0)
  t.notOk(second.events.some((e) => first.events.some((f) => f.id === e.id)), 'no overlap')
  t.ok(Date.parse(first.events[1]!.at) >= Date.parse(second.events[0]!.at), 'newest first across pages')
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/admin/security-events?cursor=garbage', headers: as(admin) }), 400, 'validation_failed')
})

// Issue 10's "done when", played through HTTP: a squatter, a thief holding a cookie, a password
// sprayer and a noisy attacker each fail, and each attempt leaves a record a platform admin can
// read (GET /api/admin/security-events, and the audit log for what did happen).
import t from 'tap'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, activeTenant, as, assertError, platformAdmin, register, sessionCookie, tokenFromEmail, uniqueEmail } from '../helpers/actors.js'

const ctx = await buildTestApp(t, { RATE_LIMIT_LOGIN_IP: '20/15m', RATE_LIMIT_LOGIN_ACCOUNT: '3/15m' })
const admin = await platformAdmin(ctx)

async function send(opts: InjectOptions): Promise<LightMyRequestResponse> {
  const res = await ctx.app.inject(opts)
  await ctx.app.securityEvents.settled()
  return res
}

interface EventJson { code: string; route: string; userId: string | null; targetUserId: string | null; workspaceId: string | null; userAgent: string | null }

async function eventsBy(userAgent: string): Promise<EventJson[]> {
  const res = await ctx.app.inject({ method: 'GET', url: '/api/admin/security-events?limit=100', headers: as(admin) })
  t.equal(res.statusCode, 200, res.body)
  return res.json<{ events: EventJson[] }>().events.filter((e) => e.userAgent === userAgent)
}

t.test('a squatter who registered the owner\'s address loses the account and leaves a trail', async (t) => {
  const address = uniqueEmail('owner')
  const squatter = await register(ctx, { email: address, verified: false })
  const ua = { 'user-agent': 'Squatter/1.0' }
  // The owner receives the verification link but, signed in to an account of their own, cannot
  // verify the squatter's account with it: the link proves the address, not the account.
  const link = await tokenFromEmail(ctx, address)
  const ownersOther = await register(ctx)
  assertError(t, await send({ method: 'POST', url: '/api/auth/verify-email', headers: as(ownersOther), payload: { token: link } }), 403, 'forbidden')
  // The owner takes the address back with a reset, which verifies it and signs every session out.
  t.equal((await send({ method: 'POST', url: '/api/auth/forgot-password', payload: { email: address } })).statusCode, 202)
  const reset = await send({ method: 'POST', url: '/api/auth/reset-password', payload: { token: await tokenFromEmail(ctx, address), password: 'the real owner passphrase' } })
  t.equal(reset.statusCode, 200, reset.body)
  assertError(t, await send({ method: 'GET', url: '/api/auth/me', headers: { ...as(squatter), ...ua } }), 401, 'unauthenticated')
  assertError(t, await send({ method: 'POST', url: '/api/auth/login', headers: ua, payload: { email: address, password: PASSWORD } }), 401, 'invalid_credentials')
  const owner = await send({ method: 'POST', url: '/api/auth/login', payload: { email: address, password: 'the real owner passphrase' } })
  t.equal(owner.json().user?.emailVerified, true, 'the owner holds the verified account')

  const events = await eventsBy('Squatter/1.0')
  t.same(events.map((e) => [e.code, e.targetUserId]).sort(), [['invalid_credentials', squatter.id], ['unauthenticated', squatter.id]].sort(),
    "the squatter's dead cookie and password guess, both against the account")
})

t.test('a thief holding a cookie cannot enrol MFA, change the password, or keep the session', async (t) => {
  const victim = await register(ctx)
  const thief = { ...as(victim), 'user-agent': 'Thief/1.0' }
  assertError(t, await send({ method: 'POST', url: '/api/settings/security/mfa/setup', headers: thief, payload: { password: 'a guessed password' } }), 401, 'invalid_credentials')
  assertError(t, await send({
    method: 'POST', url: '/api/settings/security/password', headers: thief, payload: { currentPassword: 'another guess!!', newPassword: 'the thief passphrase' },
  }), 401, 'invalid_credentials')
  // The victim, from another browser, signs every other session out.
  const fresh = sessionCookie(await send({ method: 'POST', url: '/api/auth/login', payload: { email: victim.email, password: PASSWORD } }))
  t.equal((await send({ method: 'DELETE', url: '/api/auth/sessions', headers: { cookie: fresh } })).statusCode, 204)
  assertError(t, await send({ method: 'GET', url: '/api/auth/me', headers: thief }), 401, 'unauthenticated')

  const events = await eventsBy('Thief/1.0')
  t.same(events.map((e) => e.code).sort(), ['invalid_credentials', 'invalid_credentials', 'unauthenticated'])
  t.ok(events.every((e) => e.userId === victim.id || e.targetUserId === victim.id), "each names the victim's account")
})

t.test('a password sprayer runs out, and each guess is on record against its account', async (t) => {
  const victims = [await register(ctx), await register(ctx), await register(ctx)]
  const ua = { 'user-agent': 'Sprayer/1.0' }
  for (const v of victims) {
    assertError(t, await send({ method: 'POST', url: '/api/auth/login', headers: ua, payload: { email: v.email, password: 'password1234' } }), 401, 'invalid_credentials')
  }
  const target = victims[0]!
  for (let i = 0; i < 2; i++) await send({ method: 'POST', url: '/api/auth/login', headers: ua, payload: { email: target.email, password: `Spring2026!${i}` } })
  const locked = await send({ method: 'POST', url: '/api/auth/login', headers: ua, payload: { email: target.email, password: PASSWORD } })
  assertError(t, locked, 429, 'rate_limited') // the right password, from the sprayer's side: still refused
  const events = await eventsBy('Sprayer/1.0')
  t.same(new Set(events.filter((e) => e.code === 'invalid_credentials').map((e) => e.targetUserId)), new Set(victims.map((v) => v.id)), 'every account tried')
  t.ok(events.some((e) => e.code === 'rate_limited'), 'and the refusal past the budget')
})

t.test('a noisy attacker probing tenants and forging requests is on record', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'Noisy target')
  const attacker = await register(ctx)
  const ua = { 'user-agent': 'Noisy/1.0' }
  assertError(t, await send({ method: 'GET', url: '/api/crm/contacts', headers: { ...as(attacker, workspaceId), ...ua } }), 403, 'not_a_member')
  assertError(t, await send({
    method: 'POST', url: '/api/crm/contacts', headers: { ...as(owner, workspaceId), ...ua, origin: 'https://evil.example' }, payload: { name: 'Forged' },
  }), 403, 'csrf_rejected')
  assertError(t, await send({ method: 'GET', url: '/api/admin/workspaces', headers: { ...as(attacker), ...ua } }), 403, 'forbidden')
  const events = await eventsBy('Noisy/1.0')
  t.same(events.map((e) => e.code).sort(), ['csrf_rejected', 'forbidden', 'not_a_member'])
  t.ok(events.filter((e) => e.code !== 'forbidden').every((e) => e.workspaceId === workspaceId), 'naming the workspace probed')
  const forOwner = await ctx.app.inject({ method: 'GET', url: '/api/workspace/security-events', headers: as(owner, workspaceId) })
  t.same(forOwner.json<{ events: EventJson[] }>().events.map((e) => e.code).sort(), ['csrf_rejected', 'not_a_member'], "and the workspace's owner sees what named it")
})

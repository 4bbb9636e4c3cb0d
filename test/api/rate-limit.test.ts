// Rate limits over HTTP (API.md 429 `rate_limited`, DESIGN.md "Rate limits"): the PostgreSQL
// store, sliding windows on an injected clock (no sleeps), per-IP and per-account budgets, several
// instances on one database, the sweep, and the failure policy.
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp, type TestContext } from '../helpers/app.js'
import { type TestDatabase } from '../helpers/db.js'
import { PASSWORD, assertError, register, uniqueEmail } from '../helpers/actors.js'

type Tap = Test

// A window start, so the elapsed fraction of the window is exactly what each test sets. In the
// past: the database caps the sweep's clock at its own now().
const T0 = Date.UTC(2020, 0, 1)
const MINUTE = 60_000

interface Instance extends TestContext {
  logs: string[]
}

/** An app on `db` (a fresh one when absent) with its own clock reading `clock.now`. */
async function instance(t: Tap, env: Record<string, string>, clock: { now: number }, db?: TestDatabase): Promise<Instance> {
  const logs: string[] = []
  const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) }))
  const ctx = await buildTestApp(t, env, { clock: () => clock.now, rateLimitSweepMs: 0, logger, db })
  return { ...ctx, logs }
}

function login(ctx: Instance, ip: string, email: string, password = 'wrong password, surely'): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: ip, payload: { email, password } })
}

function assertLimited(t: Tap, res: LightMyRequestResponse): number {
  assertError(t, res, 429, 'rate_limited')
  const retryAfter = Number(res.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After is whole seconds ≥ 1 (${res.headers['retry-after']})`)
  return retryAfter
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

t.test('per-IP limits trip with 429 and Retry-After, and the window slides', async (t) => {
  // Threat: one client floods sign-up or sign-in (account farming, password spraying) from one address.
  const clock = { now: T0 }
  const ctx = await instance(t, { RATE_LIMIT_REGISTER_IP: '2/1m', RATE_LIMIT_LOGIN_IP: '3/1m' }, clock)

  await t.test('register: the third sign-up from one IP is refused', async (t) => {
    for (let i = 0; i < 2; i++) {
      const res = await ctx.app.inject({ method: 'POST', url: '/api/auth/register', remoteAddress: '10.1.0.1', payload: { email: uniqueEmail('ip'), password: PASSWORD, name: 'N' } })
      t.equal(res.statusCode, 201, res.body)
    }
    const res = await ctx.app.inject({ method: 'POST', url: '/api/auth/register', remoteAddress: '10.1.0.1', payload: { email: uniqueEmail('ip'), password: PASSWORD, name: 'N' } })
    assertLimited(t, res)
    const other = await ctx.app.inject({ method: 'POST', url: '/api/auth/register', remoteAddress: '10.1.0.2', payload: { email: uniqueEmail('ip'), password: PASSWORD, name: 'N' } })
    t.equal(other.statusCode, 201, 'another IP has its own budget')
  })

  await t.test('login: refused past the limit; the previous window still weighs, then decays', async (t) => {
    clock.now = T0
    for (const ip of ['10.2.0.1', '10.2.0.2']) {
      for (let i = 0; i < 3; i++) t.equal((await login(ctx, ip, uniqueEmail())).statusCode, 401)
      const retry = assertLimited(t, await login(ctx, ip, uniqueEmail()))
      // 4 hits in this window: in the next one, 1 + 4 × (1 − f) ≤ 3 once f ≥ ½, i.e. at 90 s.
      t.equal(retry, 90, 'Retry-After says when one more request fits')
    }
    // Just past the window boundary a fixed window would have reset; the sliding one has not.
    clock.now = T0 + MINUTE + 1000
    assertLimited(t, await login(ctx, '10.2.0.1', uniqueEmail()))
    // At the time Retry-After named, the other client is let through again.
    clock.now = T0 + 90_000
    t.equal((await login(ctx, '10.2.0.2', uniqueEmail())).statusCode, 401, 'allowed again once the estimate decays')
  })

  await t.test('IPv6 addresses in one /64 share a budget; another /64 does not', async (t) => {
    clock.now = T0 + 10 * MINUTE
    for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2::ffff', '2001:db8:1:2:abcd:1:2:3']) {
      t.equal((await login(ctx, ip, uniqueEmail())).statusCode, 401, ip)
    }
    assertLimited(t, await login(ctx, '2001:db8:1:2:ffff::9', uniqueEmail()))
    t.equal((await login(ctx, '2001:db8:1:3::1', uniqueEmail())).statusCode, 401, 'the next /64 is another client')
    const keys = await ctx.sql<{ key: string }>(`select key from rate_limits where key like 'login_ip:2001%' order by key`)
    t.same(keys.map((k) => k.key), ['login_ip:2001:db8:1:2::', 'login_ip:2001:db8:1:3::'], 'counters keyed by the /64')
  })
})

t.test('per-account login throttling', async (t) => {
  // Threat: a distributed attacker guesses one account's password from many addresses, under every per-IP limit.
  const clock = { now: T0 }
  const ctx = await instance(t, { RATE_LIMIT_LOGIN_ACCOUNT: '3/15m' }, clock)
  const victim = await register(ctx, { verified: false })
  const bystander = await register(ctx, { verified: false })

  await t.test('failures from different IPs share the account budget', async (t) => {
    for (let i = 1; i <= 3; i++) t.equal((await login(ctx, `198.51.100.${i}`, victim.email)).statusCode, 401)
    assertLimited(t, await login(ctx, '198.51.100.50', victim.email))
    // Even the right password is refused while locked: the guesser learns nothing.
    assertLimited(t, await login(ctx, '198.51.100.51', ` ${victim.email.toUpperCase()} `, PASSWORD))
    t.equal((await login(ctx, '198.51.100.1', bystander.email, PASSWORD)).statusCode, 200, 'another account from the same IPs is unaffected')
  })

  await t.test('tripping the limit is audited, with the email hash and never the email', async (t) => {
    const rows = await ctx.sql<{ entity_type: string; entity_id: string; workspace_id: string | null; after: { emailHash: string }; row: string }>(
      `select entity_type, entity_id, workspace_id, after, to_jsonb(a)::text as row from audit_log a where action = 'auth.login_throttled'`,
    )
    t.equal(rows.length, 1, 'one event for the lockout', { logs: ctx.logs })
    t.equal(rows[0]!.entity_type, 'user')
    t.equal(rows[0]!.entity_id, victim.id)
    t.equal(rows[0]!.after.emailHash, sha256(victim.email), 'the counter key, a hash')
    t.equal(rows[0]!.workspace_id, null, 'a platform event')
    t.notMatch(rows[0]!.row, victim.email, 'no raw email in the audit row')
    const keys = await ctx.sql<{ key: string }>(`select key from rate_limits where key like 'login_account:%'`)
    t.ok(keys.length > 0 && keys.every((k) => !k.key.includes('@')), 'no raw email in the counters')
  })

  await t.test('the window slides for accounts too', async (t) => {
    clock.now = T0 + 30 * MINUTE
    t.equal((await login(ctx, '198.51.100.9', victim.email, PASSWORD)).statusCode, 200, 'two windows later the owner signs in')
  })

  await t.test('a successful login does not consume the account budget', async (t) => {
    clock.now = T0 + 60 * MINUTE
    const user = await register(ctx, { verified: false })
    t.equal((await login(ctx, '203.0.113.1', user.email)).statusCode, 401)
    t.equal((await login(ctx, '203.0.113.1', user.email)).statusCode, 401)
    for (let i = 0; i < 5; i++) t.equal((await login(ctx, '203.0.113.2', user.email, PASSWORD)).statusCode, 200)
    t.equal((await login(ctx, '203.0.113.1', user.email)).statusCode, 401, 'the third failure is still within the budget')
    assertLimited(t, await login(ctx, '203.0.113.1', user.email))
  })

  await t.test('parallel guesses cannot overrun the budget', async (t) => {
    clock.now = T0 + 120 * MINUTE
    const user = await register(ctx, { verified: false })
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => login(ctx, `192.0.2.${i + 1}`, user.email)))
    t.equal(answers.filter((r) => r.statusCode === 401).length, 3, 'exactly the budget was checked')
    t.equal(answers.filter((r) => r.statusCode === 429).length, 5, 'the rest refused')
  })
})

t.test('verification resend and forgot-password limits', async (t) => {
  // Threat: a caller uses the service to flood an inbox with verification or reset emails.
  const clock = { now: T0 }
  const ctx = await instance(t, { RATE_LIMIT_VERIFY_RESEND: '2/1h', RATE_LIMIT_FORGOT_PASSWORD_ACCOUNT: '2/1h' }, clock)

  await t.test('resend is limited per user, not per IP', async (t) => {
    const a = await register(ctx, { verified: false })
    const b = await register(ctx, { verified: false })
    const resend = (cookie: string) => ctx.app.inject({ method: 'POST', url: '/api/auth/verify-email/resend', headers: { cookie }, payload: {} })
    t.equal((await resend(a.cookie)).statusCode, 202)
    t.equal((await resend(a.cookie)).statusCode, 202)
    assertLimited(t, await resend(a.cookie))
    t.equal((await resend(b.cookie)).statusCode, 202, 'another user from the same IP is unaffected')
  })

  await t.test('forgot-password is limited per email, alike for unknown ones', async (t) => {
    const forgot = (email: string, ip: string) => ctx.app.inject({ method: 'POST', url: '/api/auth/forgot-password', remoteAddress: ip, payload: { email } })
    const known = await register(ctx, { verified: true })
    const unknown = uniqueEmail('nobody')
    for (const email of [known.email, unknown]) {
      t.equal((await forgot(email, '10.9.0.1')).statusCode, 202)
      t.equal((await forgot(email, '10.9.0.2')).statusCode, 202)
      assertLimited(t, await forgot(email, '10.9.0.3'))
    }
  })
})

t.test('two instances on one database share their counters', async (t) => {
  // Threat: an attacker spreads requests over the instances behind a load balancer to multiply the budget.
  const clock = { now: T0 }
  const a = await instance(t, { RATE_LIMIT_LOGIN_IP: '3/1m' }, clock)
  const b = await instance(t, { RATE_LIMIT_LOGIN_IP: '3/1m' }, clock, a.db)
  t.equal((await login(a, '10.3.0.1', uniqueEmail())).statusCode, 401)
  t.equal((await login(b, '10.3.0.1', uniqueEmail())).statusCode, 401)
  t.equal((await login(a, '10.3.0.1', uniqueEmail())).statusCode, 401)
  assertLimited(t, await login(b, '10.3.0.1', uniqueEmail()))
  assertLimited(t, await login(a, '10.3.0.1', uniqueEmail()))

  await t.test('the sweep deletes expired counters only', async (t) => {
    // Three hours on, every counter above (1 min and 1 h windows) has expired.
    clock.now = T0 + 180 * MINUTE
    t.equal((await login(a, '10.3.0.2', uniqueEmail())).statusCode, 401, 'fresh counters')
    const before = await a.sql<{ n: number }>(`select count(*)::int as n from rate_limits`)
    const deleted = await b.app.rateLimits.sweep()
    const left = await a.sql<{ key: string; expired: boolean }>(`select key, expires_at <= $1 as expired from rate_limits order by key`, [new Date(clock.now)])
    t.ok(deleted > 0, `expired rows deleted (${deleted})`)
    t.equal(deleted + left.length, before[0]!.n, 'nothing else deleted')
    t.same(left.map((r) => r.key.split(':')[0]), ['login_account', 'login_ip'], 'the live counters kept')
    t.ok(left.every((r) => !r.expired), 'no expired row left')
    t.equal(await b.app.rateLimits.sweep(), 0, 'a second sweep finds nothing')
  })

  await t.test('the runtime role reaches the counters only through the functions', async (t) => {
    // Threat: an injected runtime query reads client IPs from the counters or wipes them to reset every limit.
    for (const statement of ['select * from rate_limits', 'delete from rate_limits', `update rate_limits set count = 0`]) {
      await t.rejects(a.pools.runtime.query(statement), { code: '42501' }, statement)
    }
  })
})

t.test('failure policy: a broken limiter never lets a request through silently', async (t) => {
  // Threat: an attacker who can break the counters (exhaust them, or find them unreadable) gets unlimited guesses.
  const clock = { now: T0 }
  const ctx = await instance(t, {}, clock)
  const user = await register(ctx, { verified: false })
  await ctx.sql('revoke execute on function app.rate_limit_hit(text, bigint, timestamptz, boolean) from app_runtime')

  await t.test('login fails closed with 503 unavailable', async (t) => {
    assertError(t, await login(ctx, '10.4.0.1', user.email, PASSWORD), 503, 'unavailable')
  })

  await t.test('register fails open, and says so in the error log', async (t) => {
    ctx.logs.length = 0
    const res = await ctx.app.inject({ method: 'POST', url: '/api/auth/register', remoteAddress: '10.4.0.2', payload: { email: uniqueEmail('open'), password: PASSWORD, name: 'N' } })
    t.equal(res.statusCode, 201, res.body)
    const errors = ctx.logs.map((l) => JSON.parse(l) as { level: number; msg: string; limit?: string }).filter((l) => l.level >= 50)
    t.ok(errors.some((l) => l.limit === 'register_ip' && /let through/.test(l.msg)), 'an error is logged for the request let through')
  })

  await t.test('forgot-password and reset-password fail closed', async (t) => {
    const f = await ctx.app.inject({ method: 'POST', url: '/api/auth/forgot-password', remoteAddress: '10.4.0.3', payload: { email: user.email } })
    assertError(t, f, 503, 'unavailable')
    const r = await ctx.app.inject({ method: 'POST', url: '/api/auth/reset-password', remoteAddress: '10.4.0.3', payload: { token: 'x'.repeat(43), password: PASSWORD } })
    assertError(t, r, 503, 'unavailable')
  })
})

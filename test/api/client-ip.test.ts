// The client IP (rate limits, sessions, the audit trail) and X-Forwarded-For. Threat: a client
// writes its own X-Forwarded-For to get a fresh rate-limit budget with every request, or to have
// another address recorded for its sessions and audit rows. The header is believed only from the
// proxies TRUST_PROXY lists (config.ts refuses `true` and hop counts), and hop by hop from the
// right: what a client puts in front of the proxy's own entry changes nothing.
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { buildTestApp, type TestContext } from '../helpers/app.js'
import { PASSWORD, assertError, sessionCookie, uniqueEmail } from '../helpers/actors.js'

interface Instance extends TestContext {
  warnings: () => { msg: string; peer?: string }[]
}

async function instance(t: Test, env: Record<string, string>, clock: { now: number }): Promise<Instance> {
  const lines: string[] = []
  const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }))
  const ctx = await buildTestApp(t, env, { clock: () => clock.now, logger })
  const warnings = () =>
    lines.map((l) => JSON.parse(l) as { msg: string; peer?: string }).filter((l) => l.msg.startsWith('X-Forwarded-For ignored'))
  return { ...ctx, warnings }
}

/** Registers from `remoteAddress` with `headers`; answers the IP the new session recorded. */
async function sessionIp(ctx: TestContext, remoteAddress: string, headers: Record<string, string>): Promise<string | null> {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    remoteAddress,
    headers,
    payload: { email: uniqueEmail('ip'), password: PASSWORD, name: 'Ip' },
  })
  if (res.statusCode !== 201) throw new Error(`register: ${res.statusCode} ${res.body}`)
  const sessions = await ctx.app.inject({ method: 'GET', url: '/api/auth/sessions', headers: { cookie: sessionCookie(res) } })
  return (sessions.json<{ sessions: { ip: string | null }[] }>().sessions[0]?.ip) ?? null
}

function login(ctx: TestContext, remoteAddress: string, headers: Record<string, string> = {}) {
  return ctx.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress, headers, payload: { email: 'nobody@example.test', password: 'not the password' } })
}

t.test('no proxy trusted: a forged X-Forwarded-For changes nothing', async (t) => {
  const clock = { now: Date.UTC(2030, 0, 1) }
  const ctx = await instance(t, { RATE_LIMIT_LOGIN_IP: '2/1h' }, clock)

  await t.test('the per-IP budget is the peer\'s, whatever the header says', async (t) => {
    assertError(t, await login(ctx, '10.7.0.1', { 'x-forwarded-for': '198.51.100.1' }), 401, 'invalid_credentials')
    assertError(t, await login(ctx, '10.7.0.1', { 'x-forwarded-for': '198.51.100.2' }), 401, 'invalid_credentials')
    assertError(t, await login(ctx, '10.7.0.1', { 'x-forwarded-for': '198.51.100.3' }), 429, 'rate_limited')
    assertError(t, await login(ctx, '10.7.0.1', { 'x-forwarded-for': '10.7.0.2, 198.51.100.4' }), 429, 'rate_limited')
    assertError(t, await login(ctx, '10.7.0.2'), 401, 'invalid_credentials')
  })

  await t.test('sessions record the peer', async (t) => {
    t.equal(await sessionIp(ctx, '10.7.0.3', { 'x-forwarded-for': '203.0.113.9' }), '10.7.0.3')
  })

  await t.test('the header is logged as ignored, at most once a minute however many requests carry it', async (t) => {
    const warned = ctx.warnings().length
    t.ok(warned >= 1, 'warned')
    t.equal(ctx.warnings()[0]!.peer, '10.7.0.1', 'naming the peer')
    for (let i = 0; i < 20; i++) await login(ctx, '10.7.0.9', { 'x-forwarded-for': `198.51.100.${i}` })
    t.equal(ctx.warnings().length, 1, 'a flood of forged headers: still one warning')
    clock.now += 59_999
    await login(ctx, '10.7.0.9', { 'x-forwarded-for': '198.51.100.99' })
    t.equal(ctx.warnings().length, 1, 'not within the minute')
    clock.now += 1
    await login(ctx, '10.7.0.9', { 'x-forwarded-for': '198.51.100.99' })
    t.equal(ctx.warnings().length, 2, 'again once the minute is over')
    clock.now += 120_000
    await login(ctx, '10.7.0.9')
    t.equal(ctx.warnings().length, 2, 'a request without the header is not logged')
  })
})

t.test('trusted proxies (IPv4 and IPv6 CIDRs): their X-Forwarded-For is the client IP, hop by hop', async (t) => {
  const clock = { now: Date.UTC(2030, 0, 1) }
  const ctx = await instance(t, { TRUST_PROXY: '10.0.0.0/8,2001:db8::/32', RATE_LIMIT_LOGIN_IP: '1/1h' }, clock)

  t.equal(await sessionIp(ctx, '10.0.0.5', { 'x-forwarded-for': '203.0.113.7' }), '203.0.113.7', 'through a trusted IPv4 proxy')
  t.equal(await sessionIp(ctx, '2001:db8::5', { 'x-forwarded-for': '203.0.113.8' }), '203.0.113.8', 'through a trusted IPv6 proxy')
  t.equal(await sessionIp(ctx, '10.0.0.5', { 'x-forwarded-for': '198.51.100.66, 203.0.113.7' }), '203.0.113.7',
    'what the client wrote in front of the proxy\'s entry is not believed')
  t.equal(await sessionIp(ctx, '192.0.2.50', { 'x-forwarded-for': '203.0.113.7' }), '192.0.2.50',
    'a peer that is not a trusted proxy: its header is ignored')

  assertError(t, await login(ctx, '10.0.0.5', { 'x-forwarded-for': '203.0.113.20' }), 401, 'invalid_credentials')
  assertError(t, await login(ctx, '10.0.0.6', { 'x-forwarded-for': '203.0.113.20' }), 429, 'rate_limited', /try again/)
  assertError(t, await login(ctx, '10.0.0.5', { 'x-forwarded-for': '203.0.113.21' }), 401, 'invalid_credentials')
  assertError(t, await login(ctx, '10.0.0.5', { 'x-forwarded-for': '203.0.113.21, 10.0.0.7' }), 429, 'rate_limited',
    /try again/)
  t.same(ctx.warnings(), [], 'a proxy is trusted: nothing to warn about')
})

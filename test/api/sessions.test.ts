// The signed-in user's sessions over HTTP: GET /api/auth/sessions and DELETE /api/auth/sessions/:id.
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, assertError, register, sessionCookie } from '../helpers/actors.js'

const ctx = await buildTestApp(t)

const list = (cookie?: string) => ctx.app.inject({ method: 'GET', url: '/api/auth/sessions', headers: cookie ? { cookie } : {} })
const revoke = (cookie: string, id: string) => ctx.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${id}`, headers: { cookie } })
const me = (cookie: string) => ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })

async function signIn(email: string, userAgent: string): Promise<string> {
  const res: LightMyRequestResponse = await ctx.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email, password: PASSWORD },
    headers: { 'user-agent': userAgent },
  })
  return sessionCookie(res)
}

interface SessionJson { id: string; createdAt: string; lastSeenAt: string; ip: string | null; userAgent: string | null; current: boolean }
async function sessionsOf(cookie: string): Promise<SessionJson[]> {
  const res = await list(cookie)
  if (res.statusCode !== 200) throw new Error(`sessions: ${res.statusCode} ${res.body}`)
  return res.json().sessions
}

t.test('GET /sessions lists the live sessions with device info and current', async (t) => {
  const user = await register(ctx)
  const phone = await signIn(user.email, 'PhoneBrowser/1.0')
  const laptop = await signIn(user.email, 'LaptopBrowser/2.0')
  const sessions = await sessionsOf(phone)
  t.equal(sessions.length, 3)
  for (const s of sessions) t.same(Object.keys(s).sort(), ['createdAt', 'current', 'id', 'ip', 'lastSeenAt', 'userAgent'])
  t.same(sessions.filter((s) => s.current).map((s) => s.userAgent), ['PhoneBrowser/1.0'], 'exactly the caller is current')
  t.ok(sessions.some((s) => s.userAgent === 'LaptopBrowser/2.0'))
  t.ok(sessions.every((s) => s.ip === '127.0.0.1' && !Number.isNaN(Date.parse(s.createdAt)) && !Number.isNaN(Date.parse(s.lastSeenAt))))
  t.notOk(JSON.stringify(sessions).includes(laptop.replace(/^sid=/, '').split('.')[0]!), 'no token in the list')

  // Expired, idle and revoked sessions are not listed.
  const [a, b, c] = (await sessionsOf(laptop)).filter((s) => !s.current).map((s) => s.id)
  await ctx.sql(`update sessions set expires_at = now() - interval '1 second' where id = $1`, [a])
  t.equal((await sessionsOf(laptop)).length, 2, 'an expired session is gone')
  await ctx.sql(`update sessions set last_seen_at = now() - make_interval(secs => idle_timeout_seconds + 1) where id = $1`, [b])
  t.equal((await sessionsOf(laptop)).length, 1, 'an idle session is gone')
  t.equal(c, undefined)
})

t.test('GET /sessions without a session: 401', async (t) => {
  assertError(t, await list(), 401, 'unauthenticated')
})

t.test('DELETE /sessions/:id revokes another of my sessions', async (t) => {
  // Threat: a session on a lost or shared device stays usable after the user revoked it.
  const user = await register(ctx)
  const other = await signIn(user.email, 'Other/1.0')
  const target = (await sessionsOf(user.cookie)).find((s) => s.userAgent === 'Other/1.0')!
  const res = await revoke(user.cookie, target.id)
  t.equal(res.statusCode, 204, res.body)
  t.notOk(res.headers['set-cookie'], "the caller's own cookie is kept")
  assertError(t, await me(other), 401, 'unauthenticated')
  t.equal((await me(user.cookie)).statusCode, 200, 'the caller stays signed in')
  t.notOk((await sessionsOf(user.cookie)).some((s) => s.id === target.id), 'no longer listed')
  assertError(t, await revoke(user.cookie, target.id), 404, 'not_found')
  const audit = await ctx.sql(`select 1 from audit_log where action = 'auth.session_revoked' and entity_id = $1::text and actor_user_id = $2::uuid`, [target.id, user.id])
  t.equal(audit.length, 1, 'audited')
})

t.test("another user's session: 404, and it keeps working", async (t) => {
  // Threat: a user signs someone else out, or learns that a session id exists, by guessing ids.
  const alice = await register(ctx)
  const mallory = await register(ctx)
  const [aliceSession] = await sessionsOf(alice.cookie)
  assertError(t, await revoke(mallory.cookie, aliceSession!.id), 404, 'not_found')
  assertError(t, await revoke(mallory.cookie, '00000000-0000-4000-8000-000000000000'), 404, 'not_found')
  t.equal((await me(alice.cookie)).statusCode, 200, "Alice's session is untouched")
  t.notOk((await sessionsOf(mallory.cookie)).some((s) => s.id === aliceSession!.id), "Mallory does not see Alice's sessions")
})

t.test('DELETE /sessions/:id with a malformed id: 400', async (t) => {
  const user = await register(ctx)
  assertError(t, await revoke(user.cookie, 'not-a-uuid'), 400, 'validation_failed')
})

t.test('revoking the current session signs out and clears the cookie', async (t) => {
  const user = await register(ctx)
  const [current] = (await sessionsOf(user.cookie)).filter((s) => s.current)
  const res = await revoke(user.cookie, current!.id)
  t.equal(res.statusCode, 204)
  const cleared = res.cookies.find((c) => c.name === 'sid')
  t.ok(cleared, 'a Set-Cookie for sid')
  t.equal(cleared?.value, '', 'emptied')
  assertError(t, await me(user.cookie), 401, 'unauthenticated')
})

t.test('a user agent with control characters is stored cleaned, not refused', async (t) => {
  // Threat: a NUL byte in a header (invalid PostgreSQL text) turns a sign-in into an error, or
  // control characters reach a log or an admin's screen through the session list.
  const user = await register(ctx)
  const cookie = await signIn(user.email, 'Evil\u0000Agent\u0007/1.0\u001b[31m')
  const [session] = (await sessionsOf(cookie)).filter((s) => s.current)
  t.equal(session!.userAgent, 'EvilAgent/1.0[31m')
})

t.test('DELETE /sessions signs out every other session of the user, and only those', async (t) => {
  // Threat: a session on a lost device, or one a thief opened, stays usable; revoking them one
  // by one misses one.
  const user = await register(ctx)
  const others = [await signIn(user.email, 'Phone/1.0'), await signIn(user.email, 'Tablet/1.0')]
  const bystander = await register(ctx)
  const res = await ctx.app.inject({ method: 'DELETE', url: '/api/auth/sessions', headers: { cookie: user.cookie } })
  t.equal(res.statusCode, 204, res.body)
  t.notOk(res.headers['set-cookie'], "the caller's own cookie is kept")
  for (const cookie of others) assertError(t, await me(cookie), 401, 'unauthenticated')
  t.equal((await me(user.cookie)).statusCode, 200, 'the caller stays signed in')
  t.same((await sessionsOf(user.cookie)).map((s) => s.current), [true], 'only this session is left')
  t.equal((await me(bystander.cookie)).statusCode, 200, "another user's session is untouched")
  const audit = await ctx.sql(`select after from audit_log where action = 'auth.sessions_revoked' and actor_user_id = $1`, [user.id])
  t.same(audit.map((r) => r.after), [{ revoked: 2 }], 'audited with the count')
  assertError(t, await ctx.app.inject({ method: 'DELETE', url: '/api/auth/sessions' }), 401, 'unauthenticated')
})

t.test('a sign-in that presents a live session ends it', async (t) => {
  // Threat: a session planted in a browser before its user signs in (fixation), or the previous
  // account's session on a shared computer, lives on beside the new one.
  const previous = await register(ctx)
  const next = await register(ctx)
  const login = (cookie: string, password = PASSWORD, email = next.email) =>
    ctx.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, headers: { cookie } })

  assertError(t, await login(previous.cookie, 'not the password'), 401, 'invalid_credentials')
  t.equal((await me(previous.cookie)).statusCode, 200, 'a refused sign-in keeps the session it presented')

  const res = await login(previous.cookie)
  t.equal(res.statusCode, 200, res.body)
  assertError(t, await me(previous.cookie), 401, 'unauthenticated')
  t.equal((await me(sessionCookie(res))).json().user.id, next.id, 'the new cookie is the new account')
  const audit = await ctx.sql(`select actor_user_id, after from audit_log where action = 'auth.session_revoked' and actor_user_id = $1`, [previous.id])
  t.same(audit, [{ actor_user_id: previous.id, after: { reason: 'signed_in_again' } }], "audited as the presented session's user")

  // The same account signing in again: one session for the browser, not two.
  const again = await login(sessionCookie(res))
  t.equal(again.statusCode, 200, again.body)
  assertError(t, await me(sessionCookie(res)), 401, 'unauthenticated')
  t.equal((await sessionsOf(sessionCookie(again))).length, 2, "next's registration session and this one: the replaced one is gone")
})

t.test('the retention sweep runs through the service and ends a session only long after it ended', async (t) => {
  const user = await register(ctx)
  const old = await signIn(user.email, 'Old/1.0')
  const target = (await sessionsOf(old)).find((s) => s.current)!
  await ctx.sql(`update sessions set revoked_at = now() - interval '31 days' where id = $1`, [target.id])
  const deleted = await ctx.app.retention.sweep()
  t.same(Object.keys(deleted).sort(), ['email_tokens', 'mfa_challenges', 'security_events', 'sessions'])
  t.ok(deleted.sessions! >= 1)
  t.same(await ctx.sql('select 1 from sessions where id = $1', [target.id]), [], 'the long-ended session is gone')
  t.equal((await me(user.cookie)).statusCode, 200, 'a live one stays')
})

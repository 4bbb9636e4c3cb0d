// Accounts over HTTP: registration, email verification, sign-in and out, the current user, and
// how sessions are stored and expire (API.md "Authentication", DESIGN.md invariant 7).
import t from 'tap'
import { createHash } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import {
  PASSWORD,
  assertError,
  createWorkspace,
  emailsTo,
  register,
  sessionCookie,
  sessionToken,
  tokenFromEmail,
  uniqueEmail,
} from '../helpers/actors.js'

const ctx = await buildTestApp(t)

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest()

function post(url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method: 'POST', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) })
}

function me(cookie?: string): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: cookie ? { cookie } : {} })
}

async function userCount(email: string): Promise<number> {
  const rows = await ctx.sql<{ n: number }>('select count(*)::int as n from users where email = $1', [email])
  return rows[0]!.n
}

t.test('POST /api/auth/register', async (t) => {
  await t.test('201 with the user, a session cookie, and no token in the body', async (t) => {
    // Threat: a session token leaks through a readable cookie, a cross-site request or a response body.
    const email = uniqueEmail('reg')
    const res = await post('/api/auth/register', { email, password: PASSWORD, name: ' Ada ' })
    t.equal(res.statusCode, 201, res.body)
    const { user } = res.json()
    t.same(Object.keys(user).sort(), ['email', 'emailVerified', 'id', 'isPlatformAdmin', 'mfaEnabled', 'name'])
    t.match(user.id, /^[0-9a-f-]{36}$/)
    t.equal(user.email, email)
    t.equal(user.name, 'Ada', 'the name is trimmed')
    t.equal(user.emailVerified, false)
    t.equal(user.mfaEnabled, false)
    t.equal(user.isPlatformAdmin, false)

    const setCookie = String(res.headers['set-cookie'])
    t.match(setCookie, /^sid=/, 'the plain-HTTP cookie name in the test environment')
    t.match(setCookie, /;\s*HttpOnly/i)
    t.match(setCookie, /;\s*SameSite=Lax/i)
    t.match(setCookie, /;\s*Path=\/(;|$)/)
    t.notMatch(setCookie, /Domain=/i, 'no Domain attribute')
    t.notMatch(setCookie, /;\s*Secure/i, 'no Secure attribute on plain HTTP')

    const token = sessionToken(ctx, sessionCookie(res))
    t.match(token, /^[A-Za-z0-9_-]{43}$/, 'a 256-bit base64url token')
    t.notOk(res.body.includes(token), 'the token is not in the body')

    const check = await me(sessionCookie(res))
    t.equal(check.statusCode, 200, 'the new cookie is a working session')
    t.equal(check.json().user.id, user.id)
  })

  await t.test('the email is normalised to lower case', async (t) => {
    const email = uniqueEmail('MiXeD').replace('@example.test', '@Example.TEST')
    const res = await post('/api/auth/register', { email, password: PASSWORD, name: 'Case' })
    t.equal(res.statusCode, 201, res.body)
    t.equal(res.json().user.email, email.toLowerCase())
    t.equal(await userCount(email.toLowerCase()), 1)
  })

  await t.test('409 email_taken, also for the same address in another case', async (t) => {
    const email = uniqueEmail('dup')
    t.equal((await post('/api/auth/register', { email, password: PASSWORD, name: 'First' })).statusCode, 201)
    const again = await post('/api/auth/register', { email, password: PASSWORD, name: 'Second' })
    assertError(t, again, 409, 'email_taken')
    const upper = await post('/api/auth/register', { email: email.toUpperCase(), password: PASSWORD, name: 'Third' })
    assertError(t, upper, 409, 'email_taken')
    t.notOk(upper.headers['set-cookie'], 'no session cookie for a refused registration')
    t.equal(await userCount(email), 1, 'still one account')
    const names = await ctx.sql<{ name: string }>('select name from users where email = $1', [email])
    t.same(names.map((r) => r.name), ['First'], 'the first account is untouched')
  })

  await t.test('422 weak_password below 10 and above 256 characters; nothing is created', async (t) => {
    for (const password of ['a'.repeat(9), 'a'.repeat(257)]) {
      const email = uniqueEmail('weak')
      const res = await post('/api/auth/register', { email, password, name: 'Weak' })
      assertError(t, res, 422, 'weak_password')
      t.equal(await userCount(email), 0, `no account for a ${password.length}-character password`)
      t.same(await emailsTo(ctx, email), [], 'no email either')
    }
    // Neither is on the common-password list (aaaaaaaaaa is), and neither has three letters a to f
    // or three digits in a row, which the address's random hex part could make a word of the
    // account that the password would be built from.
    const ok = await post('/api/auth/register', { email: uniqueEmail('edge'), password: 'ten chars!', name: 'Edge' })
    t.equal(ok.statusCode, 201, '10 characters is enough')
    const max = await post('/api/auth/register', { email: uniqueEmail('edge'), password: 'z'.repeat(256), name: 'Edge' })
    t.equal(max.statusCode, 201, '256 characters is allowed')
  })

  await t.test('the verification email goes through Resend with the platform key and an idempotency key', async (t) => {
    const email = uniqueEmail('mail')
    const res = await post('/api/auth/register', { email, password: PASSWORD, name: 'Mail' })
    t.equal(res.statusCode, 201)
    const mails = await emailsTo(ctx, email)
    t.equal(mails.length, 1, 'one email')
    const mail = mails[0]!
    t.same(mail.to, [email])
    t.equal(mail.from, ctx.config.emailFrom)
    t.equal(mail.authorization, 'Bearer re_test_key', 'sent with RESEND_API_KEY')
    t.match(mail.idempotencyKey, /^outbox-[0-9a-f-]{36}$/, 'an idempotency key per outbox row')
    t.match(mail.text, /http:\/\/gatehouse\.test\/verify-email#token=[A-Za-z0-9_-]{43}/, 'a verification link on PUBLIC_URL')
    t.match(mail.html, /href="http:\/\/gatehouse\.test\/verify-email#token=[A-Za-z0-9_-]{43}"/)
    // Threat: a token in the query string reaches the web server's access log, every proxy on the
    // way and the Referer of whatever the page loads; a fragment never leaves the browser.
    const link = new URL(/http:\/\/\S+/.exec(mail.text)![0])
    t.equal(link.search, '', 'no query string: the server that serves the page never sees the token')
    t.match(link.hash, /^#token=[A-Za-z0-9_-]{43}$/, 'the token is in the fragment')
  })
})

t.test('POST /api/auth/verify-email', async (t) => {
  await t.test('200 verifies for the signed-in account; the same token again, or a garbage one, is 400 invalid_token', async (t) => {
    // Threat: a verification link is replayed or guessed to verify an address the caller does not own.
    const actor = await register(ctx, { verified: false })
    const token = await tokenFromEmail(ctx, actor.email)
    const res = await post('/api/auth/verify-email', { token }, { cookie: actor.cookie })
    t.equal(res.statusCode, 200, res.body)
    t.equal(res.json().user.id, actor.id)
    t.equal(res.json().user.emailVerified, true)
    t.equal((await me(actor.cookie)).json().user.emailVerified, true, '/me agrees')

    assertError(t, await post('/api/auth/verify-email', { token }, { cookie: actor.cookie }), 400, 'invalid_token')
    assertError(t, await post('/api/auth/verify-email', { token: 'x'.repeat(43) }, { cookie: actor.cookie }), 400, 'invalid_token')
    assertError(t, await post('/api/auth/verify-email', { token: 'not-a-token' }, { cookie: actor.cookie }), 400, 'invalid_token')
  })

  await t.test('pre-account-takeover: a link verifies only the account it was sent to, signed in', async (t) => {
    // Threat: someone registers an address they do not own; when its owner clicks the emailed
    // link (signed out, or signed in as themselves), the squatter's account becomes verified.
    const squatter = await register(ctx, { verified: false })
    const token = await tokenFromEmail(ctx, squatter.email)
    assertError(t, await post('/api/auth/verify-email', { token }), 401, 'unauthenticated', /Sign in to the account/)
    const owner = await register(ctx)
    assertError(t, await post('/api/auth/verify-email', { token }, { cookie: owner.cookie }), 403, 'forbidden', /another account/)
    t.equal((await me(squatter.cookie)).json().user.emailVerified, false, 'the squatter is still unverified')
    t.equal((await me(owner.cookie)).json().user.id, owner.id, 'the clicker is still signed in as themselves')
    // The link survived both refusals: it still works for its own account.
    t.equal((await post('/api/auth/verify-email', { token }, { cookie: squatter.cookie })).statusCode, 200)
  })

  await t.test('verifying signs out every other session of the account', async (t) => {
    // Threat: a session opened before the address was proven (by whoever registered it) stays in.
    const actor = await register(ctx, { verified: false })
    const other = sessionCookie(await post('/api/auth/login', { email: actor.email, password: PASSWORD }))
    const token = await tokenFromEmail(ctx, actor.email)
    t.equal((await post('/api/auth/verify-email', { token }, { cookie: actor.cookie })).statusCode, 200)
    assertError(t, await me(other), 401, 'unauthenticated')
    t.equal((await me(actor.cookie)).statusCode, 200, 'the verifying session stays')
    const [event] = await ctx.sql<{ after: unknown }>(`select after from audit_log where action = 'auth.email_verified' and entity_id = $1`, [actor.id])
    t.same(event!.after, { sessionsRevoked: 1 }, 'audited with how many sessions were signed out')
  })

  await t.test('an expired token is 400 and leaves the address unverified', async (t) => {
    const actor = await register(ctx, { verified: false })
    const token = await tokenFromEmail(ctx, actor.email)
    await ctx.sql(`update email_tokens set expires_at = now() - interval '1 second' where user_id = $1`, [actor.id])
    assertError(t, await post('/api/auth/verify-email', { token }, { cookie: actor.cookie }), 400, 'invalid_token')
    t.equal((await me(actor.cookie)).json().user.emailVerified, false)
  })

  await t.test('only the token hash is stored', async (t) => {
    // Threat: a database dump yields usable verification links.
    const actor = await register(ctx, { verified: false })
    const token = await tokenFromEmail(ctx, actor.email)
    const rows = await ctx.sql<{ token_hash: Buffer; clear: boolean }>(
      `select token_hash, e::text like '%' || $2 || '%' as clear from email_tokens e where user_id = $1`,
      [actor.id, token],
    )
    t.equal(rows.length, 1)
    t.same(rows[0]!.token_hash, sha256(token), 'SHA-256 of the token')
    t.equal(rows[0]!.clear, false, 'the token does not appear in the row')
  })
})

t.test('POST /api/auth/verify-email/resend', async (t) => {
  await t.test('202 and a new email for an unverified account; the new link verifies', async (t) => {
    const actor = await register(ctx, { verified: false })
    const first = await tokenFromEmail(ctx, actor.email)
    const res = await post('/api/auth/verify-email/resend', undefined, { cookie: actor.cookie })
    t.equal(res.statusCode, 202, res.body)
    const mails = await emailsTo(ctx, actor.email)
    t.equal(mails.length, 2, 'a second email')
    const second = await tokenFromEmail(ctx, actor.email)
    t.not(second, first, 'with a new token')
    t.equal((await post('/api/auth/verify-email', { token: second }, { cookie: actor.cookie })).json().user.emailVerified, true)
  })

  await t.test('202 and no email once verified', async (t) => {
    const actor = await register(ctx)
    const before = (await emailsTo(ctx, actor.email)).length
    const res = await post('/api/auth/verify-email/resend', undefined, { cookie: actor.cookie })
    t.equal(res.statusCode, 202)
    t.equal((await emailsTo(ctx, actor.email)).length, before, 'nothing sent')
  })

  await t.test('401 without a session', async (t) => {
    assertError(t, await post('/api/auth/verify-email/resend'), 401, 'unauthenticated')
  })
})

t.test('POST /api/auth/login', async (t) => {
  await t.test('200 with the user and a new session cookie', async (t) => {
    // Threat: session fixation — a token known before sign-in keeps working as the signed-in session.
    const actor = await register(ctx)
    const res = await post('/api/auth/login', { email: actor.email.toUpperCase(), password: PASSWORD })
    t.equal(res.statusCode, 200, res.body)
    t.equal(res.json().user.id, actor.id)
    t.equal(res.json().user.emailVerified, true)
    const cookie = sessionCookie(res)
    const token = sessionToken(ctx, cookie)
    t.not(token, sessionToken(ctx, actor.cookie), 'a new token, not the registration one')
    t.notOk(res.body.includes(token), 'the token is not in the body')
    t.equal((await me(cookie)).json().user.id, actor.id)
  })

  await t.test('wrong password and unknown email answer the same 401', async (t) => {
    // Threat: account enumeration through different answers for unknown emails.
    const actor = await register(ctx)
    const wrong = await post('/api/auth/login', { email: actor.email, password: 'not the password at all' })
    const unknown = await post('/api/auth/login', { email: uniqueEmail('ghost'), password: 'not the password at all' })
    assertError(t, wrong, 401, 'invalid_credentials')
    assertError(t, unknown, 401, 'invalid_credentials')
    t.equal(wrong.body, unknown.body, 'identical bodies')
    t.notOk(wrong.headers['set-cookie'], 'no cookie')
    const sessions = await ctx.sql('select 1 from sessions where user_id = $1', [actor.id])
    t.equal(sessions.length, 1, 'only the registration session exists')
  })
})

t.test('POST /api/auth/logout', async (t) => {
  // Threat: a signed-out (or stolen and then signed-out) cookie keeps working.
  const actor = await register(ctx)
  const res = await post('/api/auth/logout', undefined, { cookie: actor.cookie })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  const cleared = res.cookies.find((c) => c.name === 'sid')
  t.ok(cleared, 'a Set-Cookie for sid')
  t.equal(cleared?.value, '', 'emptied')
  t.ok(cleared?.maxAge === 0 || (cleared?.expires && cleared.expires.getTime() < Date.now()), 'expired')
  assertError(t, await me(actor.cookie), 401, 'unauthenticated')
  const rows = await ctx.sql<{ revoked: boolean }>('select revoked_at is not null as revoked from sessions where user_id = $1', [actor.id])
  t.same(rows, [{ revoked: true }], 'revoked server-side, not just forgotten by the browser')

  const anonymous = await post('/api/auth/logout')
  t.equal(anonymous.statusCode, 204, 'signing out without a session is harmless')
})

t.test('GET /api/auth/me', async (t) => {
  assertError(t, await me(), 401, 'unauthenticated')
  assertError(t, await me('sid=garbage'), 401, 'unauthenticated')

  const actor = await register(ctx, { name: 'Member' })
  const empty = await me(actor.cookie)
  t.equal(empty.statusCode, 200)
  t.same(empty.json(), {
    user: { id: actor.id, email: actor.email, name: 'Member', emailVerified: true, mfaEnabled: false, isPlatformAdmin: false },
    memberships: [],
  })
  const workspaceId = await createWorkspace(ctx, actor, 'Me Co')
  const listed = await me(actor.cookie)
  t.same(listed.json().memberships, [{ workspaceId, name: 'Me Co', role: 'owner', status: 'pending_approval' }])
  const other = await register(ctx)
  t.same((await me(other.cookie)).json().memberships, [], "another user does not see the first user's workspace")
})

t.test('sessions', async (t) => {
  await t.test('only SHA-256 of the token is stored', async (t) => {
    // Threat: a database dump yields session tokens that can be replayed as cookies.
    const actor = await register(ctx)
    const token = sessionToken(ctx, actor.cookie)
    const rows = await ctx.sql<{ token_hash: Buffer; clear: boolean }>(
      `select token_hash, s::text like '%' || $2 || '%' as clear from sessions s where user_id = $1`,
      [actor.id, token],
    )
    t.equal(rows.length, 1)
    t.same(rows[0]!.token_hash, sha256(token), 'token_hash is SHA-256 of the cookie token')
    t.not(rows[0]!.token_hash.toString('utf8'), token, 'not the token itself')
    t.equal(rows[0]!.clear, false, 'the token appears nowhere in the row')
    const raw = await ctx.sql('select 1 from sessions where token_hash = convert_to($1, \'UTF8\')', [token])
    t.equal(raw.length, 0, 'no session is keyed by the raw token')
  })

  await t.test('an idle-expired session is refused', async (t) => {
    // Threat: a forgotten, unattended session stays usable forever.
    const actor = await register(ctx)
    await ctx.sql(
      `update sessions set last_seen_at = now() - make_interval(secs => idle_timeout_seconds + 1) where user_id = $1`,
      [actor.id],
    )
    assertError(t, await me(actor.cookie), 401, 'unauthenticated')
  })

  await t.test('an absolute-expired session is refused, however active', async (t) => {
    // Threat: a stolen session kept alive by activity lives forever.
    const actor = await register(ctx)
    await ctx.sql(`update sessions set expires_at = now() - interval '1 second', last_seen_at = now() where user_id = $1`, [actor.id])
    assertError(t, await me(actor.cookie), 401, 'unauthenticated')
  })

  await t.test('lastSeenAt is not written on every request, but is refreshed once stale', async (t) => {
    const actor = await register(ctx)
    const lastSeen = async () =>
      (await ctx.sql<{ t: string }>('select last_seen_at::text as t from sessions where user_id = $1', [actor.id]))[0]!.t
    const before = await lastSeen()
    t.equal((await me(actor.cookie)).statusCode, 200)
    t.equal((await me(actor.cookie)).statusCode, 200)
    t.equal(await lastSeen(), before, 'two quick requests leave last_seen_at alone')

    await ctx.sql(`update sessions set last_seen_at = now() - interval '5 minutes' where user_id = $1`, [actor.id])
    const stale = await lastSeen()
    t.equal((await me(actor.cookie)).statusCode, 200)
    const rows = await ctx.sql<{ fresh: boolean }>(
      `select last_seen_at > now() - interval '1 minute' as fresh from sessions where user_id = $1`,
      [actor.id],
    )
    t.not(await lastSeen(), stale)
    t.same(rows, [{ fresh: true }], 'a request after a quiet spell records activity')
  })
})

// Password recovery over HTTP: forgot-password, the reset email, reset-password (API.md,
// DESIGN.md invariant 7).
import t from 'tap'
import { createHash } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, assertError, emailsTo, register, sessionCookie, tokenFromEmail, uniqueEmail } from '../helpers/actors.js'

const ctx = await buildTestApp(t)
const NEW_PASSWORD = 'a brand new passphrase 42'
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest()

function post(url: string, payload: object, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method: 'POST', url, payload, headers })
}
const forgot = (email: string) => post('/api/auth/forgot-password', { email })
const reset = (token: string, password = NEW_PASSWORD) => post('/api/auth/reset-password', { token, password })
const me = (cookie: string) => ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })
const login = (email: string, password: string) => post('/api/auth/login', { email, password })

async function resetToken(email: string): Promise<string> {
  const res = await forgot(email)
  if (res.statusCode !== 202) throw new Error(`forgot-password: ${res.statusCode} ${res.body}`)
  return tokenFromEmail(ctx, email)
}

async function auditCount(action: string, entityId: string): Promise<number> {
  const rows = await ctx.sql<{ n: number }>('select count(*)::int as n from audit_log where action = $1 and entity_id = $2', [action, entityId])
  return rows[0]!.n
}

t.test('forgot-password answers alike for known and unknown emails', async (t) => {
  // Threat: an attacker learns which addresses have accounts from forgot-password's answers.
  const user = await register(ctx)
  const unknown = uniqueEmail('nobody')
  const before = ctx.mail.sent.length
  const known = await forgot(user.email.toUpperCase())
  const missing = await forgot(unknown)
  for (const res of [known, missing]) {
    t.equal(res.statusCode, 202)
    t.same(res.json(), { accepted: true })
    t.notOk(res.headers['set-cookie'], 'no cookie either way')
  }
  t.equal(known.body, missing.body, 'byte-identical bodies')
  const headerNames = (r: LightMyRequestResponse) => Object.keys(r.headers).filter((h) => h !== 'date').sort()
  t.same(headerNames(known), headerNames(missing), 'the same headers')
  t.equal(known.headers['content-length'], missing.headers['content-length'])

  t.equal((await emailsTo(ctx, unknown)).length, 0, 'nothing is sent to an unknown address')
  const sent = ctx.mail.sent.slice(before)
  t.equal(sent.length, 1, 'exactly one email, to the known user')
  t.match(sent[0]!.text, /http:\/\/gatehouse\.test\/reset-password#token=[A-Za-z0-9_-]{43}\n/, 'the token in the fragment, never in the query string')
  t.notMatch(sent[0]!.text + sent[0]!.html, /[?&]token=/)
  t.equal(await auditCount('auth.password_reset_requested', user.id), 1, 'audited for the known user')
  const anyUnknown = await ctx.sql('select 1 from audit_log where action = $1 and after::text like $2', ['auth.password_reset_requested', `%${unknown}%`])
  t.equal(anyUnknown.length, 0, 'no audit row names the unknown address')
})

t.test('forgot-password does the same work for known and unknown emails; the worker decides', async (t) => {
  // Threat: the response time tells registered addresses apart (a token, an email and an audit
  // row written for one, nothing for the other). The request only queues; the work comes later.
  const user = await register(ctx)
  await ctx.app.outbox.drain()
  const unknown = uniqueEmail('nobody')
  const tokensBefore = await ctx.sql<{ n: number }>('select count(*)::int as n from email_tokens where user_id = $1', [user.id])
  const headers = { 'user-agent': 'ResetProbe/1.0' }
  const known = await post('/api/auth/forgot-password', { email: user.email }, headers)
  const missing = await post('/api/auth/forgot-password', { email: unknown }, headers)
  t.same([known.statusCode, missing.statusCode], [202, 202])

  const queued = await ctx.sql<{ to_address: string; template: string; status: string; size: number }>(
    `select to_address, template, status, length(body_encrypted) as size from email_outbox where to_address = any($1) and template <> 'verify_email' order by created_at`,
    [[user.email, unknown]],
  )
  t.same(queued.map((r) => [r.template, r.status]), [['reset_password_request', 'pending'], ['reset_password_request', 'pending']], 'one queued request each')
  t.equal(queued[0]!.size, queued[1]!.size, 'of the same size')
  const tokensAfter = await ctx.sql<{ n: number }>('select count(*)::int as n from email_tokens where user_id = $1', [user.id])
  t.equal(tokensAfter[0]!.n, tokensBefore[0]!.n, 'no token issued by the request itself')
  t.equal(await auditCount('auth.password_reset_requested', user.id), 0, 'nor audited yet')

  await ctx.app.outbox.drain()
  t.same((await ctx.sql('select 1 from email_outbox where to_address = $1', [unknown])).length, 0, "the unknown address's request is gone, unsent")
  const sent = await ctx.sql<{ template: string; status: string }>("select template, status from email_outbox where to_address = $1 and template <> 'verify_email'", [user.email])
  t.same(sent, [{ template: 'reset_password', status: 'sent' }])
  const [event] = await ctx.sql<{ actor_user_id: string; ip: string; user_agent: string; request_id: string }>(
    `select actor_user_id, ip, user_agent, request_id from audit_log where action = 'auth.password_reset_requested' and entity_id = $1`, [user.id])
  t.match(event, { actor_user_id: null, ip: '127.0.0.1', user_agent: 'ResetProbe/1.0' }, "audited about the user, with no actor (whoever asked is anonymous) and with the request's metadata")
  t.ok(event!.request_id)
})

t.test('a composition that fails is retried and holds up no other email', async (t) => {
  const user = await register(ctx)
  const other = await register(ctx, { verified: false })
  ctx.mail.sent.length = 0
  await ctx.sql('alter function app.issue_password_reset(text, bytea, integer, text, text, text) rename to issue_password_reset_gone')
  try {
    t.equal((await forgot(user.email)).statusCode, 202, 'the request is accepted regardless')
    await post('/api/auth/verify-email/resend', {}, { cookie: other.cookie })
    await ctx.app.outbox.drain()
  } finally {
    await ctx.sql('alter function app.issue_password_reset_gone(text, bytea, integer, text, text, text) rename to issue_password_reset')
  }
  t.ok(ctx.mail.sent.some((m) => m.to.includes(other.email)), 'the other email in the batch went out')
  const [row] = await ctx.sql<{ status: string; attempts: number; last_error: string }>(
    'select status, attempts, last_error from email_outbox where to_address = $1 and template = $2', [user.email, 'reset_password_request'])
  t.match(row, { status: 'pending', attempts: 1, last_error: /issue_password_reset/ }, 'kept for a retry')
  await ctx.sql(`update email_outbox set next_attempt_at = now() where to_address = $1`, [user.email])
  const token = await tokenFromEmail(ctx, user.email)
  t.equal((await reset(token)).statusCode, 200, 'the retry sends a working link')
})

t.test('the reset token is stored hashed and lives at most an hour', async (t) => {
  // Threat: a database dump or a forgotten inbox yields a usable reset link.
  const user = await register(ctx)
  const token = await resetToken(user.email)
  const rows = await ctx.sql<{ ttl: number; purpose: string; used_at: Date | null }>(
    `select extract(epoch from expires_at - created_at)::int as ttl, purpose, used_at from email_tokens where token_hash = $1`,
    [sha256(token)],
  )
  t.equal(rows.length, 1, 'found by its SHA-256 only')
  t.equal(rows[0]!.purpose, 'reset_password')
  t.ok(rows[0]!.ttl > 0 && rows[0]!.ttl <= 3600, `expires within an hour (${rows[0]!.ttl}s)`)
  const clear = await ctx.sql(`select 1 from email_tokens where encode(token_hash, 'escape') like $1`, [`%${token}%`])
  t.equal(clear.length, 0, 'the token itself is nowhere in the table')
})

t.test('reset-password sets the password and revokes every session', async (t) => {
  // Threat: after a reset, whoever held the old password or a stolen cookie stays signed in.
  const user = await register(ctx)
  const other = sessionCookie(await login(user.email, PASSWORD))
  const token = await resetToken(user.email)

  const res = await reset(token)
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), { reset: true })
  t.notOk(res.headers['set-cookie'], 'no session is opened')

  assertError(t, await me(user.cookie), 401, 'unauthenticated')
  assertError(t, await me(other), 401, 'unauthenticated')
  const live = await ctx.sql<{ n: number }>('select count(*)::int as n from sessions where user_id = $1 and revoked_at is null', [user.id])
  t.equal(live[0]!.n, 0, 'no live session is left')

  assertError(t, await login(user.email, PASSWORD), 401, 'invalid_credentials', undefined)
  const fresh = await login(user.email, NEW_PASSWORD)
  t.equal(fresh.statusCode, 200, 'the new password signs in')
  const stored = await ctx.sql<{ password_hash: string }>('select password_hash from users where id = $1', [user.id])
  t.match(stored[0]!.password_hash, /^\$argon2id\$/, 'stored as argon2id')
  t.equal(await auditCount('auth.password_reset', user.id), 1, 'audited')
})

t.test('a reset verifies the address and voids every other reset link', async (t) => {
  // Threat: the owner of an address cannot take back an account someone else registered with it;
  // an older reset link (mailbox, proxy log) still works after a reset.
  const user = await register(ctx, { verified: false })
  const older = await resetToken(user.email)
  const newer = await resetToken(user.email)
  t.not(older, newer)
  t.equal((await reset(newer)).statusCode, 200)
  const signedIn = await login(user.email, NEW_PASSWORD)
  t.equal(signedIn.statusCode, 200)
  t.equal(signedIn.json().user.emailVerified, true, 'the link proved control of the address')
  assertError(t, await reset(older, 'an older link tries again'), 400, 'invalid_token')
  t.equal((await login(user.email, NEW_PASSWORD)).statusCode, 200, 'the older link changed nothing')
})

t.test('a reset token works once', async (t) => {
  // Threat: a reset link read later (mail archive, proxy log) is replayed to take the account over.
  const user = await register(ctx)
  const token = await resetToken(user.email)
  t.equal((await reset(token)).statusCode, 200)
  assertError(t, await reset(token, 'yet another passphrase 7'), 400, 'invalid_token')
  t.equal((await login(user.email, NEW_PASSWORD)).statusCode, 200, 'the replay changed nothing')
})

t.test('two concurrent uses of one token: exactly one wins', async (t) => {
  // Threat: racing two requests with one link spends it twice.
  const user = await register(ctx)
  const token = await resetToken(user.email)
  const results = await Promise.all([reset(token, 'first racing passphrase'), reset(token, 'second racing passphrase')])
  const codes = results.map((r) => r.statusCode).sort()
  t.same(codes, [200, 400], `one 200 and one 400 (${codes.join()})`)
  const loser = results.find((r) => r.statusCode === 400)!
  assertError(t, loser, 400, 'invalid_token')
  const winner = results.indexOf(results.find((r) => r.statusCode === 200)!) === 0 ? 'first racing passphrase' : 'second racing passphrase'
  t.equal((await login(user.email, winner)).statusCode, 200, "the winner's password is the one stored")
})

t.test('invalid tokens: 400 invalid_token', async (t) => {
  // Threat: guessed, expired or cross-purpose tokens reset someone's password.
  const user = await register(ctx, { verified: false })
  const verification = await tokenFromEmail(ctx, user.email)
  assertError(t, await reset(verification), 400, 'invalid_token', undefined)
  t.equal((await post('/api/auth/verify-email', { token: verification }, { cookie: user.cookie })).statusCode, 200, 'a verification token is not spent by reset')

  assertError(t, await reset('A'.repeat(43)), 400, 'invalid_token')
  assertError(t, await reset('not-a-token'), 400, 'invalid_token')

  const token = await resetToken(user.email)
  await ctx.sql(`update email_tokens set expires_at = now() - interval '1 second' where token_hash = $1`, [sha256(token)])
  assertError(t, await reset(token), 400, 'invalid_token')
  t.equal((await login(user.email, PASSWORD)).statusCode, 200, 'the password is unchanged')
})

t.test('a weak password is refused before the token is spent', async (t) => {
  // Threat: a reset sets a guessable password, or a typo burns the only link.
  const user = await register(ctx)
  const token = await resetToken(user.email)
  assertError(t, await reset(token, 'short'), 422, 'weak_password')
  assertError(t, await reset(token, 'qwertyuiop'), 422, 'weak_password')
  assertError(t, await reset(token, 'x'.repeat(257)), 422, 'weak_password')
  t.equal((await me(user.cookie)).statusCode, 200, 'sessions untouched')
  t.equal((await reset(token)).statusCode, 200, 'the link still works afterwards')
})

t.test('a password built from the link\'s user\'s address or name is refused; the reset is undone, the link still works', async (t) => {
  // Threat: a reset sets a password that the first guesses against this account find (ASVS
  // 6.2.11). Only the link says whose account it is, so the check runs after the link is spent,
  // in the same transaction, and a refusal must roll all of it back.
  const user = await register(ctx, { email: 'grace.hopper@example.test', name: 'Grace Hopper' })
  const token = await resetToken(user.email)
  for (const password of ['GraceHopper1906!', 'hopper-grace-1234', 'Gatehouse2024!!']) {
    const res = await reset(token, password)
    assertError(t, res, 422, 'weak_password', /^This password is built from your email address, your name or the service's name/)
    t.notOk(res.body.includes(password), 'the answer does not echo the password')
  }
  t.equal((await me(user.cookie)).statusCode, 200, 'sessions untouched')
  t.equal(await auditCount('auth.password_reset', user.id), 0, 'no reset recorded')
  const used = await ctx.sql('select 1 from email_tokens where token_hash = $1 and used_at is not null', [sha256(token)])
  t.equal(used.length, 0, 'the link is not spent')
  t.equal((await login(user.email, PASSWORD)).statusCode, 200, 'the password is unchanged')

  const other = await register(ctx, { email: 'ada.king@example.test', name: 'Ada King' })
  t.equal((await reset(await resetToken(other.email), 'GraceHopper1906!')).statusCode, 200, 'judged by the link\'s user: another account may use it')
  t.equal((await reset(token)).statusCode, 200, 'the link still works afterwards')
  t.equal((await login(user.email, NEW_PASSWORD)).statusCode, 200, 'with the new password')
})

t.test('bad input: 400 validation_failed', async (t) => {
  assertError(t, await post('/api/auth/forgot-password', {}), 400, 'validation_failed')
  assertError(t, await post('/api/auth/forgot-password', { email: 'a@b.test', extra: 1 }), 400, 'validation_failed')
  assertError(t, await post('/api/auth/reset-password', { token: 'x' }), 400, 'validation_failed')
})

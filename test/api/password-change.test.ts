// Changing the password while signed in (POST /api/settings/security/password) and the rehash
// of outdated password hashes at sign-in.
import t from 'tap'
import { hash } from '@node-rs/argon2'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, assertError, register, sessionCookie, tokenFromEmail } from '../helpers/actors.js'

const ctx = await buildTestApp(t)
const NEW_PASSWORD = 'an entirely new passphrase'

const change = (cookie: string | undefined, body: object): Promise<LightMyRequestResponse> =>
  ctx.app.inject({ method: 'POST', url: '/api/settings/security/password', payload: body, headers: cookie ? { cookie } : {} })
const me = (cookie: string) => ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })
const login = (email: string, password: string) => ctx.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } })

t.test('a password change rotates this session and kills the others', async (t) => {
  // Threat: after a password change, a stolen cookie (this one or another device's) stays valid.
  const user = await register(ctx)
  const other = sessionCookie(await login(user.email, PASSWORD))
  const res = await change(user.cookie, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })
  t.equal(res.statusCode, 204, res.body)
  const rotated = sessionCookie(res)
  t.not(rotated, user.cookie, 'a new session cookie')
  t.equal((await me(rotated)).statusCode, 200, 'the caller stays signed in with the new cookie')
  assertError(t, await me(user.cookie), 401, 'unauthenticated')
  assertError(t, await me(other), 401, 'unauthenticated')
  const live = await ctx.sql<{ n: number }>('select count(*)::int as n from sessions where user_id = $1 and revoked_at is null', [user.id])
  t.equal(live[0]!.n, 1, 'one live session: the rotated one')

  assertError(t, await login(user.email, PASSWORD), 401, 'invalid_credentials')
  t.equal((await login(user.email, NEW_PASSWORD)).statusCode, 200)
  const audit = await ctx.sql(`select 1 from audit_log where action = 'auth.password_changed' and entity_id = $1::text and actor_user_id = $1::uuid`, [user.id])
  t.equal(audit.length, 1, 'audited')
})

t.test('wrong current password: 401, nothing changes', async (t) => {
  // Threat: someone at an unlocked, signed-in browser changes the password and locks the owner out.
  const user = await register(ctx)
  const res = await change(user.cookie, { currentPassword: 'not the password at all', newPassword: NEW_PASSWORD })
  assertError(t, res, 401, 'invalid_credentials')
  t.notOk(res.headers['set-cookie'])
  t.equal((await me(user.cookie)).statusCode, 200, 'the session is untouched')
  t.equal((await login(user.email, PASSWORD)).statusCode, 200, 'the old password still works')
})

t.test('weak new passwords: 422 weak_password', async (t) => {
  // Threat: a change sets a guessable password.
  const user = await register(ctx)
  for (const newPassword of ['short', 'BasketBall', '1234567890', 'y'.repeat(257)]) {
    assertError(t, await change(user.cookie, { currentPassword: PASSWORD, newPassword }), 422, 'weak_password')
  }
  t.equal((await login(user.email, PASSWORD)).statusCode, 200, 'unchanged')
})

t.test('a new password built from the user\'s address or name: 422 weak_password', async (t) => {
  // Threat: a change sets a password that the first guesses against this account find (ASVS 6.2.11).
  const user = await register(ctx, { email: 'ada.lovelace@example.test', name: 'Ada Lovelace' })
  for (const newPassword of ['AdaLovelace1815', 'lovelace.example!!', 'gatehouse-123456']) {
    const res = await change(user.cookie, { currentPassword: PASSWORD, newPassword })
    assertError(t, res, 422, 'weak_password', /^This password is built from your email address, your name or the service's name/)
    t.notOk(res.body.includes(newPassword), 'the answer does not echo the password')
  }
  t.equal((await login(user.email, PASSWORD)).statusCode, 200, 'unchanged')
  const res = await change(user.cookie, { currentPassword: PASSWORD, newPassword: 'Lovelace and the analytical engine' })
  t.equal(res.statusCode, 204, 'her name inside a longer passphrase is fine')
})

t.test('not signed in: 401; bad body: 400', async (t) => {
  assertError(t, await change(undefined, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }), 401, 'unauthenticated')
  const user = await register(ctx)
  assertError(t, await change(user.cookie, { newPassword: NEW_PASSWORD }), 400, 'validation_failed')
})

t.test('sign-in rehashes a password stored with outdated parameters or without the pepper', async (t) => {
  // Threat: hashes made at an older, cheaper cost (or before the pepper) stay cheap to crack forever.
  const user = await register(ctx)
  const current = /^\$argon2id\$v=19\$m=19456,t=2,p=1,keyid=pepper1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/
  const stored = async () => (await ctx.sql<{ password_hash: string }>('select password_hash from users where id = $1', [user.id]))[0]!.password_hash
  for (const [label, old] of [
    ['a cheaper cost', await hash(PASSWORD, { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 })],
    ['no pepper', await hash(PASSWORD, { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 })],
  ] as const) {
    await ctx.sql('update users set password_hash = $2 where id = $1', [user.id, old])
    assertError(t, await login(user.email, 'wrong password here'), 401, 'invalid_credentials')
    t.equal(await stored(), old, `${label}: a failed sign-in rehashes nothing`)
    t.equal((await login(user.email, PASSWORD)).statusCode, 200, `${label}: the old hash still signs in`)
    const fresh = await stored()
    t.not(fresh, old, `${label}: replaced`)
    t.match(fresh, current, `${label}: now at the current parameters, with the pepper`)
    t.equal((await login(user.email, PASSWORD)).statusCode, 200, `${label}: the new hash signs in`)
    t.equal(await stored(), fresh, `${label}: an up-to-date hash is left alone`)
  }
})

t.test('a password change voids every outstanding reset link', async (t) => {
  // Threat: a reset link sitting in a compromised mailbox resets the password again after the owner changed it.
  const user = await register(ctx)
  const asked = await ctx.app.inject({ method: 'POST', url: '/api/auth/forgot-password', payload: { email: user.email } })
  t.equal(asked.statusCode, 202)
  const token = await tokenFromEmail(ctx, user.email)
  t.equal((await change(user.cookie, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).statusCode, 204)
  const reset = await ctx.app.inject({ method: 'POST', url: '/api/auth/reset-password', payload: { token, password: 'a third passphrase entirely' } })
  assertError(t, reset, 400, 'invalid_token')
  t.equal((await login(user.email, NEW_PASSWORD)).statusCode, 200, 'the changed password stands')
})

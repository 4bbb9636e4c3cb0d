// TOTP MFA with backup codes: setup, enable, sign-in with a second factor, replay and reuse,
// backup-code regeneration, disabling, and how the secret is stored.
import t from 'tap'
import { createHash } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, assertError, enrolMfa, register, sessionCookie, totpCode, type Actor, type MfaActor } from '../helpers/actors.js'
import { decrypt } from '../../src/crypto/envelope.js'

// The service's clock is fixed for this file: codes are generated for exactly the time step the
// service checks against, with no waiting at a step's edge.
const clock = { now: Date.now() }
const ctx = await buildTestApp(t, {}, { clock: () => clock.now })

const post = (url: string, payload?: object, cookie?: string): Promise<LightMyRequestResponse> =>
  ctx.app.inject({ method: 'POST', url, ...(payload ? { payload } : {}), headers: cookie ? { cookie } : {} })
const me = (cookie: string) => ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })
const security = (cookie: string) => ctx.app.inject({ method: 'GET', url: '/api/settings/security', headers: { cookie } })
const login = (email: string, password = PASSWORD) => post('/api/auth/login', { email, password })

/** The code of the time step `offset` steps from the service's now (-1, 0 or +1 are accepted). */
async function code(secret: string, offset = 0): Promise<string> {
  return totpCode(secret, clock.now + offset * 30_000)
}

/** Forgets the last accepted step (superuser), so a test can use more than three codes in one step. */
async function forgetStep(user: Actor): Promise<void> {
  await ctx.sql('update user_mfa set last_used_step = null where user_id = $1', [user.id])
}

type MfaUser = MfaActor

/** A verified user with MFA enabled (with the previous step's code, leaving now and +1 unused). */
async function mfaUser(): Promise<MfaUser> {
  return enrolMfa(ctx, await register(ctx), clock.now - 30_000)
}

async function mfaToken(user: Actor): Promise<string> {
  const res = await login(user.email)
  if (res.statusCode !== 200 || !res.json().mfaRequired) throw new Error(`login: ${res.statusCode} ${res.body}`)
  return res.json().mfaToken
}

t.test('setup, enable and sign in with a TOTP code', async (t) => {
  const user = await register(ctx)
  t.same((await security(user.cookie)).json(), { mfaEnabled: false, backupCodesRemaining: 0 })

  const first = await post('/api/settings/security/mfa/setup', { password: PASSWORD }, user.cookie)
  t.equal(first.statusCode, 200, first.body)
  const again = await post('/api/settings/security/mfa/setup', { password: PASSWORD }, user.cookie)
  t.equal(again.statusCode, 200, 'a second setup before enabling replaces the pending secret')
  const { secret, otpauthUrl } = again.json<{ secret: string; otpauthUrl: string }>()
  t.not(secret, first.json().secret)
  t.match(secret, /^[A-Z2-7]{32}$/, '160-bit base32 secret')
  const url = new URL(otpauthUrl)
  t.equal(url.protocol, 'otpauth:')
  t.equal(url.host, 'totp')
  t.equal(decodeURIComponent(url.pathname), `/Gatehouse:${user.email}`)
  t.equal(url.searchParams.get('issuer'), 'Gatehouse')
  t.equal(url.searchParams.get('secret'), secret)
  t.equal(url.searchParams.get('algorithm'), 'SHA1')
  t.equal(url.searchParams.get('digits'), '6')
  t.equal(url.searchParams.get('period'), '30')
  t.equal((await login(user.email)).json().user?.id, user.id, 'not active until confirmed: sign-in needs no code')

  assertError(t, await post('/api/settings/security/mfa/enable', { code: await code(first.json().secret) }, user.cookie), 401, 'invalid_mfa_code')
  const enable = await post('/api/settings/security/mfa/enable', { code: await code(secret, -1) }, user.cookie)
  t.equal(enable.statusCode, 200, enable.body)
  t.equal((await me(user.cookie)).statusCode, 401, 'enabling rotated the session: the old cookie is signed out')
  user.cookie = sessionCookie(enable)
  const { backupCodes } = enable.json<{ backupCodes: string[] }>()
  t.equal(backupCodes.length, 10)
  t.equal(new Set(backupCodes).size, 10, 'all different')
  for (const c of backupCodes) t.match(c, /^[a-z2-7]{5}-[a-z2-7]{5}$/)
  t.same((await security(user.cookie)).json(), { mfaEnabled: true, backupCodesRemaining: 10 })
  t.equal((await me(user.cookie)).json().user.mfaEnabled, true, '/me says mfaEnabled')
  assertError(t, await post('/api/settings/security/mfa/setup', { password: PASSWORD }, user.cookie), 409, 'conflict')
  assertError(t, await post('/api/settings/security/mfa/enable', { code: await code(secret) }, user.cookie), 409, 'conflict')

  const res = await login(user.email)
  t.equal(res.statusCode, 200, res.body)
  t.same(Object.keys(res.json()).sort(), ['mfaRequired', 'mfaToken'])
  t.equal(res.json().mfaRequired, true)
  t.match(res.json().mfaToken, /^[A-Za-z0-9_-]{43}$/)
  t.notOk(res.headers['set-cookie'], 'no session before the second factor')
  const stored = await ctx.sql<{ token_hash: Buffer; ttl: number }>(
    `select token_hash, extract(epoch from expires_at - created_at)::int as ttl from mfa_challenges where user_id = $1`,
    [user.id],
  )
  t.equal(stored.length, 1)
  t.equal(stored[0]!.token_hash.length, 32, 'the mfaToken is stored as its SHA-256')
  t.ok(stored[0]!.ttl <= 300, 'valid at most 5 minutes')

  const done = await post('/api/auth/login/mfa', { mfaToken: res.json().mfaToken, code: await code(secret) })
  t.equal(done.statusCode, 200, done.body)
  t.equal(done.json().user.id, user.id)
  t.equal(done.json().user.mfaEnabled, true)
  const cookie = sessionCookie(done)
  t.not(cookie, user.cookie, 'a new session token')
  t.equal((await me(cookie)).statusCode, 200)
  const audit = await ctx.sql(`select action, after from audit_log where actor_user_id = $1 and action in ('auth.mfa_enabled', 'auth.login') order by chain_seq`, [user.id])
  t.same(audit.map((r) => r.action), ['auth.login', 'auth.mfa_enabled', 'auth.login'])
  t.same(audit.at(-1)!.after, { method: 'totp' }, 'the MFA sign-in is audited with its method')
})

t.test('a TOTP code is accepted once', async (t) => {
  // Threat: a code observed over the shoulder or phished is replayed within its 30-second life.
  const user = await mfaUser()
  const c = await code(user.secret)
  t.equal((await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), code: c })).statusCode, 200)
  const token = await mfaToken(user)
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: token, code: c }), 401, 'invalid_mfa_code')
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: token, code: await code(user.secret, -1) }), 401, 'invalid_mfa_code')
  t.equal((await post('/api/auth/login/mfa', { mfaToken: token, code: await code(user.secret, 1) })).statusCode, 200, 'a newer step is fine, and a failed code did not burn the challenge')
})

t.test('wrong, stale and malformed codes: 401 invalid_mfa_code, no cookie', async (t) => {
  // Threat: a guessed or outdated code completes a sign-in.
  const user = await mfaUser()
  const token = await mfaToken(user)
  const right = await code(user.secret)
  const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
  for (const c of [wrong, await code(user.secret, -3), await code(user.secret, 3), 'abcdef', '1234567']) {
    const res = await post('/api/auth/login/mfa', { mfaToken: token, code: c })
    assertError(t, res, 401, 'invalid_mfa_code')
    t.notOk(res.headers['set-cookie'])
  }
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: token, code: right, backupCode: user.backupCodes[0] }), 400, 'validation_failed')
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: token }), 400, 'validation_failed')
})

t.test('unknown, used and expired mfaTokens: 400 invalid_token', async (t) => {
  // Threat: a leaked or old challenge token (or a forged one) is used to sign in.
  const user = await mfaUser()
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: 'x'.repeat(43), code: await code(user.secret) }), 400, 'invalid_token')
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: 'short', code: await code(user.secret) }), 400, 'invalid_token')

  const used = await mfaToken(user)
  t.equal((await post('/api/auth/login/mfa', { mfaToken: used, code: await code(user.secret) })).statusCode, 200)
  await forgetStep(user)
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: used, code: await code(user.secret, 1) }), 400, 'invalid_token')

  const expired = await mfaToken(user)
  await ctx.sql(`update mfa_challenges set expires_at = now() - interval '1 second' where user_id = $1 and used_at is null`, [user.id])
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: expired, code: await code(user.secret, 1) }), 400, 'invalid_token')
})

t.test('two concurrent completions of one challenge: exactly one signs in', async (t) => {
  // Threat: a race turns one password check into two sessions.
  const user = await mfaUser()
  const token = await mfaToken(user)
  const [a, b] = await Promise.all([
    post('/api/auth/login/mfa', { mfaToken: token, backupCode: user.backupCodes[0] }),
    post('/api/auth/login/mfa', { mfaToken: token, backupCode: user.backupCodes[1] }),
  ])
  t.same([a.statusCode, b.statusCode].sort(), [200, 400])
})

t.test('backup codes work once each', async (t) => {
  // Threat: a backup code copied from a printout is used again after its owner used it.
  const user = await mfaUser()
  const [first] = user.backupCodes
  const res = await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), backupCode: first!.toUpperCase().replace('-', ' ') })
  t.equal(res.statusCode, 200, `${res.body} (case and separators do not matter)`)
  t.same((await ctx.sql(`select after from audit_log where actor_user_id = $1 and action = 'auth.login' order by chain_seq desc limit 1`, [user.id]))[0]!.after, {
    method: 'backup_code',
  })
  t.equal((await security(sessionCookie(res))).json().backupCodesRemaining, 9)
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), backupCode: first! }), 401, 'invalid_mfa_code')
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), backupCode: 'aaaaa-aaaaa' }), 401, 'invalid_mfa_code')
  const other = await mfaUser()
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), backupCode: other.backupCodes[0]! }), 401, 'invalid_mfa_code')
  const hashes = await ctx.sql<{ code_hash: Buffer }>('select code_hash from mfa_backup_codes where user_id = $1', [user.id])
  t.equal(hashes.length, 10)
  const dump = hashes.map((h) => h.code_hash.toString('hex') + h.code_hash.toString('latin1')).join()
  for (const c of user.backupCodes) t.notOk(dump.includes(c.replace('-', '')), 'no code in clear')
  // Threat: a dump of the table lets anyone test the 2^50 codes offline. The stored value is an
  // HMAC under a pepper from the key ring, which the database never sees, not a plain hash.
  const plain = user.backupCodes.map((c) => createHash('sha256').update(c.replace('-', '')).digest('hex'))
  t.notOk(hashes.some((h) => plain.includes(h.code_hash.toString('hex'))), 'not the plain SHA-256 of any code')
})

t.test('a backup code stored before codes were peppered still works, once', async (t) => {
  // Availability: codes issued as plain SHA-256 keep working after the upgrade.
  const user = await mfaUser()
  const legacy = user.backupCodes[2]!
  await ctx.sql('delete from mfa_backup_codes where user_id = $1', [user.id])
  await ctx.sql(`insert into mfa_backup_codes (user_id, code_hash) values ($1, sha256(convert_to($2, 'UTF8')))`, [user.id, legacy.replace('-', '')])
  t.equal((await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), backupCode: legacy.toUpperCase() })).statusCode, 200)
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), backupCode: legacy }), 401, 'invalid_mfa_code')
})

t.test('regenerating backup codes needs a current code and invalidates the old ones', async (t) => {
  // Threat: a stolen session mints fresh backup codes, or old leaked codes keep working.
  const user = await mfaUser()
  assertError(t, await post('/api/settings/security/backup-codes', { code: '000000' }, user.cookie), 401, 'invalid_mfa_code')
  const res = await post('/api/settings/security/backup-codes', { code: await code(user.secret) }, user.cookie)
  t.equal(res.statusCode, 200, res.body)
  const fresh = res.json().backupCodes as string[]
  t.equal(fresh.length, 10)
  t.notOk(fresh.some((c) => user.backupCodes.includes(c)))
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), backupCode: user.backupCodes[0]! }), 401, 'invalid_mfa_code')
  t.equal((await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), backupCode: fresh[0]! })).statusCode, 200)
  const audit = await ctx.sql(`select 1 from audit_log where actor_user_id = $1 and action = 'auth.backup_codes_regenerated'`, [user.id])
  t.equal(audit.length, 1, 'audited')
})

t.test('disabling needs the password and a current code', async (t) => {
  // Threat: a stolen session (or a shoulder-surfed code alone) turns the second factor off.
  const user = await mfaUser()
  assertError(t, await post('/api/settings/security/mfa/disable', { password: 'not the password', code: await code(user.secret) }, user.cookie), 401, 'invalid_credentials')
  assertError(t, await post('/api/settings/security/mfa/disable', { password: PASSWORD, code: '000000' }, user.cookie), 401, 'invalid_mfa_code')
  assertError(t, await post('/api/settings/security/mfa/disable', { password: PASSWORD, code: 'zzzzz-zzzzz' }, user.cookie), 401, 'invalid_mfa_code')
  t.equal((await security(user.cookie)).json().mfaEnabled, true, 'still on')
  const res = await post('/api/settings/security/mfa/disable', { password: PASSWORD, code: await code(user.secret) }, user.cookie)
  t.equal(res.statusCode, 204, res.body)
  t.equal((await me(user.cookie)).statusCode, 401, 'disabling rotated the session: the old cookie is signed out')
  user.cookie = sessionCookie(res)
  t.same((await security(user.cookie)).json(), { mfaEnabled: false, backupCodesRemaining: 0 })
  t.equal((await me(user.cookie)).json().user.mfaEnabled, false)
  const signIn = await login(user.email)
  t.equal(signIn.json().user?.id, user.id, 'sign-in without a second factor again')
  t.ok(sessionCookie(signIn))
  t.equal((await ctx.sql('select 1 from mfa_backup_codes where user_id = $1', [user.id])).length, 0, 'backup codes gone')
  assertError(t, await post('/api/settings/security/mfa/disable', { password: PASSWORD, code: await code(user.secret, 1) }, user.cookie), 409, 'conflict')
  assertError(t, await post('/api/settings/security/backup-codes', { code: await code(user.secret, 1) }, user.cookie), 409, 'conflict')
  const audit = await ctx.sql(`select 1 from audit_log where actor_user_id = $1 and action = 'auth.mfa_disabled'`, [user.id])
  t.equal(audit.length, 1, 'audited')
})

t.test('a lost phone: sign in with a backup code, disable with another, enrol a new phone', async (t) => {
  // Threat (to availability): a user who lost their authenticator is locked out for good, or
  // left with a dwindling supply of backup codes and no way to enrol a new device.
  const user = await mfaUser()
  const signIn = await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), backupCode: user.backupCodes[0]! })
  t.equal(signIn.statusCode, 200, signIn.body)
  const cookie = sessionCookie(signIn)
  assertError(t, await post('/api/settings/security/mfa/disable', { password: PASSWORD, code: user.backupCodes[0]! }, cookie), 401, 'invalid_mfa_code')
  const off = await post('/api/settings/security/mfa/disable', { password: PASSWORD, code: user.backupCodes[1]! }, cookie)
  t.equal(off.statusCode, 204, off.body)
  const audit = await ctx.sql<{ after: { method: string } }>(`select after from audit_log where actor_user_id = $1 and action = 'auth.mfa_disabled'`, [user.id])
  t.same(audit.map((r) => r.after.method), ['backup_code'], 'audited with the method used')
  const setup = await post('/api/settings/security/mfa/setup', { password: PASSWORD }, sessionCookie(off))
  t.equal(setup.statusCode, 200, 'a new phone can be enrolled')
  const enabled = await post('/api/settings/security/mfa/enable', { code: await code(setup.json().secret) }, sessionCookie(off))
  t.equal(enabled.statusCode, 200, enabled.body)
  t.equal(enabled.json().backupCodes.length, 10, 'with ten fresh backup codes')
})

t.test('the TOTP secret is stored encrypted and bound to its user', async (t) => {
  // Threat: a database dump (or a row copied onto another account) yields a usable TOTP secret.
  const user = await mfaUser()
  const other = await mfaUser()
  const [row] = await ctx.sql<{ secret_encrypted: string }>('select secret_encrypted from user_mfa where user_id = $1', [user.id])
  t.notOk(row!.secret_encrypted.includes(user.secret), 'not in clear')
  t.notOk(row!.secret_encrypted.toLowerCase().includes(user.secret.toLowerCase().slice(0, 16)))
  const ring = ctx.config.encryptionKeys
  t.equal(decrypt(ring, row!.secret_encrypted, `user_mfa:${user.id}`), user.secret, 'decrypts as its own row')
  t.throws(() => decrypt(ring, row!.secret_encrypted, `user_mfa:${other.id}`), { name: 'DecryptError' }, 'not as another user\'s')

  // Copying the envelope onto the other account does not make the first secret work there: it
  // does not decrypt (logged as an error), and the code is refused.
  await ctx.sql('update user_mfa set secret_encrypted = $1, last_used_step = null where user_id = $2', [row!.secret_encrypted, other.id])
  const res = await post('/api/settings/security/backup-codes', { code: await code(user.secret) }, other.cookie)
  assertError(t, res, 401, 'invalid_mfa_code')
})

t.test('enrolling needs the current password and a verified address', async (t) => {
  // Threat: a stolen cookie enrols the thief's authenticator and locks the owner out of their account.
  const user = await register(ctx)
  assertError(t, await post('/api/settings/security/mfa/setup', { password: 'not the password' }, user.cookie), 401, 'invalid_credentials', /password is wrong/)
  assertError(t, await post('/api/settings/security/mfa/setup', {}, user.cookie), 400, 'validation_failed')
  t.same(await ctx.sql('select 1 from user_mfa where user_id = $1', [user.id]), [], 'nothing was enrolled')
  const unverified = await register(ctx, { verified: false })
  assertError(t, await post('/api/settings/security/mfa/setup', { password: PASSWORD }, unverified.cookie), 403, 'email_unverified')
  t.same(await ctx.sql('select 1 from user_mfa where user_id = $1', [unverified.id]), [], 'nor for an unverified address')
})

t.test('setup and enable without MFA set up, and signed out', async (t) => {
  const user = await register(ctx)
  assertError(t, await post('/api/settings/security/mfa/enable', { code: '123456' }, user.cookie), 409, 'conflict')
  assertError(t, await post('/api/settings/security/backup-codes', { code: '123456' }, user.cookie), 409, 'conflict')
  assertError(t, await post('/api/settings/security/mfa/setup'), 401, 'unauthenticated')
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/settings/security' }), 401, 'unauthenticated')
})

t.test('a user without MFA signs in as before', async (t) => {
  const user = await register(ctx)
  const res = await login(user.email)
  t.equal(res.statusCode, 200)
  t.same(Object.keys(res.json()), ['user'])
  t.equal(res.json().user.mfaEnabled, false)
  t.ok(sessionCookie(res))
})

t.test('enabling, regenerating and disabling sign out every other session and rotate this one', async (t) => {
  // Threat: a thief holding a cookie keeps it after the owner secures the account (or, holding
  // the password, turns MFA off and keeps the owner's other sessions in play).
  const user = await register(ctx)
  const elsewhere = sessionCookie(await login(user.email))
  const enrolled = await enrolMfa(ctx, user, clock.now - 30_000)
  t.not(enrolled.cookie, user.cookie)
  t.equal((await me(user.cookie)).statusCode, 401, 'enable: the old cookie is signed out')
  t.equal((await me(elsewhere)).statusCode, 401, 'enable: the other session is signed out')
  t.equal((await me(enrolled.cookie)).statusCode, 200, 'the rotated session works')

  // Another session opened with the second factor, then regenerate from the first.
  const second = sessionCookie(await post('/api/auth/login/mfa', { mfaToken: await mfaToken(enrolled), code: await code(enrolled.secret) }))
  const regenerated = await post('/api/settings/security/backup-codes', { code: await code(enrolled.secret, 1) }, enrolled.cookie)
  t.equal(regenerated.statusCode, 200, regenerated.body)
  t.equal((await me(enrolled.cookie)).statusCode, 401, 'regenerate: the old cookie is signed out')
  t.equal((await me(second)).statusCode, 401, 'regenerate: the other session is signed out')
  const afterRegenerate = sessionCookie(regenerated)
  t.equal((await me(afterRegenerate)).statusCode, 200)

  const disabled = await post('/api/settings/security/mfa/disable', { password: PASSWORD, code: enrolled.backupCodes[0]! }, afterRegenerate)
  assertError(t, disabled, 401, 'invalid_mfa_code') // the old backup codes went with the regeneration
  const off = await post('/api/settings/security/mfa/disable', { password: PASSWORD, code: regenerated.json().backupCodes[0] }, afterRegenerate)
  t.equal(off.statusCode, 204, off.body)
  t.equal((await me(afterRegenerate)).statusCode, 401, 'disable: the old cookie is signed out')
  t.equal((await me(sessionCookie(off))).statusCode, 200, 'the rotated session works')

  const audit = await ctx.sql<{ action: string; after: { sessionsRevoked: number } }>(
    `select action, after from audit_log where actor_user_id = $1 and action in ('auth.mfa_enabled', 'auth.backup_codes_regenerated', 'auth.mfa_disabled') order by created_at, chain_seq`,
    [user.id],
  )
  t.same(audit.map((r) => [r.action, r.after.sessionsRevoked]),
    [['auth.mfa_enabled', 1], ['auth.backup_codes_regenerated', 1], ['auth.mfa_disabled', 0]], 'each audited with how many sessions it signed out')
  const live = await ctx.sql<{ mfa: boolean }>(
    'select mfa_at is not null as mfa from sessions where user_id = $1 and revoked_at is null', [user.id])
  t.same(live, [{ mfa: false }], 'one live session, no longer counted as signed in with a second factor')
})

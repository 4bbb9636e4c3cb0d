// The limit on MFA codes per account (mfa_verify_account): keyed by the user behind the mfaToken,
// counting failures only.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, assertError, enrolMfa, register, totpCode, type Actor, type MfaActor } from '../helpers/actors.js'

const ctx = await buildTestApp(t, { RATE_LIMIT_MFA_VERIFY_ACCOUNT: '3/15m' })

const post = (url: string, payload: object, cookie?: string) => ctx.app.inject({ method: 'POST', url, payload, headers: cookie ? { cookie } : {} })

async function mfaUser(): Promise<MfaActor> {
  return enrolMfa(ctx, await register(ctx), Date.now() - 30_000)
}

async function mfaToken(user: Actor): Promise<string> {
  return (await post('/api/auth/login', { email: user.email, password: PASSWORD })).json().mfaToken
}

t.test('failed codes are limited per account, whatever the mfaToken', async (t) => {
  // Threat: a guesser who knows the password brute-forces the 6-digit code, signing in again for a
  // fresh mfaToken whenever one is throttled.
  const user = await mfaUser()
  for (let i = 0; i < 3; i++) {
    assertError(t, await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), code: '000000' }), 401, 'invalid_mfa_code')
  }
  const limited = await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), code: '000000' })
  assertError(t, limited, 429, 'rate_limited')
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After')
  const right = totpCode(user.secret, Date.now())
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), code: right }), 429, 'rate_limited', /try again/)

  const other = await mfaUser()
  const code = totpCode(other.secret, Date.now())
  t.equal((await post('/api/auth/login/mfa', { mfaToken: await mfaToken(other), code })).statusCode, 200, 'another account is not affected')
})

t.test('successful codes do not count', async (t) => {
  const user = await mfaUser()
  for (const offset of [0, 1]) {
    const res = await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), code: totpCode(user.secret, Date.now() + offset * 30_000) })
    t.equal(res.statusCode, 200, res.body)
  }
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), code: '000000' }), 401, 'invalid_mfa_code')
  assertError(t, await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), code: '000000' }), 401, 'invalid_mfa_code')
  const last = await post('/api/auth/login/mfa', { mfaToken: await mfaToken(user), backupCode: 'aaaaa-aaaaa' })
  assertError(t, last, 401, 'invalid_mfa_code')
})

t.test('code checks in the security settings are limited per user', async (t) => {
  // Threat: someone holding a stolen session brute-forces a TOTP code to regenerate backup codes.
  const user = await mfaUser() // enabling was attempt 1 of 3
  for (let i = 0; i < 2; i++) {
    assertError(t, await post('/api/settings/security/backup-codes', { code: '000000' }, user.cookie), 401, 'invalid_mfa_code')
  }
  assertError(t, await post('/api/settings/security/backup-codes', { code: '000000' }, user.cookie), 429, 'rate_limited')
  assertError(t, await post('/api/settings/security/mfa/disable', { password: PASSWORD, code: '000000' }, user.cookie), 429, 'rate_limited')
})

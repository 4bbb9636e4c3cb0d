// The limit on current-password checks per signed-in user (password_verify_user): a stolen
// cookie is not a password oracle, on the password change nor on MFA setup.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, assertError, register, type Actor } from '../helpers/actors.js'

const ctx = await buildTestApp(t, { RATE_LIMIT_PASSWORD_VERIFY_USER: '3/15m' })

const post = (url: string, payload: object, actor: Actor) =>
  ctx.app.inject({ method: 'POST', url, payload, headers: { cookie: actor.cookie } })
const changePassword = (actor: Actor, currentPassword: string) =>
  post('/api/settings/security/password', { currentPassword, newPassword: 'an entirely new passphrase' }, actor)

t.test('wrong current passwords run out per user, across both routes', async (t) => {
  // Threat: someone holding a stolen session guesses the password through the settings routes.
  const victim = await register(ctx)
  const bystander = await register(ctx)
  const hashOf = async () => (await ctx.sql<{ h: string }>('select password_hash as h from users where id = $1', [victim.id]))[0]?.h
  const before = await hashOf()
  assertError(t, await changePassword(victim, 'guess number one'), 401, 'invalid_credentials')
  assertError(t, await post('/api/settings/security/mfa/setup', { password: 'guess number two' }, victim), 401, 'invalid_credentials')
  assertError(t, await changePassword(victim, 'guess number three'), 401, 'invalid_credentials')
  const limited = await changePassword(victim, PASSWORD)
  assertError(t, limited, 429, 'rate_limited')
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After')
  assertError(t, await post('/api/settings/security/mfa/setup', { password: PASSWORD }, victim), 429, 'rate_limited')
  t.equal(await hashOf(), before, 'the right password, past the limit, changed nothing')
  t.equal((await changePassword(bystander, PASSWORD)).statusCode, 204, 'another user is not affected')
  await ctx.app.securityEvents.settled()
  const events = await ctx.sql<{ code: string; route: string }>(
    'select code, route from security_events where user_id = $1 order by created_at, route', [victim.id])
  t.same(events.filter((e) => e.code === 'invalid_credentials').map((e) => e.route).sort(),
    ['/api/settings/security/mfa/setup', '/api/settings/security/password', '/api/settings/security/password'], 'each wrong guess is recorded, as the session\'s user')
  t.equal(events.filter((e) => e.code === 'rate_limited').length, 2, 'and each refusal past the limit')
})

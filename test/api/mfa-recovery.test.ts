// The recovery path for someone who lost every second factor: a platform administrator (with a
// second factor of their own) removes it with a reason, every session of the user is signed out,
// the user is emailed, and it is audited. Nobody else can, and nobody can do it to themself.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, as, assertError, enrolMfa, platformAdmin, register, type Actor } from '../helpers/actors.js'

const ctx = await buildTestApp(t)
const admin = await platformAdmin(ctx)

const reset = (actor: Actor | null, userId: string, body: object = { reason: 'lost phone and codes; identity checked by video call' }) =>
  ctx.app.inject({ method: 'POST', url: `/api/admin/users/${userId}/mfa-reset`, headers: actor ? as(actor) : {}, payload: body })
const me = (actor: Actor) => ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: as(actor) })

t.test('an administrator removes a lost second factor; the user is signed out, emailed, and signs in again', async (t) => {
  const user = await enrolMfa(ctx, await register(ctx))
  const res = await reset(admin, user.id)
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), { userId: user.id, sessionsRevoked: 1 })
  assertError(t, await me(user), 401, 'unauthenticated')
  const login = await ctx.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: PASSWORD } })
  t.equal(login.statusCode, 200, login.body)
  t.equal(login.json().user?.mfaEnabled, false, 'a password sign-in, no second factor asked')
  t.same(await ctx.sql('select 1 from mfa_backup_codes where user_id = $1', [user.id]), [], 'the backup codes are gone')

  await ctx.app.outbox.drain()
  const email = ctx.mail.sent.find((m) => m.to.includes(user.email) && /two-factor/i.test(m.subject))
  t.ok(email, 'the user is told')
  t.match(email?.text, /signed you out everywhere/)
  const audit = await ctx.sql(`select actor_user_id, entity_id, after, workspace_id from audit_log where action = 'platform.mfa_reset'`)
  t.same(audit, [{ actor_user_id: admin.id, entity_id: user.id, workspace_id: null,
    after: { reason: 'lost phone and codes; identity checked by video call', sessionsRevoked: 1 } }], 'audited as the administrator, with the reason')
})

t.test('only another platform administrator, with a reason, for a user who has MFA', async (t) => {
  // Threat: a stolen cookie (or a stolen administrator session) strips someone's second factor.
  const user = await enrolMfa(ctx, await register(ctx))
  const someone = await register(ctx)
  assertError(t, await reset(null, user.id), 401, 'unauthenticated')
  assertError(t, await reset(someone, user.id), 403, 'forbidden')
  assertError(t, await reset(user, user.id), 403, 'forbidden')
  assertError(t, await reset(admin, admin.id), 403, 'forbidden')
  assertError(t, await reset(admin, someone.id), 409, 'conflict')
  assertError(t, await reset(admin, '00000000-0000-4000-8000-000000000000'), 404, 'not_found')
  assertError(t, await reset(admin, 'not-a-uuid'), 400, 'validation_failed')
  assertError(t, await reset(admin, user.id, { reason: '   ' }), 400, 'validation_failed')
  assertError(t, await reset(admin, user.id, {}), 400, 'validation_failed')
  t.equal((await me(user)).statusCode, 200, 'the user is still signed in')
  t.same(await ctx.sql('select enabled_at is not null as on from user_mfa where user_id = $1', [user.id]), [{ on: true }], 'and keeps MFA')
  t.equal((await me(admin)).json().user.mfaEnabled, true, "the administrator's own MFA is untouched")
})

// A role change re-issues the member's sessions (API.md: a new token on role change of the
// user): the next request with each old token is answered with a new one, whatever its outcome;
// the old token then works for a few seconds only, as the new session, and never after.
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, activeTenant, addMember, as, assertError, customRole, register, sessionCookie, sessionToken, type Actor } from '../helpers/actors.js'
import { hashToken } from '../../src/crypto/tokens.js'

const ctx = await buildTestApp(t)

const me = (cookie: string) => ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })
const changeRole = (actor: Actor, workspaceId: string, userId: string, role: string) =>
  ctx.app.inject({ method: 'PATCH', url: `/api/workspace/members/${userId}`, headers: as(actor, workspaceId), payload: { role } })
const newCookie = (res: LightMyRequestResponse) => res.cookies.find((c) => c.name === 'sid')
const signIn = async (email: string) =>
  sessionCookie(await ctx.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password: PASSWORD } }))

interface SessionRow { id: string; revoked_at: Date | null; reissue_required: boolean; replaced_by: string | null; expires_at: Date; created_at: Date }
const sessionByCookie = async (cookie: string) =>
  (await ctx.sql<SessionRow>('select * from sessions where token_hash = $1', [hashToken(sessionToken(ctx, cookie))]))[0]!

/** A member of an active workspace, signed in twice (two devices), and the owner who manages them. */
async function memberWithTwoDevices() {
  const { owner, workspaceId } = await activeTenant(ctx)
  const member = await register(ctx)
  await addMember(ctx, workspaceId, member, 'agent')
  const laptop = member.cookie
  const phone = await signIn(member.email)
  return { owner, workspaceId, member, laptop, phone }
}

t.test('after a role change, the next request gets a new token; the old one dies', async (t) => {
  const { owner, workspaceId, member, laptop, phone } = await memberWithTwoDevices()
  const before = await sessionByCookie(laptop)
  t.equal((await changeRole(owner, workspaceId, member.id, 'admin')).statusCode, 200)
  t.ok((await sessionByCookie(laptop)).reissue_required && (await sessionByCookie(phone)).reissue_required, 'both sessions are marked')
  t.notOk((await sessionByCookie(owner.cookie)).reissue_required, "the owner's sessions are not")

  const res = await me(laptop)
  t.equal(res.statusCode, 200)
  const fresh = newCookie(res)
  t.ok(fresh, 'the reply carries a new session cookie')
  t.match(fresh, { httpOnly: true, sameSite: 'Lax', path: '/' })
  const reissued = `sid=${fresh!.value}`
  t.not(sessionToken(ctx, reissued), sessionToken(ctx, laptop), 'a different token')
  t.notMatch(res.body, fresh!.value.split('.')[0]!, 'never in the body')

  const replacement = await sessionByCookie(reissued)
  const old = await sessionByCookie(laptop)
  t.match(old, { replaced_by: replacement.id, reissue_required: false })
  t.ok(old.revoked_at, 'the old session is revoked')
  t.same([replacement.expires_at, replacement.created_at], [before.expires_at, before.created_at], 'same sign-in time and absolute expiry: a re-issue never extends a session')
  t.equal(replacement.reissue_required, false)

  const again = await me(reissued)
  t.equal(again.statusCode, 200)
  t.equal(newCookie(again), undefined, 'the new token is not re-issued again')
  t.match(again.json().memberships, [{ workspaceId, role: 'admin' }])

  // The old token still resolves for a moment (requests in flight), as the new session…
  const inFlight = await ctx.app.inject({ method: 'GET', url: '/api/auth/sessions', headers: { cookie: laptop } })
  t.equal(inFlight.statusCode, 200)
  t.equal(newCookie(inFlight), undefined, 'and is not re-issued twice')
  t.same(inFlight.json().sessions.filter((s: { current: boolean }) => s.current).map((s: { id: string }) => s.id), [replacement.id], 'as the new session')
  // …and not once the grace period is over.
  await ctx.sql(`update sessions set revoked_at = now() - interval '61 seconds' where id = $1`, [old.id])
  assertError(t, await me(laptop), 401, 'unauthenticated')
  t.equal((await me(reissued)).statusCode, 200)

  // The other device is re-issued on its own next request.
  const phoneRes = await me(phone)
  t.equal(phoneRes.statusCode, 200)
  t.ok(newCookie(phoneRes), 'the phone gets its own new token')
  t.not(newCookie(phoneRes)!.value, fresh!.value)
})

t.test('the re-issue does not depend on the request succeeding', async (t) => {
  // A failed request rolls its transaction back; the new token must still be real.
  const { owner, workspaceId, member, laptop } = await memberWithTwoDevices()
  await changeRole(owner, workspaceId, member.id, await customRole(ctx, workspaceId))
  const res = await ctx.app.inject({
    method: 'POST', url: '/api/crm/contacts', headers: { cookie: laptop, 'x-workspace-id': workspaceId }, payload: { name: 'Nope' },
  })
  assertError(t, res, 403, 'forbidden')
  const fresh = newCookie(res)
  t.ok(fresh, 'a refused request still carries the new token')
  t.equal((await me(`sid=${fresh!.value}`)).statusCode, 200, 'and it works')
})

t.test('concurrent requests with the old token: all succeed, one re-issues', async (t) => {
  // An SPA fires several requests at once; none may bounce with 401 because another rotated.
  const { owner, workspaceId, member, laptop } = await memberWithTwoDevices()
  await changeRole(owner, workspaceId, member.id, 'admin')
  const replies = await Promise.all(Array.from({ length: 6 }, () => me(laptop)))
  t.same(replies.map((r) => r.statusCode), [200, 200, 200, 200, 200, 200])
  const issued = replies.map(newCookie).filter(Boolean)
  t.equal(issued.length, 1, 'exactly one new token')
  const live = await ctx.sql<{ n: number }>('select count(*)::int as n from sessions where user_id = $1 and revoked_at is null', [member.id])
  t.equal(live[0]!.n, 2, 'the phone and the one replacement: no orphan sessions')
})

t.test('signing out with the old token during the grace period ends the new session too', async (t) => {
  // Threat: a sign-out that races the re-issue leaves the new token alive.
  const { owner, workspaceId, member, laptop } = await memberWithTwoDevices()
  await changeRole(owner, workspaceId, member.id, 'admin')
  const reissued = `sid=${newCookie(await me(laptop))!.value}`
  const out = await ctx.app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: laptop } })
  t.equal(out.statusCode, 204)
  assertError(t, await me(reissued), 401, 'unauthenticated')
  assertError(t, await me(laptop), 401, 'unauthenticated')
})

t.test('a marked session that signs out or signs in again is not re-issued on top', async (t) => {
  const { owner, workspaceId, member, laptop, phone } = await memberWithTwoDevices()
  await changeRole(owner, workspaceId, member.id, 'admin')
  const out = await ctx.app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: laptop } })
  t.equal(out.statusCode, 204)
  t.same(out.cookies.filter((c) => c.name === 'sid').map((c) => c.value), [''], 'only the cleared cookie')
  const login = await ctx.app.inject({ method: 'POST', url: '/api/auth/login', headers: { cookie: phone }, payload: { email: member.email, password: PASSWORD } })
  t.equal(login.statusCode, 200)
  const cookies = login.cookies.filter((c) => c.name === 'sid')
  t.equal(cookies.length, 1, "only the sign-in's cookie")
  t.equal((await sessionByCookie(`sid=${cookies[0]!.value}`)).replaced_by, null, 'a fresh session, not a re-issue')
})

t.test('changing one’s own role re-issues this session in the same reply', async (t) => {
  const { owner, workspaceId, member } = await memberWithTwoDevices()
  await changeRole(owner, workspaceId, member.id, 'owner')
  const res = await changeRole(owner, workspaceId, owner.id, 'admin')
  t.equal(res.statusCode, 200, res.body)
  const fresh = newCookie(res)
  t.ok(fresh, 'the new token comes with the reply')
  const mine = await me(`sid=${fresh!.value}`)
  t.match(mine.json().memberships, [{ workspaceId, role: 'admin' }])
})

t.test('an unchanged role re-issues nothing; a change in any workspace does', async (t) => {
  const { owner, workspaceId, member, laptop } = await memberWithTwoDevices()
  await changeRole(owner, workspaceId, member.id, 'agent')
  t.equal(newCookie(await me(laptop)), undefined, 'same role: same token')
  const elsewhere = await activeTenant(ctx, 'Elsewhere')
  await addMember(ctx, elsewhere.workspaceId, member, 'viewer')
  await changeRole(elsewhere.owner, elsewhere.workspaceId, member.id, 'agent')
  t.ok(newCookie(await me(laptop)), 'a role change in another workspace re-issues the same sessions')
})

t.test('the re-issue is audited as the member, and a failure leaves the session marked', async (t) => {
  const { owner, workspaceId, member, laptop } = await memberWithTwoDevices()
  await changeRole(owner, workspaceId, member.id, 'admin')
  const old = await sessionByCookie(laptop)
  // The runtime login cannot run the function for a moment: the reply goes out without a
  // new token (the request itself is unaffected) and the next request tries again.
  await ctx.sql('revoke execute on function app.reissue_session(bytea, bytea, text, text, text) from app_runtime')
  const failed = await me(laptop)
  await ctx.sql('grant execute on function app.reissue_session(bytea, bytea, text, text, text) to app_runtime')
  t.equal(failed.statusCode, 200)
  t.equal(newCookie(failed), undefined)
  t.ok((await sessionByCookie(laptop)).reissue_required, 'still marked')
  const res = await me(laptop)
  t.ok(newCookie(res))
  const [event] = await ctx.sql<{ actor_user_id: string; workspace_id: string | null; before: unknown; after: { sessionId: string; reason: string }; request_id: string }>(
    `select actor_user_id, workspace_id, before, after, request_id from audit_log where action = 'auth.session_reissued' and entity_id = $1`,
    [old.id],
  )
  t.match(event, { actor_user_id: member.id, workspace_id: null, before: { sessionId: old.id }, after: { reason: 'role_change' } })
  t.equal(event!.after.sessionId, (await sessionByCookie(`sid=${newCookie(res)!.value}`)).id)
  t.ok(event!.request_id, 'with the request id')
})

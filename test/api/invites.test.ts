// Invitations over HTTP: /api/workspace/invites (issue, list, revoke) and /api/invites/accept,
// with the emailed single-use link, and the attacks they defend against (a replayed or stolen
// link, another account, another tenant's invitation, a spam relay).
import t from 'tap'
import { createHash } from 'node:crypto'
import { buildTestApp } from '../helpers/app.js'
import {
  activeTenant, addMember, as, assertError, createWorkspace, customRole, emailsTo, register, roleOf, setWorkspaceState, tokenFromEmail, uniqueEmail,
  type Actor,
} from '../helpers/actors.js'
import { listAll } from '../helpers/audit.js'

const ctx = await buildTestApp(t, { RATE_LIMIT_INVITE_USER: '1000/1h', RATE_LIMIT_INVITE_ACCEPT_IP: '1000/15m' })

const invite = (actor: Actor, workspaceId: string, body: unknown) =>
  ctx.app.inject({ method: 'POST', url: '/api/workspace/invites', headers: as(actor, workspaceId), payload: body as object })
const list = (actor: Actor, workspaceId: string) =>
  ctx.app.inject({ method: 'GET', url: '/api/workspace/invites', headers: as(actor, workspaceId) })
const revoke = (actor: Actor, workspaceId: string, id: string) =>
  ctx.app.inject({ method: 'DELETE', url: `/api/workspace/invites/${id}`, headers: as(actor, workspaceId) })
const accept = (actor: Actor, token: string) =>
  ctx.app.inject({ method: 'POST', url: '/api/invites/accept', headers: as(actor), payload: { token } })

/** An owner's invitation to a fresh address: the invitee (registered, verified) and the link's token. */
async function invited(role = 'agent', tenant?: { owner: Actor; workspaceId: string }) {
  const { owner, workspaceId } = tenant ?? (await activeTenant(ctx, 'Inviting Co'))
  const invitee = await register(ctx)
  const res = await invite(owner, workspaceId, { email: invitee.email.toUpperCase(), role })
  if (res.statusCode !== 201) throw new Error(`invite: ${res.statusCode} ${res.body}`)
  const token = await tokenFromEmail(ctx, invitee.email)
  return { owner, workspaceId, invitee, token, invite: res.json().invite as { id: string; email: string; role: string; expiresAt: string } }
}

t.test('invite, email, accept: the invitee becomes a member with the role; audited', async (t) => {
  const { owner, workspaceId, invitee, token, invite: inv } = await invited('admin')
  t.match(inv, { email: invitee.email, role: 'admin' }, 'the address is normalised')
  const ttl = Date.parse(inv.expiresAt) - Date.now()
  t.ok(ttl > 6.9 * 86400_000 && ttl <= 7 * 86400_000, 'expires in 7 days')

  const mail = (await emailsTo(ctx, invitee.email)).find((m) => m.subject.startsWith('Join'))
  t.match(mail, { subject: 'Join Inviting Co on Gatehouse' })
  t.match(mail!.text, /Test User invited you to join Inviting Co on Gatehouse as an admin\./)
  t.match(mail!.text, /http:\/\/gatehouse\.test\/accept-invite#token=[A-Za-z0-9_-]{43}\n/, 'the token in the fragment, never in the query string')
  t.notMatch(mail!.text + mail!.html, /[?&]token=/)

  const listed = await list(owner, workspaceId)
  t.same(listed.json().invites.map((i: { id: string }) => i.id), [inv.id], 'listed while open')

  const res = await accept(invitee, token)
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), { workspaceId })
  t.equal(await roleOf(ctx, workspaceId, invitee.id), 'admin')
  const members = await ctx.app.inject({ method: 'GET', url: '/api/workspace/members', headers: as(invitee, workspaceId) })
  t.equal(members.statusCode, 200, 'the new member is in')
  t.same((await list(owner, workspaceId)).json().invites, [], 'no longer open')

  const { entries } = await listAll(ctx, as(owner, workspaceId), '/api/workspace/audit-log', '')
  t.match(entries.find((e) => e.action === 'membership.create'), { actorId: invitee.id, entityId: invitee.id, after: { role: 'admin' } })
  t.match(entries.find((e) => e.action === 'invite.create'), { actorId: owner.id, after: { email: invitee.email, role: 'admin' } })
  t.notMatch(JSON.stringify(entries), /token_hash/, 'the token hash is never copied into the log')
})

t.test('the link works once, and is stored as its hash only', async (t) => {
  // Threat: a link read later (mail archive, proxy log) is replayed, or read from a database dump.
  const { workspaceId, invitee, token } = await invited()
  const rows = await ctx.sql('select 1 from workspace_invites where token_hash = $1', [createHash('sha256').update(token).digest()])
  t.equal(rows.length, 1, 'found by SHA-256')
  t.equal((await accept(invitee, token)).statusCode, 200)
  assertError(t, await accept(invitee, token), 400, 'invalid_token')
  await ctx.sql('delete from memberships where workspace_id = $1 and user_id = $2', [workspaceId, invitee.id])
  assertError(t, await accept(invitee, token), 400, 'invalid_token', /used/)
  t.equal(await roleOf(ctx, workspaceId, invitee.id), undefined, 'a replay does not bring a removed member back')
})

t.test('two concurrent acceptances: exactly one wins', async (t) => {
  const { workspaceId, invitee, token } = await invited()
  const codes = (await Promise.all([accept(invitee, token), accept(invitee, token)])).map((r) => r.statusCode).sort()
  t.same(codes, [200, 400])
  t.equal(await roleOf(ctx, workspaceId, invitee.id), 'agent')
})

t.test('another account cannot use the link; the invitee still can', async (t) => {
  // Threat: whoever gets hold of the email (a forward, a shared inbox) joins with their own account.
  const { workspaceId, invitee, token } = await invited()
  const other = await register(ctx)
  assertError(t, await accept(other, token), 403, 'forbidden', /another email address/)
  t.equal(await roleOf(ctx, workspaceId, other.id), undefined)
  t.equal((await accept(invitee, token)).statusCode, 200, 'the link was not spent')
})

t.test('an unverified account with the invited address cannot join', async (t) => {
  // Threat: someone registers the invitee's address (without owning it) and accepts.
  const { owner, workspaceId } = await activeTenant(ctx)
  const squatter = await register(ctx, { verified: false })
  t.equal((await invite(owner, workspaceId, { email: squatter.email, role: 'agent' })).statusCode, 201)
  const token = await tokenFromEmail(ctx, squatter.email)
  assertError(t, await accept(squatter, token), 403, 'email_unverified')
  t.equal(await roleOf(ctx, workspaceId, squatter.id), undefined)
  assertError(t, await ctx.app.inject({ method: 'POST', url: '/api/invites/accept', payload: { token } }), 401, 'unauthenticated')
})

t.test('bad, expired and revoked links: 400 invalid_token', async (t) => {
  const { owner, workspaceId, invitee, token, invite: inv } = await invited()
  assertError(t, await accept(invitee, 'A'.repeat(43)), 400, 'invalid_token')
  assertError(t, await accept(invitee, 'not a token'), 400, 'invalid_token')
  await ctx.sql(`update workspace_invites set expires_at = now() - interval '1 second' where id = $1`, [inv.id])
  assertError(t, await accept(invitee, token), 400, 'invalid_token')

  const again = await invite(owner, workspaceId, { email: invitee.email, role: await customRole(ctx, workspaceId) })
  t.equal(again.statusCode, 201, 'a new invitation replaces the expired one')
  const second = await tokenFromEmail(ctx, invitee.email)
  t.equal((await revoke(owner, workspaceId, again.json().invite.id)).statusCode, 204)
  assertError(t, await accept(invitee, second), 400, 'invalid_token', /revoked/)
  assertError(t, await revoke(owner, workspaceId, again.json().invite.id), 404, 'not_found', /open invitation/)
  t.equal(await roleOf(ctx, workspaceId, invitee.id), undefined)
  assertError(t, await ctx.app.inject({ method: 'POST', url: '/api/invites/accept', headers: as(invitee), payload: {} }), 400, 'validation_failed')
})

t.test('a new invitation to the same address replaces the open one', async (t) => {
  const tenant = await activeTenant(ctx, 'Inviting Co')
  const { owner, workspaceId, invitee, token } = await invited(await customRole(ctx, tenant.workspaceId), tenant)
  t.equal((await invite(owner, workspaceId, { email: invitee.email, role: 'agent' })).statusCode, 201)
  const newer = await tokenFromEmail(ctx, invitee.email)
  assertError(t, await accept(invitee, token), 400, 'invalid_token', undefined)
  t.equal((await accept(invitee, newer)).statusCode, 200)
  t.equal(await roleOf(ctx, workspaceId, invitee.id), 'agent', 'the newest role')
  t.equal((await list(owner, workspaceId)).json().invites.length, 0)
})

t.test('who may invite, and whom: members:manage, roles they hold, nobody already in', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx)
  const admin = await register(ctx)
  const member = await register(ctx)
  await addMember(ctx, workspaceId, admin, 'admin')
  await addMember(ctx, workspaceId, member, 'agent')
  // Threat: a member invites an accomplice, or an admin invites a second owner for themselves.
  assertError(t, await invite(member, workspaceId, { email: uniqueEmail(), role: await customRole(ctx, workspaceId) }), 403, 'forbidden', /members:manage/)
  assertError(t, await list(member, workspaceId), 403, 'forbidden')
  assertError(t, await invite(admin, workspaceId, { email: uniqueEmail(), role: 'owner' }), 403, 'forbidden', /cannot grant the role owner/)
  t.equal((await invite(admin, workspaceId, { email: uniqueEmail(), role: 'admin' })).statusCode, 201, 'an admin invites an admin')
  assertError(t, await invite(owner, workspaceId, { email: member.email, role: 'admin' }), 409, 'conflict', /already a member/)
  for (const body of [{ email: 'not-an-email', role: 'agent' }, { email: uniqueEmail(), role: 'root' }, { email: uniqueEmail() }, { email: uniqueEmail(), role: 'agent', extra: 1 }]) {
    assertError(t, await invite(owner, workspaceId, body), 400, 'validation_failed')
  }
  // The retired built-in viewer, an unknown role id and another workspace's custom role are no roles here.
  const foreignRole = await customRole(ctx, (await activeTenant(ctx, 'Elsewhere')).workspaceId)
  for (const role of ['viewer', '00000000-0000-4000-8000-000000000000', foreignRole]) {
    assertError(t, await invite(owner, workspaceId, { email: uniqueEmail(), role }), 400, 'validation_failed')
  }
  const count = await ctx.sql<{ n: number }>('select count(*)::int as n from workspace_invites where workspace_id = $1', [workspaceId])
  t.equal(count[0]!.n, 1, 'only the admin invitation exists')
})

t.test("another tenant's invitations are invisible; a pending workspace cannot invite", async (t) => {
  // Threat: listing or revoking another workspace's invitations by id.
  const a = await invited()
  const b = await activeTenant(ctx, 'Other Co')
  assertError(t, await revoke(b.owner, b.workspaceId, a.invite.id), 404, 'not_found')
  assertError(t, await list(b.owner, a.workspaceId), 403, 'not_a_member')
  t.same((await list(b.owner, b.workspaceId)).json().invites, [])
  t.equal((await accept(a.invitee, a.token)).statusCode, 200, "A's invitation is untouched")

  const owner = await register(ctx)
  const pending = await createWorkspace(ctx, owner)
  assertError(t, await invite(owner, pending, { email: uniqueEmail(), role: 'agent' }), 403, 'workspace_pending_approval')
})

t.test('accepting into a workspace that cannot take writes is refused, the link kept', async (t) => {
  const { workspaceId, invitee, token } = await invited()
  await setWorkspaceState(ctx, workspaceId, { status: 'suspended' })
  assertError(t, await accept(invitee, token), 403, 'workspace_suspended')
  await setWorkspaceState(ctx, workspaceId, { status: 'active', trialDays: -1 })
  assertError(t, await accept(invitee, token), 402, 'trial_expired')
  t.equal(await roleOf(ctx, workspaceId, invitee.id), undefined)
  await setWorkspaceState(ctx, workspaceId, { trialDays: 3 })
  t.equal((await accept(invitee, token)).statusCode, 200, 'and accepted once it can')
})

t.test('invitations are rate limited per inviter (the service is no spam relay)', async (t) => {
  const limited = await buildTestApp(t, { RATE_LIMIT_INVITE_USER: '2/1h' })
  const owner = await register(limited)
  const workspaceId = await createWorkspace(limited, owner)
  await setWorkspaceState(limited, workspaceId, { status: 'active', trialDays: 14 })
  const viewerRole = await customRole(limited, workspaceId)
  const send = () => limited.app.inject({ method: 'POST', url: '/api/workspace/invites', headers: as(owner, workspaceId), payload: { email: uniqueEmail(), role: viewerRole } })
  t.same([(await send()).statusCode, (await send()).statusCode], [201, 201])
  const third = await send()
  assertError(t, third, 429, 'rate_limited')
  t.ok(Number(third.headers['retry-after']) > 0, 'Retry-After')
})

// The workspace email fallback: an invitation goes through the platform's Resend key; when that
// key fails (or the platform has none), the outbox sends it with the workspace's own Resend
// credential, and records which path sent it. The workspace's key never reaches a log line or
// a stored error; a workspace without a credential waits for the platform, as before.
import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import { buildTestApp, type TestContext } from '../helpers/app.js'
import { activeTenant, as, createWorkspace, register, setWorkspaceState } from '../helpers/actors.js'

const WORKSPACE_KEY = 're_workspaceOwnFallbackKey_Zq81'

async function setup(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}) {
  const lines: string[] = []
  const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }))
  const ctx = await buildTestApp(t, env, { logger })
  return { ctx, lines }
}

/** An owner's workspace (with its own Resend credential, or not) invites someone; `then` runs before the invitation. */
async function invite(ctx: TestContext, withCredential: boolean, then: () => void = () => {}) {
  // Verified by hand: with no platform key, no verification email is sent to follow.
  const owner = await register(ctx, { verified: false })
  await ctx.sql('update users set email_verified_at = now() where id = $1', [owner.id])
  const workspaceId = await createWorkspace(ctx, owner)
  await setWorkspaceState(ctx, workspaceId, { status: 'active', trialDays: 14 })
  if (withCredential) {
    const put = await ctx.app.inject({ method: 'PUT', url: '/api/workspace/channels/resend', headers: as(owner, workspaceId),
      payload: { apiKey: WORKSPACE_KEY, from: 'Acme Team <team@acme.test>' } })
    if (put.statusCode !== 200) throw new Error(put.body)
  }
  then()
  const email = `invitee-${Math.random().toString(36).slice(2)}@example.test`
  const res = await ctx.app.inject({ method: 'POST', url: '/api/workspace/invites', headers: as(owner, workspaceId), payload: { email, role: 'agent' } })
  if (res.statusCode !== 201) throw new Error(res.body)
  return { email, workspaceId }
}

const outboxRow = async (ctx: TestContext, email: string) =>
  (await ctx.sql<{ status: string; sent_via: string | null; last_error: string | null; attempts: number; from_workspace_id: string | null }>(
    'select status, sent_via, last_error, attempts, from_workspace_id from email_outbox where to_address = $1', [email]))[0]!

t.test('the platform key works: sent with it, recorded as platform', async (t) => {
  const { ctx } = await setup(t)
  const { email, workspaceId } = await invite(ctx, true)
  await ctx.app.outbox.drain()
  const sent = ctx.mail.sent.find((m) => m.to.includes(email))!
  t.equal(sent.authorization, 'Bearer re_test_key')
  t.match(await outboxRow(ctx, email), { status: 'sent', sent_via: 'platform', from_workspace_id: workspaceId })
})

t.test("the platform key is refused: the workspace's own key sends it, from its own address", async (t) => {
  const { ctx, lines } = await setup(t)
  const { email } = await invite(ctx, true, () => ctx.mail.refuseKey('re_test_key'))
  await ctx.app.outbox.drain()
  const sent = ctx.mail.sent.find((m) => m.to.includes(email))!
  t.equal(sent.authorization, `Bearer ${WORKSPACE_KEY}`)
  t.equal(sent.from, 'Acme Team <team@acme.test>')
  t.match(await outboxRow(ctx, email), { status: 'sent', sent_via: 'workspace' })
  t.ok(lines.some((l) => l.includes("trying the workspace's own Resend key")), 'the platform failure is logged')
  t.notOk(lines.some((l) => l.includes(WORKSPACE_KEY)), 'the workspace key is in no log line')
})

t.test('no platform key at all: the workspace key sends it', async (t) => {
  const { ctx } = await setup(t, { RESEND_API_KEY: '' })
  const { email } = await invite(ctx, true)
  await ctx.app.outbox.drain()
  t.equal(ctx.mail.sent.find((m) => m.to.includes(email))?.authorization, `Bearer ${WORKSPACE_KEY}`)
  t.match(await outboxRow(ctx, email), { status: 'sent', sent_via: 'workspace' })
})

t.test('both refused: the email waits for a retry; the stored error names no key', async (t) => {
  const { ctx, lines } = await setup(t)
  const { email } = await invite(ctx, true, () => {
    ctx.mail.refuseKey('re_test_key')
    ctx.mail.refuseKey(WORKSPACE_KEY)
  })
  await ctx.app.outbox.drain()
  const row = await outboxRow(ctx, email)
  t.match(row, { status: 'pending', sent_via: null, attempts: 1 })
  t.match(row.last_error, /workspace Resend key failed too/)
  t.notOk(row.last_error!.includes(WORKSPACE_KEY))
  t.notOk(lines.some((l) => l.includes(WORKSPACE_KEY)), 'the workspace key is in no log line')
})

t.test('no workspace credential: a platform failure is retried as before', async (t) => {
  const { ctx } = await setup(t)
  const { email } = await invite(ctx, false, () => ctx.mail.refuseKey('re_test_key'))
  await ctx.app.outbox.drain()
  t.match(await outboxRow(ctx, email), { status: 'pending', attempts: 1 })
})

t.test("the runtime login cannot queue an email as another workspace's", async (t) => {
  const { ctx } = await setup(t)
  const { workspaceId } = await activeTenant(ctx)
  const client = await ctx.pools.runtime.connect()
  try {
    await t.rejects(client.query(
      `insert into email_outbox (to_address, template, body_encrypted, from_workspace_id) values ('x@example.test', 't', 'v1.x', $1)`, [workspaceId]),
    /row-level security/)
    await t.rejects(client.query('select * from app.outbox_sender_credential($1)', [workspaceId]), /only the outbox worker/)
  } finally {
    client.release()
  }
})

t.test("a member's verification resent from the workspace is the workspace's: its key is the fallback", async (t) => {
  const { ctx } = await setup(t)
  const owner = await register(ctx, { verified: false })
  await ctx.sql('update users set email_verified_at = now() where id = $1', [owner.id])
  const workspaceId = await createWorkspace(ctx, owner)
  await setWorkspaceState(ctx, workspaceId, { status: 'active', trialDays: 14 })
  await ctx.app.inject({ method: 'PUT', url: '/api/workspace/channels/resend', headers: as(owner, workspaceId),
    payload: { apiKey: WORKSPACE_KEY, from: 'Acme Team <team@acme.test>' } })
  const member = await register(ctx, { verified: false })
  await ctx.sql(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'agent')`, [workspaceId, member.id])
  const outsider = await activeTenant(ctx)
  await ctx.app.outbox.drain()
  ctx.mail.refuseKey('re_test_key')

  const res = await ctx.app.inject({ method: 'POST', url: '/api/auth/verify-email/resend', headers: as(member, workspaceId) })
  t.equal(res.statusCode, 202, res.body)
  await ctx.app.outbox.drain()
  const rows = await ctx.sql<{ sent_via: string; status: string }>(
    `select sent_via, status from email_outbox where to_address = $1 and from_workspace_id = $2`, [member.email, workspaceId])
  t.same(rows, [{ sent_via: 'workspace', status: 'sent' }])

  const foreign = await ctx.app.inject({ method: 'POST', url: '/api/auth/verify-email/resend', headers: as(member, outsider.workspaceId) })
  t.equal(foreign.statusCode, 403, "another workspace's name: 403")
  t.equal(foreign.json().code, 'not_a_member')
  const bad = await ctx.app.inject({ method: 'POST', url: '/api/auth/verify-email/resend', headers: { ...as(member), 'x-workspace-id': 'nope' } })
  t.equal(bad.json().code, 'validation_failed')
})

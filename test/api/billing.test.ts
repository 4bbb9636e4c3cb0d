// POST /api/billing/webhook and GET /api/workspace/billing (API.md "Billing"): the provider's
// signed subscription events set a workspace's billing status, which the trial gate (HTTP and
// database alike) follows; anything unsigned, stale or replayed changes nothing. The service's
// clock (app.clock) is moved instead of sleeping; the database's grace end is moved as superuser.
import t from 'tap'
import { BILLING_WEBHOOK_SECRET, buildTestApp } from '../helpers/app.js'
import { activeTenant, addMember, as, assertError, register, setWorkspaceState } from '../helpers/actors.js'
import { signatureHeader } from '../../src/modules/billing/signature.js'

let now = Date.now()
const ctx = await buildTestApp(t, {}, { clock: () => now })

let counter = 0
interface EventOpts { id?: string; type?: string; status?: string | null; periodEnd?: number }
function event(workspaceId: string | null, opts: EventOpts = {}): { id: string; body: string } {
  const id = opts.id ?? `evt_api_${++counter}`
  const object: Record<string, unknown> = { id: 'sub_123', object: 'subscription', metadata: workspaceId ? { workspaceId } : {} }
  if (opts.status !== null) object.status = opts.status ?? 'active'
  if (opts.periodEnd !== undefined) object.current_period_end = opts.periodEnd
  return { id, body: JSON.stringify({ id, object: 'event', type: opts.type ?? 'customer.subscription.updated', data: { object } }) }
}

/** Delivers `body` as the provider would: signed with the secret at the service's clock, unless `headers` say otherwise. */
const deliver = (body: string, headers: Record<string, string | undefined> = {}) => {
  const signature = 'stripe-signature' in headers ? headers['stripe-signature'] : signatureHeader(body, BILLING_WEBHOOK_SECRET, Math.floor(now / 1000))
  const rest = Object.fromEntries(Object.entries(headers).filter(([k, v]) => k !== 'stripe-signature' && v !== undefined)) as Record<string, string>
  return ctx.app.inject({
    method: 'POST', url: '/api/billing/webhook', payload: body,
    headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'stripe-signature': signature }), ...rest },
  })
}
const send = async (workspaceId: string | null, opts: EventOpts = {}) => {
  const res = await deliver(event(workspaceId, opts).body)
  if (res.statusCode !== 200) throw new Error(`webhook: ${res.statusCode} ${res.body}`)
  return res.json<{ received: true; outcome: string }>().outcome
}

const billing = (owner: Parameters<typeof as>[0], workspaceId: string) =>
  ctx.app.inject({ method: 'GET', url: '/api/workspace/billing', headers: as(owner, workspaceId) })
const workspace = async (owner: Parameters<typeof as>[0], workspaceId: string) =>
  (await ctx.app.inject({ method: 'GET', url: '/api/workspace', headers: as(owner, workspaceId) })).json<{
    workspace: { trial: { expired: boolean }; billing: { status: string } }
  }>().workspace
const addContact = (owner: Parameters<typeof as>[0], workspaceId: string) =>
  ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: as(owner, workspaceId), payload: { name: 'Paid for' } })
const stateOf = async (workspaceId: string) =>
  (await ctx.sql('select billing_status, billing_period_ends_at, billing_grace_ends_at from workspaces where id = $1', [workspaceId]))[0]
const eventCount = async () => (await ctx.sql<{ n: number }>('select count(*)::int as n from billing_events'))[0]!.n
const billingAudit = (workspaceId: string) =>
  ctx.sql<{ action: string; actor_user_id: string | null; before: { status: string }; after: { status: string; eventId: string } }>(
    `select action, actor_user_id, before, after from audit_log where workspace_id = $1 and action like 'billing.%' order by chain_seq`, [workspaceId])

async function expiredTenant(name: string) {
  const tenant = await activeTenant(ctx, name)
  await setWorkspaceState(ctx, tenant.workspaceId, { trialDays: -1 })
  return tenant
}

t.test('a signed event applies its status: the trial gate lifts, and canceled brings it back', async (t) => {
  const { owner, workspaceId } = await expiredTenant('Lapsed Co')
  assertError(t, await addContact(owner, workspaceId), 402, 'trial_expired')
  t.equal((await workspace(owner, workspaceId)).trial.expired, true, 'GET /api/workspace: the trial has expired')

  const periodEnd = Math.floor(now / 1000) + 30 * 86_400
  const res = await deliver(event(workspaceId, { type: 'customer.subscription.created', status: 'active', periodEnd }).body)
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), { received: true, outcome: 'applied' })

  const answer = await billing(owner, workspaceId)
  t.equal(answer.statusCode, 200)
  t.same(answer.json(), {
    status: 'active',
    trialEndsAt: (await ctx.sql<{ t: Date }>('select trial_ends_at as t from workspaces where id = $1', [workspaceId]))[0]!.t.toISOString(),
    currentPeriodEnd: new Date(periodEnd * 1000).toISOString(),
    graceEndsAt: null,
  }, 'GET /api/workspace/billing')
  t.match(await workspace(owner, workspaceId), { billing: { status: 'active' }, trial: { expired: false } }, 'GET /api/workspace agrees')
  t.equal((await addContact(owner, workspaceId)).statusCode, 201, 'a write succeeds: the HTTP gate and the database gate both let it through')

  t.equal(await send(workspaceId, { type: 'customer.subscription.deleted', status: 'canceled' }), 'applied')
  assertError(t, await addContact(owner, workspaceId), 402, 'trial_expired')
  t.match(await workspace(owner, workspaceId), { billing: { status: 'canceled' }, trial: { expired: true } })

  t.equal(await send(workspaceId, { status: 'trialing' }), 'applied')
  t.equal((await addContact(owner, workspaceId)).statusCode, 201, 'trialing: writes')
  t.equal(await send(workspaceId, { status: 'unpaid' }), 'applied')
  assertError(t, await addContact(owner, workspaceId), 402, 'trial_expired', /trial has ended/)

  const audit = await billingAudit(workspaceId)
  t.same(audit.map((a) => [a.action, a.before.status, a.after.status, a.actor_user_id]), [
    ['billing.subscription_created', 'none', 'active', null],
    ['billing.subscription_deleted', 'active', 'canceled', null],
    ['billing.subscription_updated', 'canceled', 'trialing', null],
    ['billing.subscription_updated', 'trialing', 'unpaid', null],
  ], 'every applied event is audited in the workspace chain, with no actor')
})

t.test('past_due keeps writes during the grace period, then the trial gate answers', async (t) => {
  const { owner, workspaceId } = await expiredTenant('Late Payer')
  t.equal(await send(workspaceId, { status: 'active' }), 'applied')
  t.equal(await send(workspaceId, { status: 'past_due' }), 'applied')
  const grace = (await billing(owner, workspaceId)).json<{ status: string; graceEndsAt: string }>()
  t.equal(grace.status, 'past_due')
  const days = (Date.parse(grace.graceEndsAt) - Date.now()) / 86_400_000
  t.ok(days > 6.99 && days <= 7, `the grace ends 7 days from now (${grace.graceEndsAt})`)
  t.equal((await addContact(owner, workspaceId)).statusCode, 201, 'within the grace: writes')
  t.match(await workspace(owner, workspaceId), { trial: { expired: false } })

  await ctx.sql(`update workspaces set billing_grace_ends_at = now() - interval '1 minute' where id = $1`, [workspaceId])
  assertError(t, await addContact(owner, workspaceId), 402, 'trial_expired')
  t.match(await workspace(owner, workspaceId), { billing: { status: 'past_due' }, trial: { expired: true } }, 'the banner agrees with the gate')
})

t.test('bad, stale, future, malformed or missing signatures: 400 invalid_signature and nothing changed', async (t) => {
  const { workspaceId } = await expiredTenant('Forged Co')
  const { body } = event(workspaceId, { status: 'active' })
  const seconds = Math.floor(now / 1000)
  const before = [await stateOf(workspaceId), await eventCount()]
  const cases: Array<[string, string | undefined]> = [
    ['the wrong secret', signatureHeader(body, 'whsec_wrong', seconds)],
    ['a stale timestamp (5 minutes and a second)', signatureHeader(body, BILLING_WEBHOOK_SECRET, seconds - 301)],
    ['a future timestamp (5 minutes and a second)', signatureHeader(body, BILLING_WEBHOOK_SECRET, seconds + 301)],
    ['a malformed header', `t=${seconds}`],
    ['garbage', 'not a signature'],
    ['another body', signatureHeader(body.replace('active', 'trialing'), BILLING_WEBHOOK_SECRET, seconds)],
    ['no header', undefined],
  ]
  for (const [label, header] of cases) {
    assertError(t, await deliver(body, { 'stripe-signature': header }), 400, 'invalid_signature')
    t.pass(label)
  }
  t.same([await stateOf(workspaceId), await eventCount()], before, 'nothing changed, nothing recorded')
  await ctx.app.securityEvents.settled()
  const forged = await ctx.sql<{ n: number }>(
    `select count(*)::int as n from security_events where code = 'invalid_signature' and route = '/api/billing/webhook'`)
  t.equal(forged[0]!.n, cases.length, 'each forged delivery is a security event for the platform admins')

  // The service's clock decides: the same signature is good 4 minutes later, stale after 5.
  const header = signatureHeader(body, BILLING_WEBHOOK_SECRET, seconds)
  now += 6 * 60_000
  assertError(t, await deliver(body, { 'stripe-signature': header }), 400, 'invalid_signature')
  now -= 2 * 60_000
  t.equal((await deliver(body, { 'stripe-signature': header })).statusCode, 200, 'within the tolerance')
  now -= 4 * 60_000
})

t.test('a replayed event id is acknowledged and ignored', async (t) => {
  const { owner, workspaceId } = await expiredTenant('Replay Co')
  const activated = event(workspaceId, { status: 'active' })
  t.same((await deliver(activated.body)).json(), { received: true, outcome: 'applied' })
  t.equal(await send(workspaceId, { type: 'customer.subscription.deleted', status: 'canceled' }), 'applied')
  // Threat: a captured 'active' delivery, re-signed or replayed within its tolerance, reactivates a canceled subscription.
  const again = await deliver(activated.body)
  t.equal(again.statusCode, 200)
  t.same(again.json(), { received: true, outcome: 'replayed' })
  t.equal((await stateOf(workspaceId))!.billing_status, 'canceled', 'still canceled')
  assertError(t, await addContact(owner, workspaceId), 402, 'trial_expired')
  t.equal((await billingAudit(workspaceId)).length, 2, 'the replay is not audited')
})

t.test('unknown event types and unknown workspaces are acknowledged, recorded, and change nothing', async (t) => {
  const { workspaceId } = await expiredTenant('Quiet Co')
  const before = await stateOf(workspaceId)
  const invoice = event(workspaceId, { type: 'invoice.paid', status: 'active' })
  t.same((await deliver(invoice.body)).json(), { received: true, outcome: 'ignored' })
  t.same(await ctx.sql('select type, workspace_id from billing_events where id = $1', [invoice.id]),
    [{ type: 'invoice.paid', workspace_id: workspaceId }], 'recorded')
  t.equal(await send('00000000-0000-4000-8000-000000000000', { status: 'active' }), 'unknown_workspace')
  t.equal(await send(null, { status: 'active' }), 'unknown_workspace', 'no workspace in the metadata')
  t.equal(await send(workspaceId, { status: null }), 'ignored', 'no status')
  t.same(await stateOf(workspaceId), before, 'the workspace is unchanged')
  t.same(await billingAudit(workspaceId), [], 'nothing audited')
})

t.test('the body: JSON only, parsed after the signature', async (t) => {
  const { workspaceId } = await expiredTenant('Body Co')
  const before = await eventCount()
  assertError(t, await deliver('{"id": "evt_broken",'), 400, 'invalid_json')
  assertError(t, await deliver('{"id": "evt_no_type"}'), 400, 'validation_failed')
  assertError(t, await deliver(event(workspaceId).body, { 'content-type': 'text/plain' }), 415, 'unsupported_media_type')
  t.equal(await eventCount(), before, 'nothing recorded')
  // The signature covers the bytes as sent: the same event, differently spaced, verifies on its own bytes.
  const spaced = JSON.stringify(JSON.parse(event(workspaceId, { status: 'active' }).body), null, 2)
  t.same((await deliver(spaced)).json(), { received: true, outcome: 'applied' })
})

t.test('no cookie, no CSRF: the webhook answers whatever Origin says; a cookie signs nobody in', async (t) => {
  const { owner, workspaceId } = await expiredTenant('Origin Co')
  const res = await deliver(event(workspaceId, { status: 'active' }).body, { origin: 'https://billing.example', 'sec-fetch-site': 'cross-site' })
  t.same(res.json(), { received: true, outcome: 'applied' }, 'the CSRF rule is for cookie-authenticated writes')
  assertError(t, await deliver(event(workspaceId, { status: 'canceled' }).body, { cookie: owner.cookie, origin: 'https://evil.example' }), 403, 'csrf_rejected')
  // A same-origin delivery that carries a session cookie is still applied for no user.
  t.equal((await deliver(event(workspaceId, { status: 'trialing' }).body, { cookie: owner.cookie })).statusCode, 200)
  t.same((await billingAudit(workspaceId)).map((a) => a.actor_user_id), [null, null], 'no actor, cookie or not')
})

t.test('GET /api/workspace/billing is for owners (billing:read)', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'Owners Co')
  const admin = await register(ctx)
  await addMember(ctx, workspaceId, admin, 'admin')
  assertError(t, await billing(admin, workspaceId), 403, 'forbidden', /billing:read/)
  const res = await billing(owner, workspaceId)
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status: 'none', currentPeriodEnd: null, graceEndsAt: null, trialEndsAt: String })
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/workspace/billing', headers: { 'x-workspace-id': workspaceId } }), 401, 'unauthenticated')
})

t.test('without BILLING_WEBHOOK_SECRET the webhook answers 503 and the provider retries', async (t) => {
  const off = await buildTestApp(t, { BILLING_WEBHOOK_SECRET: '' }, { db: ctx.db })
  const { body } = event(null)
  const res = await off.app.inject({
    method: 'POST', url: '/api/billing/webhook', payload: body,
    headers: { 'content-type': 'application/json', 'stripe-signature': signatureHeader(body, BILLING_WEBHOOK_SECRET, Math.floor(Date.now() / 1000)) },
  })
  assertError(t, res, 503, 'unavailable', /not configured/)
})

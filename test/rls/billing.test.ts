// Billing (sql/220, app.billing_keeps_writes in sql/020) as the runtime login with arbitrary SQL
// and no HTTP in between. Threat: an attacker holding the runtime login marks a workspace paid,
// or reads or forges the provider's events; without the billing key (which only the schema owner
// reads, at start-up) nothing of that works. With the key (the service's path), the database's
// write gate follows each status: active and trialing keep writes, past_due keeps them during
// its grace, canceled and unpaid bring back the trial's rule. Fixtures and clock moves are made
// as superuser, and every "nothing changed" is checked as superuser.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  inRequest, ownerOf, permissionDenied, pgError, refusal, refusedUnchanged, restrictiveViolation, rows, seedTenant, tokenHash,
  type Request, type Sql, type Tenant,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)
const KEY = (await rows<{ secret: Buffer }>(su, `select secret from database_secrets where name = 'billing_webhook'`))[0]!.secret

let counter = 0
const eventId = () => `evt_rls_${++counter}_${Date.now()}`

/** app.apply_billing_event as the runtime, in a request of `req` (default: anonymous, as the webhook). */
const apply = (workspaceId: string | null, status: string | null, opts: { key?: Buffer; id?: string; type?: string; periodEnd?: Date | null; req?: Request } = {}) =>
  inRequest(runtime, opts.req ?? {}, async (sql) =>
    (await rows<{ outcome: string }>(sql, 'select app.apply_billing_event($1, $2, $3, $4, $5, $6) as outcome', [
      opts.key ?? KEY, opts.id ?? eventId(), opts.type ?? 'customer.subscription.updated', workspaceId, status, opts.periodEnd ?? null,
    ]))[0]!.outcome)

const billingOf = async (tenant: Tenant) =>
  (await rows<{ billing_status: string; billing_period_ends_at: Date | null; billing_grace_ends_at: Date | null }>(su,
    'select billing_status, billing_period_ends_at, billing_grace_ends_at from workspaces where id = $1', [tenant.workspaceId]))[0]!
const eventsOf = (tenant: Tenant) => rows(su, 'select id, type from billing_events where workspace_id = $1 order by received_at, id', [tenant.workspaceId])
const snapshot = async (tenant: Tenant) => ({ billing: await billingOf(tenant), events: await eventsOf(tenant) })

/** What the database's write gate answers for the tenant's owner, and whether a contact insert gets through. */
async function writable(tenant: Tenant, sql: Sql = runtime): Promise<boolean> {
  const gate = await inRequest(sql, ownerOf(tenant), async (s) => (await rows<{ w: boolean }>(s, 'select app.current_workspace_writable() as w'))[0]!.w)
  const insert = await pgError(inRequest(sql, ownerOf(tenant), (s) =>
    s.query(`insert into contacts (workspace_id, name) values ($1, 'gate probe')`, [tenant.workspaceId])))
  if (gate) t.equal(insert, null, 'writable: the insert gets through')
  else t.same(insert, restrictiveViolation('contacts are added only to an active, paid-up workspace', 'contacts'), 'not writable: the insert is refused')
  return gate
}

const expired = () => seedTenant(su, { trialDays: -1, contacts: 0 })

t.test('the runtime cannot mark a workspace paid, nor read or forge billing events', async (t) => {
  const a = await expired()
  for (const [text, values, table] of [
    [`update workspaces set billing_status = 'active' where id = $1`, [a.workspaceId], 'workspaces'],
    [`update workspaces set billing_grace_ends_at = now() + interval '1 year' where id = $1`, [a.workspaceId], 'workspaces'],
    [`update workspaces set trial_ends_at = now() + interval '1 year' where id = $1`, [a.workspaceId], 'workspaces'],
    ['select * from billing_events', [], 'billing_events'],
    [`insert into billing_events (id, type, workspace_id) values ('evt_forged', 'customer.subscription.updated', $1)`, [a.workspaceId], 'billing_events'],
    [`delete from billing_events`, [], 'billing_events'],
    [`select secret from database_secrets where name = 'billing_webhook'`, [], 'database_secrets'],
  ] as const) {
    await refusedUnchanged(t, () => snapshot(a), () => inRequest(runtime, ownerOf(a), (sql) => sql.query(text, [...values])),
      permissionDenied('table', table), `as the owner: ${text}`)
    await refusedUnchanged(t, () => snapshot(a), () => inRequest(runtime, {}, (sql) => sql.query(text, [...values])),
      permissionDenied('table', table), `anonymously: ${text}`)
  }
  t.notOk(await writable(a), 'still not writable')
})

t.test('app.apply_billing_event refuses a wrong or missing key, and a signed-in user, changing and recording nothing', async (t) => {
  const a = await expired()
  const forbidden = refusal('GHFBD', 'only the billing webhook may apply billing events')
  for (const [label, key] of [['a random key', tokenHash()], ['the outbox worker key', null], ['an empty key', Buffer.alloc(0)]] as const) {
    const k = key ?? (await rows<{ secret: Buffer }>(su, `select secret from database_secrets where name = 'outbox_worker'`))[0]!.secret
    await refusedUnchanged(t, () => snapshot(a), () => apply(a.workspaceId, 'active', { key: k }), forbidden, label)
  }
  await refusedUnchanged(t, () => snapshot(a), () => inRequest(runtime, {}, (sql) =>
    sql.query(`select app.apply_billing_event(null, 'evt_x', 'customer.subscription.updated', $1, 'active', null)`, [a.workspaceId])), forbidden, 'no key')
  // The key in a signed-in user's request: the audit row would name them, so it is refused.
  await refusedUnchanged(t, () => snapshot(a), () => apply(a.workspaceId, 'active', { req: ownerOf(a) }),
    refusal('GHFBD', 'billing events are applied for no user'), "in the owner's own request")
  t.same(await rows(su, `select id from billing_events where id = 'evt_x'`), [], 'no event recorded')
  t.notOk(await writable(a), 'still not writable')
})

t.test('each status decides the database write gate; replays and unknown events change nothing', async (t) => {
  const a = await expired()
  t.notOk(await writable(a), 'an expired trial without a subscription: not writable')

  const activated = eventId()
  const periodEnd = new Date('2030-01-31T00:00:00Z')
  t.equal(await apply(a.workspaceId, 'active', { id: activated, periodEnd }), 'applied')
  t.same(await billingOf(a), { billing_status: 'active', billing_period_ends_at: periodEnd, billing_grace_ends_at: null })
  t.ok(await writable(a), 'active: writable')
  t.equal(await apply(a.workspaceId, 'active', { periodEnd }), 'unchanged', 'the same state again: unchanged')

  t.equal(await apply(a.workspaceId, 'canceled', { type: 'customer.subscription.deleted' }), 'applied')
  t.equal((await billingOf(a)).billing_status, 'canceled')
  t.same((await billingOf(a)).billing_period_ends_at, periodEnd, 'without a period end the last one is kept')
  t.notOk(await writable(a), 'deleted (canceled) with the trial over: not writable')

  // Threat: a captured 'active' event replayed to reactivate a canceled subscription.
  const canceled = await billingOf(a)
  t.equal(await apply(a.workspaceId, 'active', { id: activated, periodEnd }), 'replayed', 'a replayed event id')
  t.same(await billingOf(a), canceled, 'the replay changed nothing')
  t.notOk(await writable(a), 'still not writable after the replay')

  t.equal(await apply(a.workspaceId, 'trialing'), 'applied')
  t.ok(await writable(a), 'trialing: writable')
  t.equal(await apply(a.workspaceId, 'unpaid'), 'applied')
  t.notOk(await writable(a), 'unpaid: not writable')
  t.equal(await apply(a.workspaceId, 'paused'), 'unchanged', 'an unknown status is unpaid: no unknown status keeps writes')
  t.equal(await apply(a.workspaceId, 'active'), 'applied')
  t.equal(await apply(a.workspaceId, 'incomplete_expired'), 'applied')
  t.equal((await billingOf(a)).billing_status, 'unpaid', 'incomplete_expired: unpaid')

  // Unknown types, events without a status, and unknown workspaces: recorded, no effect.
  const before = await billingOf(a)
  t.equal(await apply(a.workspaceId, 'active', { type: 'invoice.paid' }), 'ignored', 'another event type')
  t.equal(await apply(a.workspaceId, null), 'ignored', 'an update without a status')
  t.equal(await apply('00000000-0000-4000-8000-000000000000', 'active'), 'unknown_workspace', 'no such workspace')
  t.equal(await apply(null, 'active'), 'unknown_workspace', 'no workspace named')
  t.same(await billingOf(a), before, 'none of them changed the workspace')
  const unknownId = eventId()
  t.equal(await apply(null, 'active', { id: unknownId }), 'unknown_workspace')
  t.same(await rows(su, 'select type, workspace_id from billing_events where id = $1', [unknownId]),
    [{ type: 'customer.subscription.updated', workspace_id: null }], 'recorded without a workspace')
  t.same(await pgError(apply(a.workspaceId, 'active', { id: 'x'.repeat(256) })),
    refusal('GHINV', 'a billing event needs an id and a type of 1 to 255 characters'), 'an oversized id')

  // Within its trial, a canceled subscription still writes (the trial's rule is back).
  const b = await seedTenant(su, { trialDays: 3, contacts: 0 })
  t.equal(await apply(b.workspaceId, 'canceled'), 'applied')
  t.ok(await writable(b), 'canceled within the trial: writable')
})

t.test('past_due keeps writes for 7 days from when it first went past_due', async (t) => {
  const a = await expired()
  t.equal(await apply(a.workspaceId, 'active'), 'applied')
  t.equal(await apply(a.workspaceId, 'past_due'), 'applied')
  const [{ grace, expected }] = await rows<{ grace: Date; expected: boolean }>(su,
    `select billing_grace_ends_at as grace, billing_grace_ends_at between now() + interval '7 days' - interval '1 minute'
                                                                     and now() + interval '7 days' as expected
       from workspaces where id = $1`, [a.workspaceId]) as [{ grace: Date; expected: boolean }]
  t.ok(expected, `the grace ends 7 days after the first past_due event (${grace.toISOString()})`)
  t.ok(await writable(a), 'past_due within the grace: writable')

  // Three days later, another past_due event: the grace does not start again.
  await su.query(`update workspaces set billing_grace_ends_at = billing_grace_ends_at - interval '3 days' where id = $1`, [a.workspaceId])
  const moved = (await billingOf(a)).billing_grace_ends_at
  t.equal(await apply(a.workspaceId, 'past_due'), 'unchanged', 'still past_due')
  t.same((await billingOf(a)).billing_grace_ends_at, moved, 'the grace end is kept')

  await su.query(`update workspaces set billing_grace_ends_at = now() - interval '1 second' where id = $1`, [a.workspaceId])
  t.notOk(await writable(a), 'past_due after the grace: not writable')

  t.equal(await apply(a.workspaceId, 'active'), 'applied')
  t.equal((await billingOf(a)).billing_grace_ends_at, null, 'paid again: the grace is cleared')
  t.ok(await writable(a), 'active again: writable')
  t.equal(await apply(a.workspaceId, 'past_due'), 'applied')
  t.ok((await billingOf(a)).billing_grace_ends_at! > new Date(Date.now() + 6 * 86_400_000), 'a new delinquency: a new grace')

  // Seeded past_due without a grace (before the webhook existed): not writable.
  const b = await seedTenant(su, { trialDays: -1, billing: 'past_due', contacts: 0 })
  t.notOk(await writable(b), 'past_due with no grace recorded: not writable')
})

t.test("every applied event is audited in the workspace's chain, with no actor", async (t) => {
  const a = await expired()
  const id = eventId()
  await inRequest(runtime, { ip: '192.0.2.7', requestId: 'req-billing-1' }, async (sql) =>
    sql.query('select app.apply_billing_event($1, $2, $3, $4, $5, $6)', [KEY, id, 'customer.subscription.created', a.workspaceId, 'active', new Date('2031-05-01T00:00:00Z')]))
  t.equal(await apply(a.workspaceId, 'active'), 'unchanged')
  t.equal(await apply(a.workspaceId, 'active', { type: 'invoice.paid' }), 'ignored')
  const audit = await rows(su,
    `select kind, action, actor_user_id, entity_type, entity_id, before, after, ip, request_id
       from audit_log where workspace_id = $1 and kind = 'event' order by chain_seq`, [a.workspaceId])
  t.same(audit, [{
    kind: 'event', action: 'billing.subscription_created', actor_user_id: null, entity_type: 'workspace', entity_id: a.workspaceId,
    before: { status: 'none', currentPeriodEnd: null, graceEndsAt: null },
    after: { status: 'active', currentPeriodEnd: '2031-05-01T00:00:00+00:00', graceEndsAt: null, eventId: id, providerStatus: 'active' },
    ip: '192.0.2.7', request_id: 'req-billing-1',
  }], 'one row for the one change, none for the unchanged or ignored events')
})

t.test('billing events are append-only, for every role', async (t) => {
  const a = await expired()
  const id = eventId()
  await apply(a.workspaceId, 'active', { id })
  for (const text of [`update billing_events set type = 'x' where id = $1`, `update billing_events set id = 'evt_other' where id = $1`,
    'delete from billing_events where id = $1']) {
    t.match(await pgError(su.query(text, [id])), { code: '42501', message: /append-only/ }, `as superuser: ${text.split(' ').slice(0, 4).join(' ')}`)
  }
  t.match(await pgError(su.query('truncate billing_events')), { code: '42501' }, 'truncate')
  // The foreign key's ON DELETE SET NULL (a workspace removed for good) is the one change allowed.
  t.equal((await su.query('update billing_events set workspace_id = null where id = $1', [id])).rowCount, 1, 'workspace_id to NULL')
})

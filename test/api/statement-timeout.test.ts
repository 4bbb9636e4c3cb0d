// statement_timeout on the service's pools (STATEMENT_TIMEOUT_MS). Threat: a statement that runs
// for ever — stuck behind a lock, or a query someone found a way to make slow — holds its pooled
// connection for as long as it runs, and a handful of them stop the service; and when one does
// fail, its error reaches the client as a 500 with the database's words in it. Every connection
// of both pools carries the timeout from its first statement, and a statement PostgreSQL stops for
// it (SQLSTATE 57014) is a 503 `unavailable` that changed nothing.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { connect } from '../helpers/db.js'
import { activeTenant, as, assertError, countContacts } from '../helpers/actors.js'
import { closePools, createPools } from '../../src/db/pool.js'

const ctx = await buildTestApp(t, { STATEMENT_TIMEOUT_MS: '300' })
const { owner, workspaceId } = await activeTenant(ctx, 'Slow Co')

t.test('every connection of both pools has the timeout, as the runtime login', async (t) => {
  for (const [name, pool] of [['runtime', ctx.pools.runtime], ['worker', ctx.pools.worker]] as const) {
    const { rows } = await pool.query<{ login: string; timeout: string; source: string }>(
      "select current_user as login, current_setting('statement_timeout') as timeout, source from pg_settings where name = 'statement_timeout'",
    )
    t.same(rows[0], { login: new URL(ctx.db.appUrl).username, timeout: '300ms', source: 'client' }, `${name}: set by the service when it connects`)
  }
  const defaults = createPools({ runtimeUrl: ctx.db.appUrl, runtimeMax: 1 })
  t.teardown(() => closePools(defaults))
  const { rows } = await defaults.runtime.query<{ timeout: string }>("select current_setting('statement_timeout') as timeout")
  t.equal(rows[0]!.timeout, '5s', 'a pool made without the setting still has the default')
})

t.test('a request whose statement runs past the timeout answers 503 unavailable, changes nothing, and the next one works', async (t) => {
  // The slow statement: the contacts table is locked by another session, as a long migration or
  // a stuck maintenance job would; the request's INSERT (or SELECT) queues behind it.
  const before = await countContacts(ctx, workspaceId)
  const locker = await connect(t, ctx.db.superUrl)
  await locker.query('begin')
  await locker.query('lock table contacts in access exclusive mode')
  // Should the timeout not fire, the lock goes after 10 s and the requests below succeed late,
  // failing the test rather than hanging it.
  const safety = setTimeout(() => void locker.query('rollback'), 10_000)
  try {
    const started = Date.now()
    const write = await ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: as(owner, workspaceId), payload: { name: 'Stuck' } })
    assertError(t, write, 503, 'unavailable')
    t.notMatch(write.body, /statement|timeout|cancel|lock|contacts|57014/i, 'no SQL or database message in the answer')
    t.equal(write.headers['cache-control'], 'no-store')
    const read = await ctx.app.inject({ method: 'GET', url: '/api/crm/contacts', headers: as(owner, workspaceId) })
    assertError(t, read, 503, 'unavailable')
    t.ok(Date.now() - started < 5000, `answered when the timeout fired, not when the lock went (${Date.now() - started} ms)`)
  } finally {
    clearTimeout(safety)
    await locker.query('rollback')
  }
  t.equal(await countContacts(ctx, workspaceId), before, 'nothing was written')
  const [open] = await ctx.sql<{ n: number }>("select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'")
  t.equal(open!.n, 0, 'no connection was left in a transaction')
  const again = await ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: as(owner, workspaceId), payload: { name: 'Unstuck' } })
  t.equal(again.statusCode, 201, 'the pool works once the lock is gone')
})

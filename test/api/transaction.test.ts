// The request transaction (DESIGN.md invariants 3 and 4): a 2xx means committed, a failed COMMIT
// is a 503 with nothing saved, any error rolls back, and a pooled connection goes back idle with
// no tenant context — or is destroyed.
import t from 'tap'
import pg from 'pg'
import { buildApp } from '../../src/app.js'
import { createPools, closePools, type Pools } from '../../src/db/pool.js'
import { beginRequest } from '../../src/db/request-tx.js'
import { AppError } from '../../src/errors.js'
import { hashToken } from '../../src/crypto/tokens.js'
import { routes } from '../../src/plugins/request-tx.js'
import { revokeSession } from '../../src/modules/auth/queries.js'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, activeTenant, as, assertError, createContact, sessionToken, uniqueEmail } from '../helpers/actors.js'

const ctx = await buildTestApp(t)
const CONTACTS = '/api/crm/contacts'

/** Pools on this file's test database with a runtime pool of one connection. */
function singleConnectionPools(): Pools {
  const pools = createPools({ runtimeUrl: ctx.db.appUrl, runtimeMax: 1 })
  t.teardown(() => closePools(pools))
  return pools
}

/** The backend pid of a client (node-postgres sets it; its types omit it). */
const backendPid = (client: pg.PoolClient): number => (client as unknown as { processID: number }).processID

/** The backend pid of the pool's (only) connection, checked out and straight back. */
async function pidOf(pool: pg.Pool): Promise<number> {
  const client = await pool.connect()
  const pid = backendPid(client)
  client.release()
  return pid
}

async function backendState(pid: number) {
  const [row] = await ctx.sql<{ state: string; xid: string | null }>(
    'select state, backend_xid::text as xid from pg_stat_activity where pid = $1',
    [pid],
  )
  return row
}

t.test('(a) a 2xx means committed', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'Committed Co')
  const res = await ctx.app.inject({ method: 'POST', url: CONTACTS, headers: as(owner, workspaceId), payload: { name: 'Visible' } })
  t.equal(res.statusCode, 201)
  const rows = await ctx.sql('select name, workspace_id from contacts where id = $1', [res.json().contact.id])
  t.same(rows, [{ name: 'Visible', workspace_id: workspaceId }], 'the row is visible to another connection as soon as the client has its 201')
})

t.test('(b) a failed COMMIT answers 503 unavailable and saves nothing', async (t) => {
  // Threat: the client is told "created" for a change the database then refused at COMMIT.
  await ctx.sql(`
    create function public.test_fail_at_commit() returns trigger language plpgsql as $$
    begin
      if new.name = 'fail-at-commit' then
        raise exception 'deferred check failed for %', new.id;
      end if;
      return null;
    end $$`)
  await ctx.sql(`
    create constraint trigger contacts_fail_at_commit after insert on public.contacts
      deferrable initially deferred for each row execute function public.test_fail_at_commit()`)
  const { owner, workspaceId } = await activeTenant(ctx, 'Commit Fails Co')

  const res = await ctx.app.inject({ method: 'POST', url: CONTACTS, headers: as(owner, workspaceId), payload: { name: 'fail-at-commit' } })
  assertError(t, res, 503, 'unavailable')
  t.notMatch(res.body, /deferred check|fail-at-commit/, 'no internal message')
  const rows = await ctx.sql(`select 1 from contacts where name = 'fail-at-commit'`)
  t.equal(rows.length, 0, 'no row was saved')

  const next = await ctx.app.inject({ method: 'POST', url: CONTACTS, headers: as(owner, workspaceId), payload: { name: 'After' } })
  t.equal(next.statusCode, 201, 'the service carries on')
})

t.test('(c) any handler error rolls back everything the request wrote', async (t) => {
  // Threat: a request that fails half-way leaves half its writes (an account without its email, a session).
  // Registration writes a user, a session and an email token before it queues the email; make the
  // queueing fail and nothing of it may remain.
  await ctx.sql(`
    create function public.test_fail_outbox() returns trigger language plpgsql as $$
    begin
      if new.to_address like 'explode-400-%' then
        raise exception 'refused by test' using errcode = '23514';
      elsif new.to_address like 'explode-500-%' then
        raise exception 'internal detail from a test trigger';
      end if;
      return new;
    end $$`)
  await ctx.sql(`create trigger email_outbox_test_fail before insert on public.email_outbox
                 for each row execute function public.test_fail_outbox()`)

  for (const [status, code] of [[400, 'validation_failed'], [500, 'internal']] as const) {
    const email = uniqueEmail(`explode-${status}`)
    const res = await ctx.app.inject({ method: 'POST', url: '/api/auth/register', payload: { email, password: PASSWORD, name: 'Half' } })
    assertError(t, res, status, code)
    t.notMatch(res.body, /internal detail|refused by test|email_outbox/, 'no internal message reaches the client')
    const left = await ctx.sql<{ users: number; sessions: number; tokens: number; outbox: number }>(
      `select (select count(*)::int from users where email = $1) as users,
              (select count(*)::int from sessions s join users u on u.id = s.user_id where u.email = $1) as sessions,
              (select count(*)::int from email_tokens e join users u on u.id = e.user_id where u.email = $1) as tokens,
              (select count(*)::int from email_outbox where to_address = $1) as outbox`,
      [email],
    )
    t.same(left, [{ users: 0, sessions: 0, tokens: 0, outbox: 0 }], `${status}: nothing was saved`)
    const setCookie = res.cookies.find((c) => c.name === 'sid')
    t.notOk(setCookie?.value, `${status}: no session cookie for a rolled-back session`)
  }
})

t.test('(d) context never leaks between requests on a pooled connection', async (t) => {
  // Threat: tenant A's context, left on a pooled connection, is what tenant B's request runs with.
  const pools = singleConnectionPools()
  const app = await buildApp(ctx.config, { pools, keys: ctx.keys, outboxIntervalMs: 0 })
  t.teardown(() => app.close())
  await app.ready()

  const a = await activeTenant(ctx, 'Tenant A')
  const b = await activeTenant(ctx, 'Tenant B')
  await createContact(ctx, a.owner, a.workspaceId, { name: 'A secret' })
  await createContact(ctx, b.owner, b.workspaceId, { name: 'B public' })

  const pid = await pidOf(pools.runtime)
  const names = async (actor: typeof a) => {
    const res = await app.inject({ method: 'GET', url: CONTACTS, headers: as(actor.owner, actor.workspaceId) })
    t.equal(res.statusCode, 200, res.body)
    return (res.json().contacts as { name: string }[]).map((c) => c.name).sort()
  }
  /** After a request: still the same backend, idle, no transaction and no context. */
  const assertClean = async (after: string) => {
    await app.securityEvents.settled() // a refusal is recorded after the reply, on a pooled connection
    t.equal(pools.runtime.totalCount, 1, `${after}: one connection in the pool`)
    t.equal(pools.runtime.idleCount, 1, `${after}: and it is idle in the pool`)
    t.same(await backendState(pid), { state: 'idle', xid: null }, `${after}: the backend is idle, no open transaction`)
    const client = await pools.runtime.connect()
    try {
      t.equal(backendPid(client), pid, `${after}: the same backend`)
      t.equal(client.getTransactionStatus(), 'I')
      const { rows } = await client.query(
        `select app.current_workspace_id() as ws, app.current_user_id() as uid, app.current_session_id() as sid,
                (select count(*)::int from contacts) as visible`,
      )
      t.same(rows, [{ ws: null, uid: null, sid: null, visible: 0 }], `${after}: no context left on the connection`)
    } finally {
      client.release()
    }
  }

  t.same(await names(a), ['A secret'], "A sees A's contacts")
  await assertClean("after A's read")
  t.same(await names(b), ['B public'], "B, on the same backend, sees only B's")
  await assertClean("after B's read")

  const write = await app.inject({ method: 'POST', url: CONTACTS, headers: as(a.owner, a.workspaceId), payload: { name: 'A again' } })
  t.equal(write.statusCode, 201)
  await assertClean("after A's write")
  t.same(await names(b), ['B public'], "B still sees only B's")

  const refused = await app.inject({ method: 'POST', url: CONTACTS, headers: as(a.owner, a.workspaceId), payload: { name: '' } })
  assertError(t, refused, 400, 'validation_failed')
  await assertClean("after A's refused write")
  const crossed = await app.inject({ method: 'GET', url: CONTACTS, headers: as(b.owner, a.workspaceId) })
  assertError(t, crossed, 403, 'not_a_member')
  await assertClean("after B named A's workspace")
  const anonymous = await app.inject({ method: 'GET', url: '/api/auth/me' })
  assertError(t, anonymous, 401, 'unauthenticated')
  await assertClean('after an anonymous request')
})

t.test('(e) RequestTx: a connection is reused only when idle, destroyed otherwise', async (t) => {
  const pools = singleConnectionPools()
  const pool = pools.runtime
  const { owner } = await activeTenant(ctx, 'Unit Co')
  const tokenHash = hashToken(sessionToken(ctx, owner.cookie))

  await t.test('commit: back to the pool idle, the same backend next time', async (t) => {
    const pid = await pidOf(pool)
    const { tx, principal } = await beginRequest(pool, { tokenHash })
    t.equal(principal?.userId, owner.id, 'the session resolved')
    t.equal(tx.client.getTransactionStatus(), 'T', 'inside the request transaction')
    await tx.commit()
    t.ok(tx.finished)
    t.equal(pool.idleCount, 1)
    t.equal(await pidOf(pool), pid, 'reused')
    await tx.rollback() // a second finish is a no-op, not a double release
    t.equal(pool.idleCount, 1)
  })

  await t.test('rollback: back to the pool idle', async (t) => {
    const pid = await pidOf(pool)
    const { tx } = await beginRequest(pool, { tokenHash })
    await tx.rollback()
    t.equal(pool.idleCount, 1)
    t.equal(await pidOf(pool), pid, 'reused')
  })

  await t.test('COMMIT of an aborted transaction is a 503, saves nothing and destroys the connection', async (t) => {
    const pid = await pidOf(pool)
    const { tx } = await beginRequest(pool, { tokenHash })
    const to = uniqueEmail('aborted')
    await tx.client.query(`insert into email_outbox (to_address, template, body_encrypted) values ($1, 'test', 'x')`, [to])
    await t.rejects(tx.client.query('select 1/0'), { code: '22012' })
    await t.rejects(tx.client.query('select 1'), { code: '25P02' }, 'the transaction is aborted')
    const err = await tx.commit().then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof AppError, 'commit throws')
    t.equal((err as AppError).code, 'unavailable')
    t.equal(pool.totalCount, 0, 'the connection was destroyed, not pooled')
    t.not(await pidOf(pool), pid, 'the next request gets a new backend')
    t.same(await ctx.sql('select 1 from email_outbox where to_address = $1', [to]), [], 'nothing was saved')
  })

  await t.test('commitWith: the last statement and its COMMIT, sent together', async (t) => {
    const pid = await pidOf(pool)
    const to = uniqueEmail('together')
    const { tx } = await beginRequest(pool, { tokenHash })
    const statement = tx.client.query(`insert into email_outbox (to_address, template, body_encrypted) values ($1, 'test', 'x')`, [to])
    const inFlight = (tx.client as unknown as { _sentQueryQueue: unknown[]; _activeQuery: unknown })
    t.ok(inFlight._activeQuery || inFlight._sentQueryQueue.length, 'the statement is on the wire before COMMIT is sent')
    const result = await tx.commitWith(statement)
    t.equal(result.rowCount, 1, "the statement's result")
    t.ok(tx.finished)
    t.same(await ctx.sql('select 1 as saved from email_outbox where to_address = $1', [to]), [{ saved: 1 }], 'committed')
    t.equal(pool.idleCount, 1, 'back to the pool idle')
    t.equal(await pidOf(pool), pid, 'reused')
    await t.rejects(tx.commitWith(Promise.resolve(1)), /ended/, 'a finished transaction takes no more statements')
  })

  await t.test('commitWith: a failing statement is the error, and nothing is saved', async (t) => {
    // Threat: the COMMIT sent behind a failed statement saves what came before it.
    const pid = await pidOf(pool)
    const to = uniqueEmail('failed-last')
    const { tx } = await beginRequest(pool, { tokenHash })
    await tx.client.query(`insert into email_outbox (to_address, template, body_encrypted) values ($1, 'test', 'x')`, [to])
    await t.rejects(tx.commitWith(tx.client.query('select 1/0')), { code: '22012' }, "the statement's own error")
    t.ok(tx.finished)
    t.same(await ctx.sql('select 1 from email_outbox where to_address = $1', [to]), [], 'the earlier write was not saved')
    t.equal(pool.idleCount, 1, 'the connection, rolled back, is idle in the pool')
    t.equal(await pidOf(pool), pid, 'reused')
  })

  await t.test('commitWith: a statement not on this connection is awaited first, then COMMIT', async (t) => {
    const { tx } = await beginRequest(pool, { tokenHash })
    const to = uniqueEmail('later')
    await tx.client.query(`insert into email_outbox (to_address, template, body_encrypted) values ($1, 'test', 'x')`, [to])
    t.equal(await tx.commitWith(Promise.resolve('computed')), 'computed')
    t.same(await ctx.sql('select 1 as saved from email_outbox where to_address = $1', [to]), [{ saved: 1 }], 'committed')
  })

  await t.test('a connection still in a transaction after the request is destroyed', async (t) => {
    const pid = await pidOf(pool)
    const { tx } = await beginRequest(pool, { tokenHash })
    // What release() sees when a request left its transaction open (e.g. a query that opened a
    // new block after ours ended). Simulated on the real pooled client: the guard is the subject.
    tx.client.getTransactionStatus = () => 'T'
    await tx.commit()
    t.equal(pool.totalCount, 0, 'destroyed, not returned to the pool')
    t.not(await pidOf(pool), pid, 'the next request gets a new backend')
  })

  await t.test('a backend killed during the request: rollback never throws, the pool recovers', async (t) => {
    // Threat: a dead connection goes back to the pool (or crashes the process) and fails the next request.
    const pid = await pidOf(pool)
    const { tx } = await beginRequest(pool, { tokenHash })
    const gone = new Promise((resolve) => tx.client.once('end', resolve))
    await ctx.sql('select pg_terminate_backend($1)', [pid])
    await gone
    await tx.rollback()
    t.equal(pool.totalCount, 0, 'the dead connection is not pooled')
    const next = await beginRequest(pool, { tokenHash })
    t.equal(next.principal?.userId, owner.id, 'a new connection serves the next request')
    t.not(backendPid(next.tx.client), pid)
    await next.tx.commit()
  })

  await t.test('a backend killed before COMMIT: 503 unavailable', async (t) => {
    const pid = await pidOf(pool)
    const { tx } = await beginRequest(pool, { tokenHash })
    const gone = new Promise((resolve) => tx.client.once('end', resolve))
    await ctx.sql('select pg_terminate_backend($1)', [pid])
    await gone
    await t.rejects(tx.commit(), { code: 'unavailable', statusCode: 503 })
    t.equal(pool.totalCount, 0)
    t.not(await pidOf(pool), pid)
  })
})

t.test('(f) one file keeps "a 2xx means committed": plugins/request-tx.ts', async (t) => {
  // Threat: a route added later skips the COMMIT wrapper, or a hook answers 2xx for a transaction
  // that is then rolled back, and the client is told "done" for nothing.
  const build = async (extra: (app: Awaited<ReturnType<typeof buildApp>>) => void) => {
    const app = await buildApp(ctx.config, { pools: ctx.pools, keys: ctx.keys, outboxIntervalMs: 0 })
    extra(app)
    t.teardown(() => app.close())
    return app
  }

  await t.test('an /api route that declares no access cannot be added', async (t) => {
    await build((app) => t.throws(() => app.get('/api/unguarded', async () => ({ ok: true })), /declares no access/))
  })

  await t.test('a route with access whose handler skips routes() cannot be added', async (t) => {
    await build((app) => t.throws(() => app.get('/api/raw', { config: { access: 'user' } }, async () => ({ ok: true })), /not made with routes\(\)/))
  })

  await t.test('a hook that answers 2xx on its own: rolled back and answered 500', async (t) => {
    const { owner } = await activeTenant(ctx, 'Hook Co')
    const app = await build((app) => {
      app.register(async (scoped) => {
        // Runs after the transaction opened and the gates passed; it writes, then replies itself.
        scoped.addHook('preHandler', async (request, reply) => {
          await revokeSession(request.ctx!.db, request.ctx!.principal!.sessionId!)
          return reply.code(200).send({ user: null, memberships: [] })
        })
        routes(scoped, 'user').get('/api/hooked', { schema: {} }, async () => ({ handler: 'ran' }))
      })
    })
    await app.ready()
    const res = await app.inject({ method: 'GET', url: '/api/hooked', headers: as(owner) })
    assertError(t, res, 500, 'internal')
    const me = await ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: as(owner) })
    t.equal(me.statusCode, 200, 'the session the hook revoked is still live: nothing was committed')
  })
})

t.test('(g) a request refused before the gates costs no database round trip', async (t) => {
  // Threat: a flood of malformed or anonymous requests ties up the pool.
  const { owner, workspaceId } = await activeTenant(ctx, 'Cheap Refusals Co')
  let acquired = 0
  const count = () => { acquired++ }
  ctx.pools.runtime.on('acquire', count)
  t.teardown(() => { ctx.pools.runtime.off('acquire', count) })

  const invalid = await ctx.app.inject({ method: 'POST', url: CONTACTS, headers: as(owner, workspaceId), payload: { name: '' } })
  assertError(t, invalid, 400, 'validation_failed')
  const anonymous = await ctx.app.inject({ method: 'GET', url: CONTACTS, headers: { 'x-workspace-id': workspaceId } })
  assertError(t, anonymous, 401, 'unauthenticated')
  const forged = await ctx.app.inject({ method: 'GET', url: CONTACTS, headers: { cookie: 'sid=forged.value', 'x-workspace-id': workspaceId } })
  assertError(t, forged, 401, 'unauthenticated')
  t.equal(acquired, 0, 'no connection was taken for a 400 or for a caller with no valid-looking token')

  const valid = await ctx.app.inject({ method: 'GET', url: CONTACTS, headers: as(owner, workspaceId) })
  t.equal(valid.statusCode, 200)
  t.equal(acquired, 1, 'a request that passes validation takes exactly one connection')
})

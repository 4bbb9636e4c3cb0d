// The service's pools, both on the runtime login (APP_DATABASE_URL), whose role must not be able
// to bypass row-level security (invariant 2): start-up checks that, and that every table has
// row-level security enabled and forced, and refuses to run otherwise (assertSecurePosture).
// The service holds no connection as the schema owner: that login runs the migrations and the
// start-up sync (src/db/startup.ts), then is closed.
//
//   runtime  request transactions, the rate limiter, session re-issues. In pipeline mode, so a
//            request's BEGIN and its app.begin_request go out in one write: one round trip.
//   worker   the outbox worker's drains (src/email/worker.ts), kept apart so a slow email
//            provider never holds a connection requests are waiting for.
//
// Every connection of both has a statement_timeout (STATEMENT_TIMEOUT_MS), set when it connects:
// a statement that runs longer is cancelled by PostgreSQL (SQLSTATE 57014), its transaction rolls
// back, and the request answers 503 (plugins/errors.ts), rather than one slow statement or lock
// queue holding connections until the pool is empty.
import pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'
import { definerFunctionFindings, describeProblems, loginFindings, tableFindings } from './posture.js'
import { DEFAULT_STATEMENT_TIMEOUT_MS } from '../config.js'

export interface Pools {
  runtime: pg.Pool
  worker: pg.Pool
}

export interface PoolOptions {
  runtimeUrl: string
  runtimeMax?: number
  /** statement_timeout of every connection, ms (config.statementTimeoutMs). */
  statementTimeoutMs?: number
  /** Told about a connection that failed while no query was waiting on it. */
  log?: Pick<FastifyBaseLogger, 'warn'>
}

/**
 * Guards every client of `pool` for its whole life. pg emits 'error' on a client whose backend
 * goes away (a server restart, pg_terminate_backend, a network drop) even between two queries;
 * pg-pool listens only while the client is idle in the pool, so a checked-out client — a
 * request's, the outbox worker's in the middle of a drain — would otherwise throw an uncaught
 * exception and take the process down. With a listener from the moment the client exists, the
 * next query on it fails instead, and whoever holds it releases it as broken.
 */
function guardClients(pool: pg.Pool, name: string, log?: PoolOptions['log']): void {
  pool.on('connect', (client) => {
    client.on('error', (err) => log?.warn({ err, pool: name }, 'database connection lost'))
  })
  // An idle client's error reaches the pool too; pg has already removed it.
  pool.on('error', (err) => log?.warn({ err, pool: name }, 'idle database connection lost'))
}

/**
 * Sends every protocol message a connection writes in one tick of the event loop in one socket
 * write. node-postgres writes each message on its own (Parse, Bind, Describe, Execute, Sync for
 * every extended query), and each is a system call: under load the service spent about half its
 * CPU in writev/writeBuffer (a V8 profile of `npm run bench`). Corking the socket at the first
 * message of a tick and uncorking on the next tick (Node's documented idiom for batching writes)
 * turns a request's opening BEGIN + app.begin_request into one write, and a statement with its
 * COMMIT into another. Nothing waits longer than the current tick.
 */
function coalesceWrites(client: pg.PoolClient): void {
  const connection = (client as unknown as { connection: { stream: import('node:net').Socket; _send(buffer: Buffer): boolean } }).connection
  const stream = connection.stream
  const send = connection._send.bind(connection)
  let corked = false
  const uncork = () => {
    corked = false
    stream.uncork()
  }
  connection._send = (buffer: Buffer) => {
    if (!corked && stream.writable) {
      corked = true
      stream.cork()
      process.nextTick(uncork)
    }
    return send(buffer)
  }
}

export function createPools(opts: PoolOptions): Pools {
  const common = {
    connectionString: opts.runtimeUrl,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // A startup parameter: the session has it from its first statement, with no extra round trip.
    statement_timeout: opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
  }
  const runtime = new pg.Pool({ ...common, max: opts.runtimeMax ?? 20, application_name: 'gatehouse', pipeline: true })
  const worker = new pg.Pool({ ...common, max: 2, application_name: 'gatehouse-worker' })
  guardClients(runtime, 'runtime', opts.log)
  guardClients(worker, 'worker', opts.log)
  runtime.on('connect', coalesceWrites)
  return { runtime, worker }
}

export async function closePools(pools: Pools): Promise<void> {
  await Promise.allSettled([pools.runtime.end(), pools.worker.end()])
}

export class UnsafeDatabaseError extends Error {
  override name = 'UnsafeDatabaseError'
}

/**
 * Start-up's posture check (src/db/posture.ts, the same checks rls:report and the catalogue test
 * run): refuses a runtime login that could read across tenants — a superuser, BYPASSRLS (own or
 * inherited), CREATEROLE, REPLICATION, an owner of anything, a member of a role that owns the
 * schema's objects or of app_auditor — a table whose row-level security is not enabled and
 * forced, and a SECURITY DEFINER function without a pinned search_path, open to PUBLIC or owned
 * by a role that bypasses RLS. Also requires membership of app_runtime, or nothing would work.
 */
export async function assertSecurePosture(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ login: string; runtime: boolean }>(
    `select current_user as login,
            exists (select 1 from pg_roles a where a.rolname = 'app_runtime' and pg_has_role(current_user, a.oid, 'MEMBER')) as runtime`,
  )
  const { login, runtime } = rows[0]!
  const { problems } = await loginFindings(pool, login)
  if (problems.length) {
    throw new UnsafeDatabaseError(
      `Refusing to start: the runtime database role "${login}" could bypass row-level security: it ${problems.join(', ')}. ` +
        'Set APP_DATABASE_URL to a plain login role (NOSUPERUSER NOBYPASSRLS, owning nothing); the migrations grant it app_runtime.',
    )
  }
  if (!runtime) {
    throw new UnsafeDatabaseError(
      `Refusing to start: the runtime database role "${login}" is not a member of app_runtime. Run the migrations with APP_DATABASE_URL set to this role.`,
    )
  }
  const tables = describeProblems(await tableFindings(pool))
  if (tables.length) {
    throw new UnsafeDatabaseError(
      `Refusing to start: row-level security is off where every tenant's rows would be exposed: ${tables.join('; ')}. ` +
        'Run the migrations (they enable and force it on every table), or put tables of your own in another schema.',
    )
  }
  const functions = describeProblems(await definerFunctionFindings(pool))
  if (functions.length) {
    throw new UnsafeDatabaseError(
      `Refusing to start: a SECURITY DEFINER function could be hijacked or run for anyone: ${functions.join('; ')}. ` +
        'Run the migrations (they pin, revoke and own each one), or move functions of your own to another schema.',
    )
  }
}

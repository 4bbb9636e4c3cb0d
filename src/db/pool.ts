// The service's pools, both on the runtime login (APP_DATABASE_URL), whose role must not be able
// to bypass row-level security (invariant 2): start-up checks that and refuses to run otherwise.
// The service holds no connection as the schema owner: that login runs the migrations and the
// start-up sync (src/db/startup.ts), then is closed.
//
//   runtime  request transactions, the rate limiter, session re-issues. In pipeline mode, so a
//            request's BEGIN and its app.begin_request go out in one write: one round trip.
//   worker   the outbox worker's drains (src/email/worker.ts), kept apart so a slow email
//            provider never holds a connection requests are waiting for.
import pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'

export interface Pools {
  runtime: pg.Pool
  worker: pg.Pool
}

export interface PoolOptions {
  runtimeUrl: string
  runtimeMax?: number
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
  const common = { connectionString: opts.runtimeUrl, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 }
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

export class UnsafeRuntimeRoleError extends Error {
  override name = 'UnsafeRuntimeRoleError'
}

/**
 * Refuses a runtime role that could read across tenants: a superuser, a BYPASSRLS role (or a
 * member of one), a CREATEROLE role (on PostgreSQL 15 it can grant itself the schema owner's
 * role and switch row-level security off), a REPLICATION role (it can stream every row), an
 * owner of anything in this database (or a member of the schema owner), or a member of
 * app_privileged or app_mailer (whose functions would then run on its own authority). Also
 * requires membership of app_runtime, or nothing would work.
 */
export async function assertRuntimeRoleIsSafe(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{
    role: string
    superuser: boolean
    bypassrls: boolean
    createrole: boolean
    replication: boolean
    inherits_bypass: boolean
    owns: string | null
    member_of_owner: boolean
    privileged: boolean
    runtime: boolean
  }>(`
    select r.rolname as role,
           r.rolsuper as superuser,
           r.rolbypassrls as bypassrls,
           r.rolcreaterole as createrole,
           r.rolreplication as replication,
           exists (select 1 from pg_roles o
                    where (o.rolsuper or o.rolbypassrls) and o.oid <> r.oid
                      and pg_has_role(r.oid, o.oid, 'MEMBER')) as inherits_bypass,
           coalesce(
             (select 'table ' || c.oid::regclass::text from pg_class c where c.relowner = r.oid limit 1),
             (select 'function ' || p.oid::regprocedure::text from pg_proc p where p.proowner = r.oid limit 1),
             (select 'schema ' || n.nspname from pg_namespace n where n.nspowner = r.oid limit 1)
           ) as owns,
           coalesce((select pg_has_role(r.oid, c.relowner, 'MEMBER') from pg_class c
                      where c.oid = to_regclass('public.contacts')), false) as member_of_owner,
           exists (select 1 from pg_roles p where p.rolname in ('app_privileged', 'app_mailer')
                      and pg_has_role(r.oid, p.oid, 'MEMBER')) as privileged,
           exists (select 1 from pg_roles a where a.rolname = 'app_runtime'
                      and pg_has_role(r.oid, a.oid, 'MEMBER')) as runtime
      from pg_roles r where r.rolname = current_user`)
  const r = rows[0]
  if (!r) throw new UnsafeRuntimeRoleError('cannot read the runtime role from pg_roles')
  const problems: string[] = []
  if (r.superuser) problems.push('is a superuser')
  if (r.bypassrls) problems.push('has BYPASSRLS')
  if (r.createrole) problems.push('has CREATEROLE')
  if (r.replication) problems.push('has REPLICATION')
  if (r.inherits_bypass) problems.push('is a member of a superuser or BYPASSRLS role')
  if (r.owns) problems.push(`owns ${r.owns}`)
  if (r.member_of_owner) problems.push('is a member of the schema owner role')
  if (r.privileged) problems.push('is a member of app_privileged or app_mailer')
  if (problems.length) {
    throw new UnsafeRuntimeRoleError(
      `Refusing to start: the runtime database role "${r.role}" could bypass row-level security: it ${problems.join(', ')}. ` +
        'Set APP_DATABASE_URL to a plain login role (NOSUPERUSER NOBYPASSRLS, owning nothing); the migrations grant it app_runtime.',
    )
  }
  if (!r.runtime) {
    throw new UnsafeRuntimeRoleError(
      `Refusing to start: the runtime database role "${r.role}" is not a member of app_runtime. Run the migrations with APP_DATABASE_URL set to this role.`,
    )
  }
}

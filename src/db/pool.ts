// The two pools. The runtime pool logs in as APP_DATABASE_URL's role, which must not be able to
// bypass row-level security (invariant 2): start-up checks that and refuses to run otherwise.
// The owner pool is small and used only for migrations and the outbox worker.
import pg from 'pg'

export interface Pools {
  runtime: pg.Pool
  owner: pg.Pool
}

export function createPools(opts: { ownerUrl: string; runtimeUrl: string; runtimeMax?: number }): Pools {
  const common = { connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 }
  const runtime = new pg.Pool({ connectionString: opts.runtimeUrl, max: opts.runtimeMax ?? 20, ...common, application_name: 'gatehouse' })
  const owner = new pg.Pool({ connectionString: opts.ownerUrl, max: 2, ...common, application_name: 'gatehouse-owner' })
  // An idle client that errors (server restart, network) is removed by pg; without a listener
  // the error would crash the process.
  runtime.on('error', () => {})
  owner.on('error', () => {})
  return { runtime, owner }
}

export async function closePools(pools: Pools): Promise<void> {
  await Promise.allSettled([pools.runtime.end(), pools.owner.end()])
}

export class UnsafeRuntimeRoleError extends Error {
  override name = 'UnsafeRuntimeRoleError'
}

/**
 * Refuses a runtime role that could read across tenants: a superuser, a BYPASSRLS role (or a
 * member of one), a CREATEROLE role (on PostgreSQL 15 it can grant itself the schema owner's
 * role and switch row-level security off), a REPLICATION role (it can stream every row), an
 * owner of anything in this database (or a member of the schema owner), or a member of
 * app_privileged. Also requires membership of app_runtime, or nothing would work.
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
           exists (select 1 from pg_roles p where p.rolname = 'app_privileged'
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
  if (r.privileged) problems.push('is a member of app_privileged')
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

// The database's security posture, checked one way wherever it is checked: start-up refuses to
// run on a runtime login or a schema that fails it (src/db/pool.ts), `npm run rls:report` prints
// what it finds for DBAs, and the catalogue test (test/rls/catalogue.test.ts) asserts it finds
// nothing on the migrated schema — and finds each problem it plants.
//
// Everything here reads pg_catalog, which any role may read: the runtime login can check itself.

/** What the checks need of a connection, a pool or a client alike. */
export interface Queryable {
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }>
}

export interface Findings {
  /** 'login <name>', 'table <name>'. */
  object: string
  problems: string[]
}

/** The schemas whose tables must all have row-level security enabled and forced. */
export const SEALED_SCHEMAS = ['public', 'app']

/**
 * What could let `login` read across tenants: being a superuser, having BYPASSRLS (own or
 * inherited), CREATEROLE (on PostgreSQL 15 it can grant itself the schema owner's role and turn
 * FORCE off), REPLICATION (it streams every row); owning anything (an owner may ALTER its
 * policies away); membership of a role that owns the schema's objects (app_privileged,
 * app_mailer, the schema owner) or of app_auditor (every workspace's audit log).
 */
export async function loginFindings(db: Queryable, login: string): Promise<Findings> {
  const { rows } = await db.query<{
    superuser: boolean
    bypassrls: boolean
    createrole: boolean
    replication: boolean
    bypassing: string[]
    owns: string[]
    owners: string[]
    auditor: boolean
  }>(
    `with r as (select * from pg_roles where rolname = $1),
          owners as (
            select relowner as oid from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('public', 'app')
            union select proowner from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('public', 'app')
            union select nspowner from pg_namespace where nspname = 'app'
            union select datdba from pg_database where datname = current_database()
            union select oid from pg_roles where rolname in ('app_privileged', 'app_mailer'))
     select r.rolsuper as superuser, r.rolbypassrls as bypassrls, r.rolcreaterole as createrole, r.rolreplication as replication,
            array(select o.rolname::text from pg_roles o where o.oid <> r.oid and (o.rolsuper or o.rolbypassrls)
                     and pg_has_role(r.oid, o.oid, 'MEMBER') order by 1) as bypassing,
            -- pg_shdepend records owners cluster-wide: objects here by name, elsewhere by database.
            array(select case when d.dbid in (0, db.oid) then pg_describe_object(d.classid, d.objid, d.objsubid)
                              else 'an object in database ' || (select datname from pg_database where oid = d.dbid) end
                    from pg_shdepend d, (select oid from pg_database where datname = current_database()) db
                   where d.refclassid = 'pg_authid'::regclass and d.refobjid = r.oid and d.deptype = 'o' order by 1) as owns,
            array(select o.rolname::text from pg_roles o join owners using (oid)
                   where o.oid <> r.oid and pg_has_role(r.oid, o.oid, 'MEMBER') order by 1) as owners,
            exists (select 1 from pg_roles a where a.rolname = 'app_auditor' and pg_has_role(r.oid, a.oid, 'MEMBER')) as auditor
       from r`,
    [login],
  )
  const r = rows[0]
  const object = `login ${login}`
  if (!r) return { object, problems: ['does not exist'] }
  const problems: string[] = []
  if (r.superuser) problems.push('is a superuser')
  if (r.bypassrls) problems.push('has BYPASSRLS')
  if (r.createrole) problems.push('has CREATEROLE')
  if (r.replication) problems.push('has REPLICATION')
  for (const role of r.bypassing) problems.push(`is a member of ${role}, which bypasses row-level security`)
  for (const owned of r.owns) problems.push(`owns ${owned}`)
  for (const role of r.owners) problems.push(`is a member of ${role}, which owns the schema's objects`)
  if (r.auditor) problems.push("is a member of app_auditor, which reads every workspace's audit log")
  return { object, problems: [...new Set(problems)] }
}

/**
 * Every table in `schemas` (SEALED_SCHEMAS by default) with row-level security enabled (without
 * it, any role with a table privilege sees every row) and forced (without FORCE, the table's
 * owner — the login that runs the migrations — is exempt from its policies).
 */
export async function tableFindings(db: Queryable, schemas: readonly string[] = SEALED_SCHEMAS): Promise<Findings[]> {
  const { rows } = await db.query<{ name: string; enabled: boolean; forced: boolean }>(
    `select c.oid::regclass::text as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1::text[]) and c.relkind in ('r', 'p')
      order by 1`,
    [schemas],
  )
  return rows.map((t) => ({
    object: `table ${t.name}`,
    problems: [
      ...(t.enabled ? [] : ['row-level security is not enabled']),
      ...(t.forced ? [] : ['row-level security is not forced']),
    ],
  }))
}

/** The search_path every SECURITY DEFINER function pins: nothing a caller creates can shadow what it calls. */
export const DEFINER_SEARCH_PATH = 'search_path=pg_catalog, pg_temp'

/**
 * Every SECURITY DEFINER function in `schemas` (SEALED_SCHEMAS by default) pins its search_path
 * (else a caller's objects can shadow the ones it uses, and run with its owner's rights), is not
 * executable by PUBLIC (else any role in the cluster may call it), and has an owner that obeys
 * row-level security (else its queries see every tenant's rows, whatever it checks).
 */
export async function definerFunctionFindings(db: Queryable, schemas: readonly string[] = SEALED_SCHEMAS): Promise<Findings[]> {
  const { rows } = await db.query<{ name: string; config: string[] | null; public_execute: boolean; owner: string; owner_bypasses: boolean }>(
    `select p.oid::regprocedure::text as name, p.proconfig as config, o.rolname as owner,
            (o.rolsuper or o.rolbypassrls) as owner_bypasses,
            exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) x
                     where x.grantee = 0 and x.privilege_type = 'EXECUTE') as public_execute
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_roles o on o.oid = p.proowner
      where n.nspname = any($1::text[]) and p.prosecdef order by 1`,
    [schemas],
  )
  return rows.map((f) => ({
    object: `function ${f.name}`,
    problems: [
      ...((f.config ?? []).includes(DEFINER_SEARCH_PATH) ? [] : [`proconfig lacks "${DEFINER_SEARCH_PATH}" (has ${JSON.stringify(f.config)})`]),
      ...(f.public_execute ? ['PUBLIC may EXECUTE it'] : []),
      ...(f.owner_bypasses ? [`its owner ${f.owner} bypasses row-level security`] : []),
    ],
  }))
}

/** The findings that have problems, one line each: `login x: is a superuser; has BYPASSRLS`. */
export function describeProblems(findings: readonly Findings[]): string[] {
  return findings.filter((f) => f.problems.length).map((f) => `${f.object}: ${f.problems.join('; ')}`)
}

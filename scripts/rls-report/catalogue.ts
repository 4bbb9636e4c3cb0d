// The security posture as the catalogue states it, not as sql/ intends it: a DBA reading this
// sees what PostgreSQL will enforce, including anything changed by hand after the migrations.
// Everything here reads pg_catalog only, which any role may read (no superuser needed), and
// each section is one query so the report stays cheap on a large schema.
//
// readRlsReport does not open a transaction itself: the CLI wraps it in one read-only
// REPEATABLE READ transaction so the sections come from one snapshot.

export type * from './types.js'
import type {
  DefinerFunctionReport, PolicyReport, Queryable, ReadOptions, RlsReport, RoleReport, TableReport, TriggerEnabled, TriggerReport,
} from './types.js'

export const DEFAULT_ROLES = ['app_runtime', 'app_privileged']

// Trigger functions that belong to the audit trail (sql/050), by name; any other app.audit_*
// function a later migration adds is still listed, as 'audit'.
const TRIGGER_ROLES: Record<string, TriggerReport['role']> = {
  'app.audit_capture': 'change capture',
  'app.audit_require_actor_trigger': 'actor check',
  'app.audit_seal': 'chain seal',
  'app.audit_reject': 'append-only guard',
}

const ENABLED: Record<string, TriggerEnabled> = { O: 'origin', A: 'always', R: 'replica', D: 'disabled' }

export async function readRlsReport(db: Queryable, opts: ReadOptions = {}): Promise<RlsReport> {
  const schemas = opts.schemas ?? ['public']
  const roleNames = opts.roles ?? DEFAULT_ROLES
  const [about] = (
    await db.query<{ database: string; version: string; read_as: string; read_at: Date }>(
      `select current_database() as database, current_setting('server_version') as version,
              current_user as read_as, statement_timestamp() as read_at`,
    )
  ).rows
  const [tables, policies, triggers, definerFunctions, roles] = [
    await readTables(db, schemas),
    await readPolicies(db, schemas),
    await readAuditTriggers(db, schemas),
    await readDefinerFunctions(db),
    await readRoles(db, roleNames),
  ]
  for (const table of tables) {
    const key = `${table.schema}.${table.name}`
    table.policies = policies.get(key) ?? []
    table.auditTriggers = triggers.get(key) ?? []
  }
  return {
    database: about!.database,
    serverVersion: about!.version,
    readAs: about!.read_as,
    readAt: about!.read_at.toISOString(),
    schemas,
    tables,
    definerFunctions,
    roles,
  }
}

async function readTables(db: Queryable, schemas: string[]): Promise<TableReport[]> {
  const { rows } = await db.query<Omit<TableReport, 'policies' | 'auditTriggers'>>(
    `select n.nspname as schema, c.relname as name, pg_get_userbyid(c.relowner) as owner,
            c.relrowsecurity as "rlsEnabled", c.relforcerowsecurity as "rlsForced",
            exists (select 1 from pg_attribute a
                     where a.attrelid = c.oid and a.attname = 'workspace_id' and a.attnum > 0 and not a.attisdropped) as "tenantKeyed"
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1::text[]) and c.relkind in ('r', 'p')
      order by n.nspname, c.relname`,
    [schemas],
  )
  return rows.map((r) => ({ ...r, policies: [], auditTriggers: [] }))
}

/** Policies per "schema.table", ordered by command (SELECT, INSERT, UPDATE, DELETE, ALL), permissive first. */
async function readPolicies(db: Queryable, schemas: string[]): Promise<Map<string, PolicyReport[]>> {
  const { rows } = await db.query<PolicyReport & { table: string }>(
    `select n.nspname || '.' || c.relname as table, p.polname as name,
            case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE'
                          when 'd' then 'DELETE' else 'ALL' end as command,
            case when p.polpermissive then 'permissive' else 'restrictive' end as kind,
            array(select case when r.oid = 0 then 'PUBLIC' else pg_get_userbyid(r.oid)::text end
                    from unnest(p.polroles) with ordinality as r(oid, i) order by r.i) as roles,
            pg_get_expr(p.polqual, p.polrelid) as using,
            pg_get_expr(p.polwithcheck, p.polrelid) as "withCheck"
       from pg_policy p
       join pg_class c on c.oid = p.polrelid
       join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1::text[])
      order by 1, array_position(array['r', 'a', 'w', 'd', '*'], p.polcmd::text), p.polpermissive desc, p.polname`,
    [schemas],
  )
  return groupBy(rows, ({ table, ...policy }) => [table, policy])
}

/** Triggers whose function is app.audit_*, per "schema.table". */
async function readAuditTriggers(db: Queryable, schemas: string[]): Promise<Map<string, TriggerReport[]>> {
  const { rows } = await db.query<{ table: string; name: string; function: string; tgtype: number; tgenabled: string; tgargs: Buffer; tgnargs: number }>(
    `select n.nspname || '.' || c.relname as table, t.tgname as name, fn.nspname || '.' || f.proname as function,
            t.tgtype::int as tgtype, t.tgenabled::text as tgenabled, t.tgargs, t.tgnargs::int as tgnargs
       from pg_trigger t
       join pg_class c on c.oid = t.tgrelid
       join pg_namespace n on n.oid = c.relnamespace
       join pg_proc f on f.oid = t.tgfoid
       join pg_namespace fn on fn.oid = f.pronamespace
      where n.nspname = any($1::text[]) and not t.tgisinternal
        and fn.nspname = 'app' and f.proname like 'audit\\_%'
      order by 1, t.tgname`,
    [schemas],
  )
  return groupBy(rows, (r) => [
    r.table,
    {
      name: r.name,
      function: r.function,
      role: TRIGGER_ROLES[r.function] ?? 'audit',
      ...decodeTriggerType(r.tgtype),
      arguments: decodeTriggerArgs(r.tgargs, r.tgnargs),
      enabled: ENABLED[r.tgenabled] ?? 'disabled',
    },
  ])
}

// pg_trigger.tgtype bits, from PostgreSQL's include/catalog/pg_trigger.h (stable since 9.x).
const TRIGGER_TYPE = { ROW: 1, BEFORE: 2, INSERT: 4, DELETE: 8, UPDATE: 16, TRUNCATE: 32, INSTEAD: 64 } as const

export function decodeTriggerType(tgtype: number): Pick<TriggerReport, 'timing' | 'events' | 'level'> {
  const has = (bit: number) => (tgtype & bit) !== 0
  const events = (['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] as const).filter((e) => has(TRIGGER_TYPE[e]))
  return {
    timing: has(TRIGGER_TYPE.INSTEAD) ? 'INSTEAD OF' : has(TRIGGER_TYPE.BEFORE) ? 'BEFORE' : 'AFTER',
    events,
    level: has(TRIGGER_TYPE.ROW) ? 'row' : 'statement',
  }
}

/** tgargs is the arguments' bytes, each followed by a NUL. */
export function decodeTriggerArgs(tgargs: Buffer | null, count: number): string[] {
  if (!tgargs || count === 0) return []
  return tgargs.toString('utf8').split('\0').slice(0, count)
}

async function readDefinerFunctions(db: Queryable): Promise<DefinerFunctionReport[]> {
  // EXECUTE grantees from the ACL; a NULL ACL means the default one (owner and PUBLIC).
  const { rows } = await db.query<DefinerFunctionReport>(
    `select n.nspname || '.' || p.proname || '(' || oidvectortypes(p.proargtypes) || ')' as signature,
            case p.prokind when 'p' then 'procedure' else 'function' end as kind,
            case when p.prokind = 'p' then null else pg_get_function_result(p.oid) end as returns,
            l.lanname as language, pg_get_userbyid(p.proowner) as owner,
            (select substr(s, length('search_path=') + 1) from unnest(p.proconfig) as s where s like 'search\\_path=%') as "searchPath",
            coalesce(p.proconfig, '{}') as config,
            array(select distinct case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee)::text end
                    from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) as a
                   where a.privilege_type = 'EXECUTE' order by 1) as "executableBy",
            obj_description(p.oid, 'pg_proc') as comment
       from pg_proc p
       join pg_namespace n on n.oid = p.pronamespace
       join pg_language l on l.oid = p.prolang
      where p.prosecdef
        and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%'
      order by 1`,
  )
  return rows
}

async function readRoles(db: Queryable, names: string[]): Promise<RoleReport[]> {
  // pg_auth_members gained inherit_option and set_option in PostgreSQL 16; reading them through
  // to_jsonb keeps one query for 15 to 18 (missing keys read as NULL).
  const { rows } = await db.query<Omit<RoleReport, 'exists'> & { found: boolean }>(
    `select wanted.name, r.oid is not null as found,
            coalesce(r.rolcanlogin, false) as login, coalesce(r.rolsuper, false) as superuser,
            coalesce(r.rolbypassrls, false) as bypassrls, coalesce(r.rolcreaterole, false) as createrole,
            coalesce(r.rolcreatedb, false) as createdb, coalesce(r.rolinherit, false) as inherit,
            array(select pg_get_userbyid(m.roleid)::text from pg_auth_members m where m.member = r.oid order by 1) as "memberOf",
            coalesce((
              select json_agg(json_build_object(
                       'name', mr.rolname, 'grantor', pg_get_userbyid(m.grantor), 'admin', m.admin_option,
                       'inheritOption', (to_jsonb(m) ->> 'inherit_option')::boolean,
                       'setOption', (to_jsonb(m) ->> 'set_option')::boolean,
                       'login', mr.rolcanlogin, 'superuser', mr.rolsuper, 'bypassrls', mr.rolbypassrls,
                       'createrole', mr.rolcreaterole, 'createdb', mr.rolcreatedb, 'inherit', mr.rolinherit)
                     order by mr.rolname, pg_get_userbyid(m.grantor))
                from pg_auth_members m join pg_roles mr on mr.oid = m.member
               where m.roleid = r.oid), '[]') as members
       from unnest($1::text[]) with ordinality as wanted(name, i)
       left join pg_roles r on r.rolname = wanted.name
      order by wanted.i`,
    [names],
  )
  return rows.map(({ found, ...role }) => ({ ...role, exists: found }))
}

function groupBy<T, V>(rows: T[], entry: (row: T) => [string, V]): Map<string, V[]> {
  const map = new Map<string, V[]>()
  for (const row of rows) {
    const [key, value] = entry(row)
    const list = map.get(key)
    if (list) list.push(value)
    else map.set(key, [value])
  }
  return map
}

// One import for reading and printing (the formatting lives in its own file).
export { formatRlsReport, findWarnings } from './format.js'

// A catalogue lint over pg_catalog: every table, policy, index, foreign key, function and the
// runtime login are found by query, not listed by hand, so an object added later is checked as
// soon as its migration lands. Each finding names the object; each lint has a self-test that
// builds a deliberately bad object in a throwaway schema or table (rolled back) and proves the
// check finds it. Several lints follow Supabase's splinter (multiple_permissive_policies,
// unindexed_foreign_keys, auth_rls_initplan, duplicate_index, function_search_path_mutable).
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { roleFromUrl } from '../../src/db/migrate.js'
import { appendOnly, createLogin, randomName, rows, type Sql } from '../helpers/rls.js'
import { OPEN_POLICIES } from '../../scripts/rls-report/open-policies.js'
import type { OpenPolicy } from '../../scripts/rls-report/types.js'
import { DEFINER_SEARCH_PATH, definerFunctionFindings, loginFindings, tableFindings, type Findings } from '../../src/db/posture.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtimeLogin = roleFromUrl(db.appUrl)
const schemaOwner = roleFromUrl(db.ownerUrl)
const superuser = roleFromUrl(db.superUrl)


interface PolicyRow {
  name: string
  cmd: 'r' | 'a' | 'w' | 'd' | '*'
  permissive: boolean
  using: string | null
  check: string | null
}

const COMMANDS = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE' } as const
type Command = keyof typeof COMMANDS

// The expression a policy enforces for `cmd`: USING filters SELECT/DELETE (and UPDATE's old
// rows), WITH CHECK guards INSERT/UPDATE's new rows (UPDATE falls back to USING without one).
function guards(p: PolicyRow, cmd: Command): string[] {
  if (cmd === 'r' || cmd === 'd') return [p.using ?? '']
  if (cmd === 'a') return [p.check ?? '']
  return [p.using ?? '', p.check ?? p.using ?? '']
}

interface TriggerRow {
  name: string
  /** pg_trigger.tgtype: 1 row, 2 before, 4 insert, 8 delete, 16 update, 32 truncate, 64 instead of. */
  type: number
  /** pg_trigger.tgenabled: 'O' origin (the default), 'A' always, 'R' replica only, 'D' disabled. */
  enabled: 'O' | 'A' | 'R' | 'D'
}

const EVENTS = { INSERT: 4, UPDATE: 16, DELETE: 8, TRUNCATE: 32 } as const
type TriggerEvent = keyof typeof EVENTS

interface TableRow {
  name: string
  enabled: boolean
  forced: boolean
  policies: PolicyRow[]
  /** Triggers executing app.audit_capture() (tenant tables) or app.audit_reject() (append-only tables). */
  triggers: TriggerRow[]
  /** Of INSERT, UPDATE, DELETE, TRUNCATE: those app_runtime holds (own, inherited or through PUBLIC). */
  runtime_privileges: string[]
  /** Of INSERT, UPDATE, DELETE: those app_runtime may run itself (a table or any column privilege). */
  runtime_writes: Command[]
  /** Whether app_runtime holds SELECT on the table. */
  runtime_reads: boolean
}

/**
 * The tables in `schema` with a workspace_id column, append-only or not, and what the lint needs
 * of each. A tenant table is a permanent one: an UNLOGGED table is emptied by a crash, so it holds
 * no tenant's data, only per-connection state (request_contexts names the workspace a connection
 * acts in, and is held to its own rules in test/rls/isolation.test.ts).
 */
async function workspaceTables(sql: Sql, schema: string, appendOnlyTables: boolean): Promise<TableRow[]> {
  // An append-only table's guards: app.audit_reject(), or, for DELETE on a log with a retention,
  // app.reject_recent_delete() (only rows older than its argument may go).
  const fns = appendOnlyTables ? ['app.audit_reject()', 'app.reject_recent_delete()'] : ['app.audit_capture()']
  return rows<TableRow>(
    sql,
    `select c.oid::regclass::text as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
            coalesce((select json_agg(json_build_object(
                        'name', p.polname, 'cmd', p.polcmd, 'permissive', p.polpermissive,
                        'using', pg_get_expr(p.polqual, p.polrelid), 'check', pg_get_expr(p.polwithcheck, p.polrelid)))
                        from pg_policy p
                       where p.polrelid = c.oid
                         and p.polroles && array[0::oid, (select oid from pg_roles where rolname = 'app_runtime')]), '[]') as policies,
            coalesce((select json_agg(json_build_object('name', tg.tgname, 'type', tg.tgtype, 'enabled', tg.tgenabled) order by tg.tgname)
                        from pg_trigger tg where tg.tgrelid = c.oid and tg.tgfoid in (${fns.map((f) => `'${f}'::regprocedure`).join(', ')})), '[]') as triggers,
            array(select x from unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) x
                   where has_table_privilege('app_runtime', c.oid, x)) as runtime_privileges,
            has_table_privilege('app_runtime', c.oid, 'SELECT') as runtime_reads,
            array(select k.cmd from (values ('a', 'INSERT'), ('w', 'UPDATE'), ('d', 'DELETE')) k(cmd, privilege)
                   where case when k.privilege = 'DELETE' then has_table_privilege('app_runtime', c.oid, k.privilege)
                              else has_any_column_privilege('app_runtime', c.oid, k.privilege) end) as runtime_writes
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind in ('r', 'p')
        and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped)
        and ${appendOnlyTables ? '' : `c.relpersistence = 'p' and not`} ${appendOnly('c')}
      order by 1`,
    [schema],
  )
}

const SCOPED = /\bworkspace_id = \( SELECT app\.current_workspace_id\(\)/

/** Problems with row-level security itself and with app_runtime's permissive policies for `commands`. */
function policyProblems(table: TableRow, commands: Command[]): string[] {
  const problems: string[] = []
  if (!table.enabled) problems.push('row-level security is not enabled')
  if (!table.forced) problems.push('row-level security is not forced')
  for (const cmd of commands) {
    const applies = table.policies.filter((p) => p.cmd === cmd || p.cmd === '*')
    const permissive = applies.filter((p) => p.permissive)
    if (!permissive.length) problems.push(`no permissive ${COMMANDS[cmd]} policy for app_runtime`)
    for (const p of permissive) {
      if (!guards(p, cmd).every((e) => SCOPED.test(e))) {
        problems.push(`permissive ${COMMANDS[cmd]} policy "${p.name}" is not scoped to app.current_workspace_id()`)
      }
    }
    const gated = applies.some((p) => !p.permissive && guards(p, cmd).every((e) => e.includes('app.current_workspace_writable()')))
    if (cmd !== 'r' && !gated) problems.push(`no restrictive ${COMMANDS[cmd]} policy using app.current_workspace_writable()`)
  }
  return problems
}

/** Whether a trigger fires FOR EACH ROW (or, for TRUNCATE, per statement) at `when` on `event`. */
function fires(tg: TriggerRow, when: 'BEFORE' | 'AFTER', event: TriggerEvent): boolean {
  const row = event === 'TRUNCATE' ? 0 : 1
  const timing = when === 'BEFORE' ? 2 : 0
  return (tg.type & 67) === row + timing && (tg.type & EVENTS[event]) !== 0
}

/**
 * Tables in `schema` with a workspace_id column that are not append-only: forced RLS, tenant-scoped
 * policies for app_runtime's reads and for each write it may run itself (the others go through
 * privileged functions), each write gated, and the change-capture trigger app.audit_capture().
 */
async function tenantTableFindings(sql: Sql, schema: string): Promise<Findings[]> {
  return (await workspaceTables(sql, schema, false)).map((table) => {
    const problems = policyProblems(table, ['r', ...table.runtime_writes])
    for (const event of ['INSERT', 'UPDATE', 'DELETE'] as const) {
      if (!table.triggers.some((tg) => fires(tg, 'AFTER', event))) {
        problems.push(`no AFTER ${event} row trigger executing app.audit_capture()`)
      }
    }
    for (const tg of table.triggers.filter((tg) => tg.enabled === 'D' || tg.enabled === 'R')) {
      problems.push(`trigger "${tg.name}" executing app.audit_capture() is disabled (tgenabled = '${tg.enabled}')`)
    }
    return { object: `table ${table.name}`, problems }
  })
}

/**
 * Append-only tables in `schema` (the audit log, the security events): forced RLS, app_runtime
 * reads its workspace's rows (or none at all: the security events are read only through definer
 * functions that check who asks) and may write none, and the guard triggers reject UPDATE, DELETE and TRUNCATE even under
 * session_replication_role = replica (ENABLE ALWAYS).
 */
async function appendOnlyTableFindings(sql: Sql, schema: string): Promise<Findings[]> {
  return (await workspaceTables(sql, schema, true)).map((table) => {
    const problems = policyProblems(table, table.runtime_reads ? ['r'] : [])
    for (const privilege of table.runtime_privileges) problems.push(`app_runtime has the ${privilege} privilege`)
    for (const event of ['UPDATE', 'DELETE', 'TRUNCATE'] as const) {
      if (!table.triggers.some((tg) => fires(tg, 'BEFORE', event))) {
        problems.push(`no BEFORE ${event} ${event === 'TRUNCATE' ? 'statement' : 'row'} trigger executing app.audit_reject()${event === 'DELETE' ? ' or app.reject_recent_delete()' : ''}`)
      }
    }
    for (const tg of table.triggers.filter((tg) => tg.enabled !== 'A')) {
      problems.push(`trigger "${tg.name}" executing app.audit_reject() is not enabled ALWAYS (tgenabled = '${tg.enabled}')`)
    }
    return { object: `table ${table.name}`, problems }
  })
}

const OPEN_POLICIES_FILE = 'scripts/rls-report/open-policies.ts'

/** Every table in `schema`, as the objects the per-table lints below report on. */
const TABLES = `from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind in ('r', 'p')`

/**
 * The write policies in `schema` that admit any row: a permissive policy whose INSERT WITH
 * CHECK is true, whose UPDATE USING or WITH CHECK is true, or whose DELETE USING is true (WITH
 * CHECK falling back to USING, FOR ALL counting for each command), for whichever roles.
 */
interface OpenWritePolicy {
  table: string
  /** schema.table, as open-policies.ts names it. */
  qualified: string
  policy: string
  roles: string[]
  commands: string[]
}

async function openWritePolicies(sql: Sql, schema: string): Promise<OpenWritePolicy[]> {
  const all = await rows<OpenWritePolicy>(
    sql,
    `select c.oid::regclass::text as table, n.nspname || '.' || c.relname as qualified, p.polname as policy,
            array(select case when r = 0 then 'PUBLIC' else pg_get_userbyid(r)::text end from unnest(p.polroles) r) as roles,
            array_remove(array[
              case when p.polcmd in ('a', '*')
                    and coalesce(pg_get_expr(p.polwithcheck, p.polrelid), pg_get_expr(p.polqual, p.polrelid)) = 'true' then 'INSERT' end,
              case when p.polcmd in ('w', '*')
                    and (pg_get_expr(p.polqual, p.polrelid) = 'true' or pg_get_expr(p.polwithcheck, p.polrelid) = 'true') then 'UPDATE' end,
              case when p.polcmd in ('d', '*') and pg_get_expr(p.polqual, p.polrelid) = 'true' then 'DELETE' end], null) as commands
       from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and p.polpermissive
      order by 1, p.polname collate "C"`,
    [schema],
  )
  return all.filter((p) => p.commands.length)
}

/** (a) Tables in `schema`: no `true` write policy but those `allowed` lists (scripts/rls-report/open-policies.ts). */
async function openWritePolicyFindings(sql: Sql, schema: string, allowed: readonly OpenPolicy[]): Promise<Findings[]> {
  const open = await openWritePolicies(sql, schema)
  const tables = await rows<{ name: string }>(sql, `select c.oid::regclass::text as name ${TABLES} order by 1`, [schema])
  return tables.map(({ name }) => ({
    object: `table ${name}`,
    problems: open
      .filter((p) => p.table === name && !allowed.some((a) => a.table === p.qualified && a.policy === p.policy))
      .map((p) => `policy "${p.policy}" lets ${p.roles.join(', ')} ${p.commands.join(', ')} any row (true) but is not listed with its reason in ${OPEN_POLICIES_FILE}`),
  }))
}

/** Entries of `list` that name no open write policy (gone, renamed or narrowed): each would excuse a later policy of that name. */
async function staleOpenPolicies(sql: Sql, list: readonly OpenPolicy[]): Promise<string[]> {
  const open = (await Promise.all([...new Set(list.map((o) => o.table.split('.')[0]!))].map((schema) => openWritePolicies(sql, schema)))).flat()
  return list
    .filter((o) => !open.some((p) => p.qualified === o.table && p.policy === o.policy))
    .map((o) => `${o.table}: "${o.policy}" is listed in ${OPEN_POLICIES_FILE} but admits no write of any row`)
}

/**
 * (b) Tables in `schema`: at most one permissive policy per role and command. Counted for every
 * role a policy in the schema names, the tables' owners, `extraRoles` (the runtime login) and
 * PUBLIC (any other role), as PostgreSQL applies policies: a role's own, those of every role whose
 * privileges it inherits, PUBLIC's, and FOR ALL ones for each command. Roles that RLS skips
 * (superuser, BYPASSRLS, the owner of a table that is not forced) are not counted.
 */
async function multiplePermissiveFindings(sql: Sql, schema: string, extraRoles: string[]): Promise<Findings[]> {
  const tables = await rows<{ name: string; problems: string[] }>(
    sql,
    `with pol as (
       select p.polname, p.polroles, p.polcmd, p.polrelid
         from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and p.polpermissive),
     subject as (
       select r.oid, r.rolname::text as name from pg_roles r
        where not r.rolsuper and not r.rolbypassrls
          and (r.oid in (select unnest(polroles) from pol) or r.rolname = any($2::text[])
               or r.oid in (select c.relowner ${TABLES}))
       union all select 0::oid, 'PUBLIC')
     select c.oid::regclass::text as name,
            array(select format('%s has %s permissive %s policies: %s', s.name, count(*), k.command,
                                string_agg(format('"%s"', pol.polname), ', ' order by pol.polname collate "C"))
                    from pol cross join subject s
                    cross join (values (1, 'r', 'SELECT'), (2, 'a', 'INSERT'), (3, 'w', 'UPDATE'), (4, 'd', 'DELETE')) k(i, cmd, command)
                   where pol.polrelid = c.oid and pol.polcmd in (k.cmd, '*')
                     and (0 = any(pol.polroles)
                          or (s.oid <> 0 and exists (select 1 from unnest(pol.polroles) r(oid)
                                                      where r.oid <> 0 and pg_has_role(s.oid, r.oid, 'USAGE'))))
                     and (c.relforcerowsecurity or s.oid = 0 or not pg_has_role(s.oid, c.relowner, 'USAGE'))
                   group by s.name, k.i, k.command having count(*) > 1
                   order by s.name collate "C", k.i) as problems
       ${TABLES}
      order by 1`,
    [schema, extraRoles],
  )
  return tables.map((r) => ({ object: `table ${r.name}`, problems: r.problems }))
}

/**
 * (c) Tables in `schema`: every foreign key has a covering index, a valid, non-partial one whose
 * leading key columns are exactly the key's columns (in any order). Without it, a delete or key
 * change in the referenced table scans the whole referencing table, under lock, per row.
 */
async function unindexedForeignKeyFindings(sql: Sql, schema: string): Promise<Findings[]> {
  const tables = await rows<{ name: string; problems: string[] }>(
    sql,
    `select c.oid::regclass::text as name,
            array(select format('foreign key "%s" (%s) has no index whose leading columns are exactly its columns', k.conname,
                                (select string_agg(a.attname, ', ' order by u.i) from unnest(k.conkey) with ordinality u(attnum, i)
                                   join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum))
                    from pg_constraint k
                   where k.conrelid = c.oid and k.contype = 'f'
                     and not exists (
                       select 1 from pg_index i
                        where i.indrelid = k.conrelid and i.indisvalid and i.indpred is null
                          and i.indnkeyatts >= cardinality(k.conkey)
                          and (select array_agg(x order by x) from unnest((i.indkey::int2[])[0:cardinality(k.conkey) - 1]) x)
                              = (select array_agg(x order by x) from unnest(k.conkey) x))
                   order by k.conname collate "C") as problems
       ${TABLES}
      order by 1`,
    [schema],
  )
  return tables.map((r) => ({ object: `table ${r.name}`, problems: r.problems }))
}

/** The context helpers (sql/020): a policy must call each as an InitPlan, `(select app.fn())`. */
const HELPERS = ['current_user_id', 'current_account_id', 'current_session_id', 'current_workspace_id', 'current_context_kind', 'current_workspace_writable']
// How pg_get_expr prints `(select app.fn())`: the wrapper is dropped first, then any call left is bare.
// app. is optional in both: pg_get_expr leaves it out when app is on the search_path.
const WRAPPED = new RegExp(`\\( SELECT (?:app\\.)?(${HELPERS.join('|')})\\(\\) AS \\1\\)`, 'g')
const CALL = new RegExp(`(?<![\\w.])(?:app\\.)?(${HELPERS.join('|')})\\s*\\(`, 'g')

/** The helpers `expression` calls outside the `( SELECT app.fn() AS fn)` wrapper. */
function unwrappedHelpers(expression: string | null): string[] {
  if (expression === null) return []
  return [...new Set([...expression.replace(WRAPPED, '').matchAll(CALL)].map((m) => `app.${m[1]}()`))]
}

/** Each table in `schema` (TABLES) with its policies' names and expressions. */
function tablePolicies(sql: Sql, schema: string) {
  return rows<{ name: string; policies: { name: string; using: string | null; check: string | null }[] }>(
    sql,
    `select c.oid::regclass::text as name,
            coalesce((select json_agg(json_build_object('name', p.polname, 'using', pg_get_expr(p.polqual, p.polrelid),
                                                        'check', pg_get_expr(p.polwithcheck, p.polrelid)) order by p.polname collate "C")
                        from pg_policy p where p.polrelid = c.oid), '[]') as policies
       ${TABLES}
      order by 1`,
    [schema],
  )
}

/**
 * (d) Tables in `schema`: every policy calls the context helpers only as `(select app.fn())`,
 * so PostgreSQL evaluates each once per statement (an InitPlan) instead of once per row.
 */
async function unwrappedHelperFindings(sql: Sql, schema: string): Promise<Findings[]> {
  const tables = await tablePolicies(sql, schema)
  return tables.map((table) => ({
    object: `table ${table.name}`,
    problems: table.policies.flatMap((p) =>
      ([['USING', p.using], ['WITH CHECK', p.check]] as const).flatMap(([clause, expression]) =>
        unwrappedHelpers(expression).map((fn) => `policy "${p.name}" ${clause} calls ${fn} without the (select …) wrapper, once per row`),
      ),
    ),
  }))
}

/**
 * (e) Tables in `schema`: no two indexes alike (same access method, key and included columns,
 * operator classes, collations, orderings, expressions and predicate): the second one costs every
 * write and buys nothing.
 */
async function duplicateIndexFindings(sql: Sql, schema: string): Promise<Findings[]> {
  const tables = await rows<{ name: string; problems: string[] }>(
    sql,
    `select c.oid::regclass::text as name,
            array(select format('indexes %s are the same index', d.names) from (
                    select string_agg(format('"%s"', x.relname), ', ' order by x.relname collate "C") as names
                      from pg_index i join pg_class x on x.oid = i.indexrelid
                     where i.indrelid = c.oid
                     group by x.relam, i.indnkeyatts, i.indkey::text, i.indclass::text, i.indcollation::text, i.indoption::text,
                              pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid)
                    having count(*) > 1) d
                   order by d.names collate "C") as problems
       ${TABLES}
      order by 1`,
    [schema],
  )
  return tables.map((r) => ({ object: `table ${r.name}`, problems: r.problems }))
}

const READS_APP_SETTING = /current_setting\s*\(\s*E?'app\./i

/**
 * (g) Functions in `functionSchemas` and the policies of tables in `policySchema`: none reads a
 * custom app.* setting. Any role may set one (set_config), so the context a setting carries
 * is whatever the caller claims; the context lives in request_contexts (sql/020).
 */
async function appSettingFindings(sql: Sql, functionSchemas: string[], policySchema: string): Promise<Findings[]> {
  const functions = await rows<{ name: string; src: string }>(
    sql,
    `select p.oid::regprocedure::text as name, p.prosrc as src
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = any($1::text[]) order by 1`,
    [functionSchemas],
  )
  const tables = await tablePolicies(sql, policySchema)
  return [
    ...functions.map((f) => ({
      object: `function ${f.name}`,
      problems: READS_APP_SETTING.test(f.src) ? ["reads a custom app.* setting (current_setting('app.…'))"] : [],
    })),
    ...tables.map((table) => ({
      object: `table ${table.name}`,
      problems: table.policies.flatMap((p) =>
        ([['USING', p.using], ['WITH CHECK', p.check]] as const)
          .filter(([, e]) => e !== null && READS_APP_SETTING.test(e))
          .map(([clause]) => `policy "${p.name}" ${clause} reads a custom app.* setting (current_setting('app.…'))`),
      ),
    })),
  ]
}

/**
 * (h) SECURITY DEFINER functions in `schemas`: a COMMENT '<why it crosses tenants or users>.
 * Checks: <the rule it checks>', both parts non-empty (`npm run rls:report` prints the rule).
 */
async function definerCommentFindings(sql: Sql, schemas: string[]): Promise<Findings[]> {
  const functions = await rows<{ name: string; comment: string | null }>(
    sql,
    `select p.oid::regprocedure::text as name, obj_description(p.oid, 'pg_proc') as comment
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = any($1::text[]) and p.prosecdef order by 1`,
    [schemas],
  )
  return functions.map((f) => {
    const problems: string[] = []
    const parts = f.comment === null ? null : /^([\s\S]*?)\bChecks:([\s\S]*)$/.exec(f.comment)
    if (f.comment === null) problems.push('has no COMMENT (why it crosses tenants or users. Checks: the rule it checks)')
    else if (!parts) problems.push('its COMMENT has no "Checks:" naming the rule it checks')
    else {
      if (!parts[1]!.trim()) problems.push('its COMMENT does not say why it crosses tenants or users before "Checks:"')
      if (!parts[2]!.trim()) problems.push('its COMMENT\'s "Checks:" names no rule')
    }
    return { object: `function ${f.name}`, problems }
  })
}

interface Asserts {
  ok(value: unknown, message: string): boolean
  same(found: unknown, wanted: unknown, message: string): boolean
}

function report(t: Asserts, findings: Findings[], what: string, mustInclude: string): void {
  t.ok(findings.some((f) => f.object === mustInclude), `the catalogue lists ${what}, including ${mustInclude}`)
  for (const f of findings) t.same(f.problems, [], f.object)
}

t.test('every table in public and app has row-level security enabled and forced', async (t) => {
  // Threat: a new table is created without RLS and every tenant can read it, or without FORCE and the migrating owner reads it all.
  // The check start-up runs (src/db/posture.ts): the service refuses to start on a schema that fails it.
  report(t, await tableFindings(su), 'the public and app tables', 'table contacts')
})

t.test('every tenant table is forced, tenant-scoped, write-gated and has its changes captured', async (t) => {
  // Threat: a new tenant table ships without FORCE, a policy per command, the approval/trial gate, or app.audit_capture().
  report(t, await tenantTableFindings(su, 'public'), 'the tables with workspace_id', 'table contacts')
})

t.test('every append-only table is readable per tenant, unwritable by the runtime and guarded ALWAYS', async (t) => {
  // Threat: the audit log is read across tenants, written by the service, or unguarded under replica mode.
  const findings = await appendOnlyTableFindings(su, 'public')
  report(t, findings, 'the append-only tables', 'table audit_log')
  const tenant = (await tenantTableFindings(su, 'public')).map((f) => f.object)
  for (const f of findings) t.notOk(tenant.includes(f.object), `${f.object} is not held to the tenant-table rules`)
})

t.test('every SECURITY DEFINER function pins its search_path and is closed to PUBLIC', async (t) => {
  // Threat: a definer function is hijacked through search_path or called by any role in the cluster.
  report(t, await definerFunctionFindings(su), 'the definer functions', 'function app.begin_request(bytea,uuid,text,text,text)')
})

t.test('no write policy admits any row unless open-policies.ts says why', async (t) => {
  // Threat: a `true` write policy lets whoever holds its role write any tenant's or user's rows, unnoticed among the policies that mean what they say.
  report(t, await openWritePolicyFindings(su, 'public', OPEN_POLICIES), 'the public tables', 'table rate_limits')
  const keys = OPEN_POLICIES.map((o) => `${o.table}: "${o.policy}"`)
  t.equal(new Set(keys).size, keys.length, 'each open policy is listed once')
  t.same(await staleOpenPolicies(su, OPEN_POLICIES), [], 'every listed open policy still admits any row')
  for (const o of OPEN_POLICIES) t.ok(o.reason.trim().length > 40, `${o.table}: "${o.policy}" has a reason`)
})

t.test('every role has at most one permissive policy per table and command', async (t) => {
  // Threat: permissive policies are OR-ed, so a second one that applies to a role (its own, its group's, PUBLIC's or a FOR ALL one) silently widens the first.
  report(t, await multiplePermissiveFindings(su, 'public', [runtimeLogin]), 'the public tables', 'table contacts')
})

t.test('every foreign key has a covering index', async (t) => {
  // Threat: deleting a user or workspace scans and locks every referencing table in full, a denial of service any sign-up can trigger.
  report(t, await unindexedForeignKeyFindings(su, 'public'), 'the public tables', 'table contacts')
})

t.test('every policy calls the context helpers once per statement', async (t) => {
  // Threat: a helper called per row turns every tenant query into a context lookup per row, and a slow policy invites being "optimised" away.
  report(t, await unwrappedHelperFindings(su, 'public'), 'the public tables', 'table contacts')
})

t.test('no table has two indexes alike', async (t) => {
  // Threat: a duplicate index slows every write and holds its locks twice, for nothing.
  report(t, await duplicateIndexFindings(su, 'public'), 'the public tables', 'table contacts')
})

t.test('no function or policy takes the context from a custom app.* setting', async (t) => {
  // Threat: any role may set_config('app.workspace_id', …), so a context read from a setting is whatever an injected statement claims.
  report(t, await appSettingFindings(su, ['app', 'public'], 'public'), 'the functions in app and public and the public tables', 'function app.current_workspace_id()')
})

t.test('every SECURITY DEFINER function says why it crosses and what it checks', async (t) => {
  // Threat: a definer function crosses tenants or users without a written rule, so nobody can review whether its code checks one.
  report(t, await definerCommentFindings(su, ['app', 'public']), 'the definer functions', 'function app.begin_request(bytea,uuid,text,text,text)')
})

t.test('the runtime login cannot bypass row-level security', async (t) => {
  // Threat: the service's login is (or inherits) a role that RLS does not apply to.
  t.same((await loginFindings(su, runtimeLogin)).problems, [], `login ${runtimeLogin}`)
})

t.test('the lint reports what it must', async (t) => {
  // Threat: a lint that passes because its queries match nothing.
  const table = randomName('gh_lint_table_')
  const loose = randomName('gh_lint_loose_')
  const readOnly = randomName('gh_lint_read_only_')
  const unlogged = randomName('gh_lint_unlogged_')
  const log = randomName('gh_lint_log_')
  const looseLog = randomName('gh_lint_loose_log_')
  const fn = randomName('gh_lint_fn_')
  await su.query('begin')
  try {
    // The runtime may write it itself (UPDATE through a column privilege), so every command needs its policies.
    await su.query(`create table public.${table} (workspace_id uuid)`)
    await su.query(`grant select, insert, delete, update (workspace_id) on public.${table} to app_runtime`)
    await su.query(`create table public.${loose} (workspace_id uuid)`)
    await su.query(`grant select, insert, update, delete on public.${loose} to app_runtime`)
    await su.query(`alter table public.${loose} enable row level security, force row level security`)
    await su.query(`create policy "anything goes" on public.${loose} for all to app_runtime using (true)`)
    // A tenant table the runtime only reads (its writes go through privileged functions): nothing to gate.
    await su.query(`create table public.${readOnly} (workspace_id uuid)`)
    await su.query(`grant select on public.${readOnly} to app_runtime`)
    await su.query(`alter table public.${readOnly} enable row level security, force row level security`)
    await su.query(`create policy "members read" on public.${readOnly} for select to app_runtime
                      using (workspace_id = (select app.current_workspace_id()))`)
    await su.query(`call app.capture_changes('public.${readOnly}', 'x')`)
    // Per-connection state, like request_contexts: emptied by a crash, so no tenant's data.
    await su.query(`create unlogged table public.${unlogged} (workspace_id uuid)`)
    // Changes captured on INSERT only, and that trigger switched off.
    await su.query(`create trigger capture after insert on public.${loose} for each row execute function app.audit_capture('x')`)
    await su.query(`alter table public.${loose} disable trigger capture`)
    // An append-only table with only a DELETE guard, enabled the ordinary way, and writable by the runtime.
    await su.query(`create table public.${log} (workspace_id uuid)`)
    await su.query(`create trigger guard before delete on public.${log} for each row execute function app.audit_reject()`)
    await su.query(`grant select, insert, update, delete, truncate on public.${log} to app_runtime`)
    // An append-only table guarded properly but readable across tenants.
    await su.query(`create table public.${looseLog} (workspace_id uuid)`)
    await su.query(`alter table public.${looseLog} enable row level security, force row level security`)
    await su.query(`create policy "anyone reads" on public.${looseLog} for select to app_runtime using (true)`)
    await su.query(`grant select on public.${looseLog} to app_runtime`)
    await su.query(`create trigger guard before update or delete on public.${looseLog} for each row execute function app.audit_reject()`)
    await su.query(`create trigger no_truncate before truncate on public.${looseLog} for each statement execute function app.audit_reject()`)
    await su.query(`alter table public.${looseLog} enable always trigger guard, enable always trigger no_truncate`)
    await su.query(`create function app.${fn}() returns int language sql security definer as 'select 1'`)

    const find = (all: Findings[], object: string) => all.find((f) => f.object === object)?.problems
    t.same(find(await tableFindings(su), `table ${table}`), ['row-level security is not enabled', 'row-level security is not forced'], 'a table without RLS')
    await su.query(`create table public.${table}_unforced (a int)`)
    await su.query(`alter table public.${table}_unforced enable row level security`)
    t.same(find(await tableFindings(su), `table ${table}_unforced`), ['row-level security is not forced'], 'a table whose owner is exempt')
    t.same(find(await tableFindings(su), `table ${loose}`), [], 'enabled and forced: nothing to say')
    const tenant = await tenantTableFindings(su, 'public')
    t.same(find(tenant, `table ${table}`), [
      'row-level security is not enabled',
      'row-level security is not forced',
      'no permissive SELECT policy for app_runtime',
      'no permissive INSERT policy for app_runtime',
      'no restrictive INSERT policy using app.current_workspace_writable()',
      'no permissive UPDATE policy for app_runtime',
      'no restrictive UPDATE policy using app.current_workspace_writable()',
      'no permissive DELETE policy for app_runtime',
      'no restrictive DELETE policy using app.current_workspace_writable()',
      'no AFTER INSERT row trigger executing app.audit_capture()',
      'no AFTER UPDATE row trigger executing app.audit_capture()',
      'no AFTER DELETE row trigger executing app.audit_capture()',
    ], 'a tenant table with nothing')
    t.same(find(tenant, `table ${loose}`), [
      'permissive SELECT policy "anything goes" is not scoped to app.current_workspace_id()',
      'permissive INSERT policy "anything goes" is not scoped to app.current_workspace_id()',
      'no restrictive INSERT policy using app.current_workspace_writable()',
      'permissive UPDATE policy "anything goes" is not scoped to app.current_workspace_id()',
      'no restrictive UPDATE policy using app.current_workspace_writable()',
      'permissive DELETE policy "anything goes" is not scoped to app.current_workspace_id()',
      'no restrictive DELETE policy using app.current_workspace_writable()',
      'no AFTER UPDATE row trigger executing app.audit_capture()',
      'no AFTER DELETE row trigger executing app.audit_capture()',
      `trigger "capture" executing app.audit_capture() is disabled (tgenabled = 'D')`,
    ], 'a tenant table with a policy that lets everything through and a partial, disabled change trigger')
    t.same(find(tenant, `table ${readOnly}`), [], 'a tenant table the runtime only reads, scoped and captured')
    t.equal(find(tenant, `table ${unlogged}`), undefined, 'an UNLOGGED table is not a tenant table')
    const appendOnlyFindings = await appendOnlyTableFindings(su, 'public')
    t.same(find(appendOnlyFindings, `table ${log}`), [
      'row-level security is not enabled',
      'row-level security is not forced',
      'no permissive SELECT policy for app_runtime',
      'app_runtime has the INSERT privilege',
      'app_runtime has the UPDATE privilege',
      'app_runtime has the DELETE privilege',
      'app_runtime has the TRUNCATE privilege',
      'no BEFORE UPDATE row trigger executing app.audit_reject()',
      'no BEFORE TRUNCATE statement trigger executing app.audit_reject()',
      `trigger "guard" executing app.audit_reject() is not enabled ALWAYS (tgenabled = 'O')`,
    ], 'an append-only table with nothing but a DELETE guard')
    t.same(find(appendOnlyFindings, `table ${looseLog}`), [
      'permissive SELECT policy "anyone reads" is not scoped to app.current_workspace_id()',
    ], 'an append-only table readable across tenants')
    t.equal(find(tenant, `table ${log}`), undefined, 'append-only tables are not held to the tenant-table rules')
    t.same(find(await definerFunctionFindings(su, ['app']), `function app.${fn}()`), [
      `proconfig lacks "${DEFINER_SEARCH_PATH}" (has null)`,
      'PUBLIC may EXECUTE it',
      `its owner ${superuser} bypasses row-level security`,
    ], 'a careless definer function')
  } finally {
    await su.query('rollback')
  }

  // Not a superuser: a superuser is a member of every role, so its list would depend on the
  // throwaway roles other test files hold at this moment. The next test covers that attribute.
  const group = await createLogin(t, su, db.appUrl, 'bypassrls')
  const unsafe = await createLogin(t, su, db.appUrl, `bypassrls createrole replication in role app_runtime, app_privileged, app_auditor, ${group.name}`)
  await su.query(`create table public.${table} ()`)
  await su.query(`alter table public.${table} owner to ${unsafe.name}`)
  t.same((await loginFindings(su, unsafe.name)).problems, [
    'has BYPASSRLS',
    'has CREATEROLE',
    'has REPLICATION',
    `is a member of ${group.name}, which bypasses row-level security`,
    `owns table ${table}`,
    "is a member of app_privileged, which owns the schema's objects",
    "is a member of app_auditor, which reads every workspace's audit log",
  ], 'an unsafe login')
})

t.test('the lint reports a superuser login', async (t) => {
  // Threat: the runtime login is a superuser, to whom no policy applies.
  const login = await createLogin(t, su, db.appUrl, 'superuser')
  const { problems } = await loginFindings(su, login.name)
  t.equal(problems[0], 'is a superuser', 'named first')
  t.ok(problems.includes(`is a member of ${schemaOwner}, which owns the schema's objects`), 'and, as a member of every role, of the owner')
})

// Self-tests of the lints above: each builds deliberately bad objects, and some good ones beside
// them, in a throwaway schema inside a transaction that is rolled back.

/** Runs `fn` with a fresh schema (and any roles it creates) that vanish when the test ends. */
async function inThrowawaySchema(fn: (schema: string) => Promise<void>): Promise<void> {
  const schema = randomName('gh_lint_schema_')
  await su.query('begin')
  try {
    await su.query(`create schema ${schema}`)
    await fn(schema)
  } finally {
    await su.query('rollback')
  }
}

function problemsOf(all: Findings[], object: string): string[] | undefined {
  return all.find((f) => f.object === object)?.problems
}

t.test('the open-write-policy lint finds every `true` write policy not listed', async (t) => {
  // Threat: a lint that passes because its queries match nothing, or because the list excuses too much.
  await inThrowawaySchema(async (s) => {
    await su.query(`create table ${s}.t (a int)`)
    for (const policy of [
      `"anyone adds" on ${s}.t for insert to public with check (true)`,
      `"anything goes" on ${s}.t for all to app_mailer using (true)`,
      `"deletes anything" on ${s}.t for delete to app_auditor using (true)`,
      `"listed" on ${s}.t for delete to app_runtime using (true)`,
      `"reads anything" on ${s}.t for select to app_runtime using (true)`,
      `"restrictive true" on ${s}.t as restrictive for insert to app_runtime with check (true)`,
      `"runtime changes any row" on ${s}.t for update to app_runtime using (true) with check (a > 0)`,
      `"runtime changes to anything" on ${s}.t for update to app_privileged using (a > 0) with check (true)`,
      `"scoped all" on ${s}.t for all to app_privileged using (a > 0) with check (true)`,
      `"scoped write" on ${s}.t for update to app_runtime using (a > 0)`,
    ]) {
      await su.query(`create policy ${policy}`)
    }
    const allowed = [{ table: `${s}.t`, policy: 'listed', reason: 'the self-test lists it' }]
    const unlisted = (policy: string, who: string, what: string) =>
      `policy "${policy}" lets ${who} ${what} any row (true) but is not listed with its reason in scripts/rls-report/open-policies.ts`
    t.same(problemsOf(await openWritePolicyFindings(su, s, allowed), `table ${s}.t`), [
      unlisted('anyone adds', 'PUBLIC', 'INSERT'),
      unlisted('anything goes', 'app_mailer', 'INSERT, UPDATE, DELETE'),
      unlisted('deletes anything', 'app_auditor', 'DELETE'),
      unlisted('runtime changes any row', 'app_runtime', 'UPDATE'),
      unlisted('runtime changes to anything', 'app_privileged', 'UPDATE'),
      unlisted('scoped all', 'app_privileged', 'INSERT, UPDATE'),
    ], 'INSERT WITH CHECK, UPDATE USING or WITH CHECK, DELETE USING true, FOR ALL for each; not SELECT, restrictive or listed ones')
    t.same(await staleOpenPolicies(su, [...allowed, { table: `${s}.t`, policy: 'reads anything', reason: '' }, { table: `${s}.t`, policy: 'gone', reason: '' }]), [
      `${s}.t: "reads anything" is listed in scripts/rls-report/open-policies.ts but admits no write of any row`,
      `${s}.t: "gone" is listed in scripts/rls-report/open-policies.ts but admits no write of any row`,
    ], 'a listed policy that admits no open write, or does not exist, is stale')
  })
})

t.test('the permissive-policy lint counts FOR ALL, PUBLIC and role membership', async (t) => {
  // Threat: a lint that passes because its queries match nothing, or that counts a role's own policies only.
  await inThrowawaySchema(async (s) => {
    const parent = randomName('gh_lint_parent_')
    const child = randomName('gh_lint_child_')
    await su.query(`create role ${parent} nologin`)
    await su.query(`create role ${child} nologin in role ${parent}`)
    await su.query(`create table ${s}.inherited (a int)`)
    await su.query(`create policy "parent reads" on ${s}.inherited for select to ${parent} using (a > 0)`)
    await su.query(`create policy "child reads" on ${s}.inherited for select to ${child} using (a > 1)`)
    await su.query(`create table ${s}.everyone (a int)`)
    await su.query(`create policy "everyone, everything" on ${s}.everyone for all to public using (a > 0)`)
    await su.query(`create policy "runtime updates" on ${s}.everyone for update to app_runtime using (a > 1)`)
    await su.query(`create policy "runtime narrows" on ${s}.everyone as restrictive for update to app_runtime using (a > 2)`)
    await su.query(`create table ${s}.shared (a int)`)
    await su.query(`create policy "one for two" on ${s}.shared for select to app_runtime, app_privileged using (a > 0)`)
    const findings = await multiplePermissiveFindings(su, s, [runtimeLogin])
    t.same(problemsOf(findings, `table ${s}.inherited`), [
      `${child} has 2 permissive SELECT policies: "child reads", "parent reads"`,
    ], "a member gets its group role's policy on top of its own")
    t.same(problemsOf(findings, `table ${s}.everyone`), [
      'app_runtime has 2 permissive UPDATE policies: "everyone, everything", "runtime updates"',
      `${runtimeLogin} has 2 permissive UPDATE policies: "everyone, everything", "runtime updates"`,
    ], "a FOR ALL policy TO PUBLIC counts for every command and role, and app_runtime's login inherits the excess")
    t.same(problemsOf(findings, `table ${s}.shared`), [], 'one policy naming two roles is one policy for each')
  })
})

t.test('the foreign-key lint wants an index led by exactly the key columns', async (t) => {
  // Threat: a lint that passes because its queries match nothing, or that takes any index mentioning the columns.
  await inThrowawaySchema(async (s) => {
    await su.query(`create table ${s}.parent (a int, b int, primary key (a, b))`)
    const child = async (name: string, index: string | null) => {
      await su.query(`create table ${s}.${name} (a int, b int, c int, foreign key (a, b) references ${s}.parent)`)
      if (index) await su.query(`create index on ${s}.${name} ${index}`)
    }
    await child('no_index', null)
    await child('reversed', '(b, a, c)')
    await child('prefix', '(a)')
    await child('gap', '(a, c, b)')
    await child('partial', '(a, b) where c > 0')
    await child('included', '(a) include (b)')
    const findings = await unindexedForeignKeyFindings(su, s)
    const missing = (table: string) => [`foreign key "${table}_a_b_fkey" (a, b) has no index whose leading columns are exactly its columns`]
    t.same(problemsOf(findings, `table ${s}.no_index`), missing('no_index'), 'no index at all')
    t.same(problemsOf(findings, `table ${s}.reversed`), [], 'the key columns lead, in another order')
    t.same(problemsOf(findings, `table ${s}.prefix`), missing('prefix'), 'only some of the key columns')
    t.same(problemsOf(findings, `table ${s}.gap`), missing('gap'), 'another column among the leading ones')
    t.same(problemsOf(findings, `table ${s}.partial`), missing('partial'), 'a partial index covers some rows only')
    t.same(problemsOf(findings, `table ${s}.included`), missing('included'), 'an INCLUDE column is no key column')
    t.same(problemsOf(findings, `table ${s}.parent`), [], 'a table without foreign keys')
  })
})

t.test('the helper lint finds every context helper called outside (select …)', async (t) => {
  // Threat: a lint that passes because its queries match nothing, or because pg_get_expr prints the wrapper differently.
  await inThrowawaySchema(async (s) => {
    await su.query(`create table ${s}.t (workspace_id uuid, user_id uuid)`)
    for (const policy of [
      `"bare" on ${s}.t for select to app_runtime using (workspace_id = app.current_workspace_id())`,
      `"gate" on ${s}.t as restrictive for delete to app_runtime using (app.current_workspace_writable())`,
      `"half wrapped" on ${s}.t for update to app_runtime using (workspace_id = (select app.current_workspace_id()))
         with check (user_id = app.current_user_id() and (select app.current_workspace_writable()) and app.current_context_kind() = 'request')`,
      `"session" on ${s}.t for delete to app_runtime using (app.current_session_id() is not null)`,
      `"wrapped" on ${s}.t for insert to app_runtime
         with check (workspace_id = (select app.current_workspace_id()) and user_id = (select app.current_user_id())
                     and coalesce((select app.current_context_kind()), '') = 'request')`,
    ]) {
      await su.query(`create policy ${policy}`)
    }
    const per = (policy: string, clause: string, fn: string) => `policy "${policy}" ${clause} calls ${fn} without the (select …) wrapper, once per row`
    t.same(problemsOf(await unwrappedHelperFindings(su, s), `table ${s}.t`), [
      per('bare', 'USING', 'app.current_workspace_id()'),
      per('gate', 'USING', 'app.current_workspace_writable()'),
      per('half wrapped', 'WITH CHECK', 'app.current_user_id()'),
      per('half wrapped', 'WITH CHECK', 'app.current_context_kind()'),
      per('session', 'USING', 'app.current_session_id()'),
    ], 'each bare call, in USING and WITH CHECK, wrapped ones beside them left alone')
  })
})

t.test('the duplicate-index lint compares columns, operator classes, expressions and predicates', async (t) => {
  // Threat: a lint that passes because its queries match nothing, or that calls different indexes the same.
  await inThrowawaySchema(async (s) => {
    await su.query(`create table ${s}.t (a int, b text)`)
    for (const index of [
      't_a on %s (a)', 't_a_again on %s (a)', 't_a_unique on %s (a)',
      't_a_desc on %s (a desc)', 't_a_hash on %s using hash (a)', 't_a_b on %s (a, b)', 't_a_incl_b on %s (a) include (b)',
      't_a_partial on %s (a) where a > 0', 't_a_partial_again on %s (a) where a > 0', 't_a_other_partial on %s (a) where a > 1',
      't_b on %s (b)', 't_b_pattern on %s (b text_pattern_ops)', 't_b_c on %s (b collate "C")',
      't_lower on %s (lower(b))', 't_lower_again on %s (lower(b))', 't_upper on %s (upper(b))',
    ]) {
      await su.query(`create ${index.startsWith('t_a_unique') ? 'unique ' : ''}index ${index.replace('%s', `${s}.t`)}`)
    }
    t.same(problemsOf(await duplicateIndexFindings(su, s), `table ${s}.t`), [
      'indexes "t_a", "t_a_again", "t_a_unique" are the same index',
      'indexes "t_a_partial", "t_a_partial_again" are the same index',
      'indexes "t_lower", "t_lower_again" are the same index',
    ], 'alike: same columns (a unique one too), same predicate, same expression; not: ordering, method, included or more columns, opclass, collation, other predicate or expression')
  })
})

t.test('the setting lint finds current_setting(\'app.…\') in functions and policies', async (t) => {
  // Threat: a lint that passes because its queries match nothing.
  await inThrowawaySchema(async (s) => {
    await su.query(`create function ${s}.reads_setting() returns uuid language sql as $$ select current_setting('app.workspace_id', true)::uuid $$`)
    await su.query(`create function ${s}.plpgsql_reads() returns text language plpgsql as $$ begin return pg_catalog.current_setting( 'app.user_id'); end $$`)
    await su.query(`create function ${s}.reads_other() returns text language sql as $$ select current_setting('gatehouse.runtime_login', true) $$`)
    await su.query(`create table ${s}.t (workspace_id uuid)`)
    await su.query(`create policy "from a setting" on ${s}.t for select to app_runtime using (workspace_id = current_setting('app.workspace_id', true)::uuid)`)
    await su.query(`create policy "sealed" on ${s}.t for insert to app_runtime with check (workspace_id = (select app.current_workspace_id()))`)
    const findings = await appSettingFindings(su, [s], s)
    const reads = ["reads a custom app.* setting (current_setting('app.…'))"]
    t.same(problemsOf(findings, `function ${s}.reads_setting()`), reads, 'an SQL function')
    t.same(problemsOf(findings, `function ${s}.plpgsql_reads()`), reads, 'a PL/pgSQL function, schema-qualified call')
    t.same(problemsOf(findings, `function ${s}.reads_other()`), [], 'another setting')
    t.same(problemsOf(findings, `table ${s}.t`), [
      `policy "from a setting" USING reads a custom app.* setting (current_setting('app.…'))`,
    ], 'a policy')
  })
})

t.test('the definer-comment lint wants a reason and a "Checks:" rule', async (t) => {
  // Threat: a lint that passes because its queries match nothing, or that takes any comment.
  await inThrowawaySchema(async (s) => {
    const comments: Record<string, string | null> = {
      silent: null,
      unchecked: 'Crosses tenants because it can.',
      empty_rule: 'Crosses tenants. Checks: ',
      no_reason: 'Checks: only the sealed user',
      documented: "Profile: reads the user's own row. Checks: only the sealed user",
    }
    for (const [name, comment] of Object.entries(comments)) {
      await su.query(`create function ${s}.${name}() returns int language sql security definer set search_path = pg_catalog, pg_temp as 'select 1'`)
      if (comment !== null) await su.query(`comment on function ${s}.${name}() is ${su.escapeLiteral(comment)}`)
    }
    await su.query(`create function ${s}.invoker() returns int language sql as 'select 1'`)
    const findings = await definerCommentFindings(su, [s])
    t.same(problemsOf(findings, `function ${s}.silent()`), ['has no COMMENT (why it crosses tenants or users. Checks: the rule it checks)'])
    t.same(problemsOf(findings, `function ${s}.unchecked()`), ['its COMMENT has no "Checks:" naming the rule it checks'])
    t.same(problemsOf(findings, `function ${s}.empty_rule()`), ['its COMMENT\'s "Checks:" names no rule'])
    t.same(problemsOf(findings, `function ${s}.no_reason()`), ['its COMMENT does not say why it crosses tenants or users before "Checks:"'])
    t.same(problemsOf(findings, `function ${s}.documented()`), [], 'both parts')
    t.equal(problemsOf(findings, `function ${s}.invoker()`), undefined, 'only SECURITY DEFINER functions')
  })
})

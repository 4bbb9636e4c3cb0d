// A catalogue lint over pg_catalog: every table, SECURITY DEFINER function and the runtime login
// are found by query, not listed by hand, so a table or function added later is checked as soon
// as its migration lands. Each finding names the object; a lint self-test proves the checks bite.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { roleFromUrl } from '../../src/db/migrate.js'
import { appendOnly, createLogin, randomName, rows, type Sql } from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtimeLogin = roleFromUrl(db.appUrl)
const schemaOwner = roleFromUrl(db.ownerUrl)
const superuser = roleFromUrl(db.superUrl)
const SEARCH_PATH = 'search_path=pg_catalog, pg_temp'

interface Findings {
  object: string
  problems: string[]
}

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

/** Tables in `schema` that lack ENABLE ROW LEVEL SECURITY. */
async function tablesWithoutRls(sql: Sql, schema: string): Promise<Findings[]> {
  const tables = await rows<{ name: string; enabled: boolean }>(
    sql,
    `select c.oid::regclass::text as name, c.relrowsecurity as enabled
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind in ('r', 'p') order by 1`,
    [schema],
  )
  return tables.map((r) => ({ object: `table ${r.name}`, problems: r.enabled ? [] : ['row-level security is not enabled'] }))
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
}

/** The tables in `schema` with a workspace_id column, append-only or not, and what the lint needs of each. */
async function workspaceTables(sql: Sql, schema: string, appendOnlyTables: boolean): Promise<TableRow[]> {
  const fn = appendOnlyTables ? 'app.audit_reject()' : 'app.audit_capture()'
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
                        from pg_trigger tg where tg.tgrelid = c.oid and tg.tgfoid = '${fn}'::regprocedure), '[]') as triggers,
            array(select x from unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) x
                   where has_table_privilege('app_runtime', c.oid, x)) as runtime_privileges
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind in ('r', 'p')
        and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped)
        and ${appendOnlyTables ? '' : 'not'} ${appendOnly('c')}
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
 * and write-gated policies for app_runtime, and the change-capture trigger app.audit_capture().
 */
async function tenantTableFindings(sql: Sql, schema: string): Promise<Findings[]> {
  return (await workspaceTables(sql, schema, false)).map((table) => {
    const problems = policyProblems(table, Object.keys(COMMANDS) as Command[])
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
 * Append-only tables in `schema` (the audit log): forced RLS, app_runtime reads its workspace's
 * rows and may write none, and the guard triggers reject UPDATE, DELETE and TRUNCATE even under
 * session_replication_role = replica (ENABLE ALWAYS).
 */
async function appendOnlyTableFindings(sql: Sql, schema: string): Promise<Findings[]> {
  return (await workspaceTables(sql, schema, true)).map((table) => {
    const problems = policyProblems(table, ['r'])
    for (const privilege of table.runtime_privileges) problems.push(`app_runtime has the ${privilege} privilege`)
    for (const event of ['UPDATE', 'DELETE', 'TRUNCATE'] as const) {
      if (!table.triggers.some((tg) => fires(tg, 'BEFORE', event))) {
        problems.push(`no BEFORE ${event} ${event === 'TRUNCATE' ? 'statement' : 'row'} trigger executing app.audit_reject()`)
      }
    }
    for (const tg of table.triggers.filter((tg) => tg.enabled !== 'A')) {
      problems.push(`trigger "${tg.name}" executing app.audit_reject() is not enabled ALWAYS (tgenabled = '${tg.enabled}')`)
    }
    return { object: `table ${table.name}`, problems }
  })
}

/** SECURITY DEFINER functions in `schemas`: pinned search_path, no EXECUTE for PUBLIC, an owner that obeys RLS. */
async function definerFunctionFindings(sql: Sql, schemas: string[]): Promise<Findings[]> {
  const functions = await rows<{ name: string; config: string[] | null; public_execute: boolean; owner: string; owner_bypasses: boolean }>(
    sql,
    `select p.oid::regprocedure::text as name, p.proconfig as config, o.rolname as owner,
            (o.rolsuper or o.rolbypassrls) as owner_bypasses,
            exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) x
                     where x.grantee = 0 and x.privilege_type = 'EXECUTE') as public_execute
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_roles o on o.oid = p.proowner
      where n.nspname = any($1) and p.prosecdef order by 1`,
    [schemas],
  )
  return functions.map((f) => {
    const problems: string[] = []
    if (!(f.config ?? []).includes(SEARCH_PATH)) problems.push(`proconfig lacks "${SEARCH_PATH}" (has ${JSON.stringify(f.config)})`)
    if (f.public_execute) problems.push('PUBLIC may EXECUTE it')
    if (f.owner_bypasses) problems.push(`its owner ${f.owner} bypasses row-level security`)
    return { object: `function ${f.name}`, problems }
  })
}

/**
 * The runtime login: not superuser, BYPASSRLS (own or inherited), CREATEROLE or REPLICATION; owns
 * nothing; no membership of an owner or app_privileged, nor of app_auditor (every tenant's log).
 */
async function loginFindings(sql: Sql, login: string): Promise<Findings> {
  const [r] = await rows<{ superuser: boolean; bypassrls: boolean; createrole: boolean; replication: boolean; bypassing: string[]; owns: string[]; owners: string[]; auditor: boolean }>(
    sql,
    `with r as (select * from pg_roles where rolname = $1),
          owners as (
            select relowner as oid from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('public', 'app')
            union select proowner from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('public', 'app')
            union select nspowner from pg_namespace where nspname = 'app'
            union select datdba from pg_database where datname = current_database()
            union select oid from pg_roles where rolname = 'app_privileged')
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
            pg_has_role(r.oid, 'app_auditor', 'MEMBER') as auditor
       from r`,
    [login],
  )
  const problems: string[] = []
  if (!r) return { object: `login ${login}`, problems: ['does not exist'] }
  if (r.superuser) problems.push('is a superuser')
  if (r.bypassrls) problems.push('has BYPASSRLS')
  if (r.createrole) problems.push('has CREATEROLE')
  if (r.replication) problems.push('has REPLICATION')
  for (const role of r.bypassing) problems.push(`is a member of ${role}, which bypasses row-level security`)
  for (const object of r.owns) problems.push(`owns ${object}`)
  for (const role of r.owners) problems.push(`is a member of ${role}, which owns the schema's objects`)
  if (r.auditor) problems.push("is a member of app_auditor, which reads every workspace's audit log")
  return { object: `login ${login}`, problems: [...new Set(problems)] }
}

interface Asserts {
  ok(value: unknown, message: string): boolean
  same(found: unknown, wanted: unknown, message: string): boolean
}

function report(t: Asserts, findings: Findings[], what: string, mustInclude: string): void {
  t.ok(findings.some((f) => f.object === mustInclude), `the catalogue lists ${what}, including ${mustInclude}`)
  for (const f of findings) t.same(f.problems, [], f.object)
}

t.test('every table in public has row-level security enabled', async (t) => {
  // Threat: a new table is created without RLS and every tenant can read it.
  report(t, await tablesWithoutRls(su, 'public'), 'the public tables', 'table contacts')
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
  report(t, await definerFunctionFindings(su, ['app', 'public']), 'the definer functions', 'function app.begin_request(bytea,uuid,text,text,text)')
})

t.test('the runtime login cannot bypass row-level security', async (t) => {
  // Threat: the service's login is (or inherits) a role that RLS does not apply to.
  t.same((await loginFindings(su, runtimeLogin)).problems, [], `login ${runtimeLogin}`)
})

t.test('the lint reports what it must', async (t) => {
  // Threat: a lint that passes because its queries match nothing.
  const table = randomName('gh_lint_table_')
  const loose = randomName('gh_lint_loose_')
  const log = randomName('gh_lint_log_')
  const looseLog = randomName('gh_lint_loose_log_')
  const fn = randomName('gh_lint_fn_')
  await su.query('begin')
  try {
    await su.query(`create table public.${table} (workspace_id uuid)`)
    await su.query(`create table public.${loose} (workspace_id uuid)`)
    await su.query(`alter table public.${loose} enable row level security, force row level security`)
    await su.query(`create policy "anything goes" on public.${loose} for all to app_runtime using (true)`)
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
    await su.query(`create trigger guard before update or delete on public.${looseLog} for each row execute function app.audit_reject()`)
    await su.query(`create trigger no_truncate before truncate on public.${looseLog} for each statement execute function app.audit_reject()`)
    await su.query(`alter table public.${looseLog} enable always trigger guard, enable always trigger no_truncate`)
    await su.query(`create function app.${fn}() returns int language sql security definer as 'select 1'`)

    const find = (all: Findings[], object: string) => all.find((f) => f.object === object)?.problems
    t.same(find(await tablesWithoutRls(su, 'public'), `table ${table}`), ['row-level security is not enabled'], 'a table without RLS')
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
      `proconfig lacks "${SEARCH_PATH}" (has null)`,
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

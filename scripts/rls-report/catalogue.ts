// The security posture as the catalogue states it, not as sql/ intends it: a DBA reading this
// sees what PostgreSQL will enforce, including anything changed by hand after the migrations.
// Everything here reads pg_catalog only, which any role may read (no superuser needed), and
// each section is one query so the report stays cheap on a large schema.
//
// readRlsReport does not open a transaction itself: the CLI wraps it in one read-only
// REPEATABLE READ transaction so the sections come from one snapshot.

export type * from './types.js'
import type {
  Command, DefinerFunctionReport, EffectiveCheck, EffectivePolicy, OpenPolicy, PolicyReport, Queryable, ReadOptions, RlsReport,
  RoleReport, TableReport, TriggerEnabled, TriggerReport, WriteCommand,
} from './types.js'
import { OPEN_POLICIES, openPolicyReason } from './open-policies.js'
import { definerFunctionFindings, loginFindings, tableFindings, type Findings } from '../../src/db/posture.js'

export const DEFAULT_ROLES = ['app_runtime', 'app_privileged']

// Trigger functions that belong to the audit trail (sql/050), by name; any other app.audit_*
// function a later migration adds is still listed, as 'audit'.
const TRIGGER_ROLES: Record<string, TriggerReport['role']> = {
  'app.audit_capture': 'change capture',
  'app.audit_require_actor_trigger': 'actor check',
  'app.audit_seal': 'chain seal',
  'app.audit_advance': 'chain seal',
  'app.audit_chain_head_guard': 'chain guard',
  'app.audit_reject': 'append-only guard',
  'app.reject_recent_delete': 'append-only guard',
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
  const [tables, policies, appliesTo, triggers, definerFunctions, roles] = [
    await readTables(db, schemas),
    await readPolicies(db, schemas, opts.openPolicies ?? OPEN_POLICIES),
    await readPolicySubjects(db, schemas, roleNames),
    await readAuditTriggers(db, schemas),
    await readDefinerFunctions(db),
    await readRoles(db, roleNames),
  ]
  // The posture start-up enforces (src/db/posture.ts): every login that acts as app_runtime, and
  // every table and definer function of the sealed schemas. A membership with neither INHERIT nor SET (PostgreSQL 16+
  // gives one, with ADMIN, to the CREATEROLE login that created the role) only administers it.
  const posture: Findings[] = []
  for (const member of roles.find((r) => r.name === 'app_runtime')?.members ?? []) {
    const actsAs = !(member.inheritOption === false && member.setOption === false)
    if (member.login && actsAs) posture.push(await loginFindings(db, member.name))
  }
  posture.push(...(await tableFindings(db)), ...(await definerFunctionFindings(db)))
  for (const table of tables) {
    const key = `${table.schema}.${table.name}`
    table.policies = policies.get(key) ?? []
    // Policies of a table without row-level security are not evaluated at all.
    table.effective = table.rlsEnabled ? effectivePolicies(table.policies, appliesTo.get(key) ?? []) : []
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
    posture,
  }
}

async function readTables(db: Queryable, schemas: string[]): Promise<TableReport[]> {
  const { rows } = await db.query<Omit<TableReport, 'policies' | 'auditTriggers'>>(
    `select n.nspname as schema, c.relname as name, pg_get_userbyid(c.relowner) as owner,
            c.relrowsecurity as "rlsEnabled", c.relforcerowsecurity as "rlsForced",
            c.relpersistence = 'p' and exists (
              select 1 from pg_attribute a
               where a.attrelid = c.oid and a.attname = 'workspace_id' and a.attnum > 0 and not a.attisdropped) as "tenantKeyed"
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1::text[]) and c.relkind in ('r', 'p')
      order by n.nspname, c.relname`,
    [schemas],
  )
  return rows.map((r) => ({ ...r, policies: [], effective: [], auditTriggers: [] }))
}

/** Policies per "schema.table", ordered by command (SELECT, INSERT, UPDATE, DELETE, ALL), permissive first. */
async function readPolicies(db: Queryable, schemas: string[], open: readonly OpenPolicy[]): Promise<Map<string, PolicyReport[]>> {
  const { rows } = await db.query<Omit<PolicyReport, 'openWrites' | 'openReason'> & { table: string }>(
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
  return groupBy(rows, ({ table, ...policy }) => {
    const writes = openWrites(policy)
    return [table, { ...policy, openWrites: writes, openReason: writes.length ? openPolicyReason(table, policy.name, open) : null }]
  })
}

const COMMANDS: Command[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE']

/** Whether a policy is evaluated for `command`: its own command, or FOR ALL. */
function appliesFor(policy: Pick<PolicyReport, 'command'>, command: Command): boolean {
  return policy.command === command || policy.command === 'ALL'
}

/** The expression a policy adds for existing rows (USING) or new rows (WITH CHECK, else its USING), as PostgreSQL applies it. */
function clause(policy: Pick<PolicyReport, 'using' | 'withCheck'>, side: 'using' | 'withCheck'): string | null {
  return side === 'using' ? policy.using : (policy.withCheck ?? policy.using)
}

/**
 * The writes a permissive policy admits for any row: INSERT WITH CHECK true, UPDATE USING or
 * WITH CHECK true, DELETE USING true (WITH CHECK falling back to USING, FOR ALL counting for each).
 */
export function openWrites(policy: Pick<PolicyReport, 'command' | 'kind' | 'using' | 'withCheck'>): WriteCommand[] {
  if (policy.kind !== 'permissive') return []
  const open = (side: 'using' | 'withCheck') => clause(policy, side)?.trim() === 'true'
  return (['INSERT', 'UPDATE', 'DELETE'] as const).filter(
    (command) =>
      appliesFor(policy, command) &&
      (command === 'INSERT' ? open('withCheck') : command === 'DELETE' ? open('using') : open('using') || open('withCheck')),
  )
}

/** One policy applying to one role, and through which of the policy's roles (itself, one it inherits, PUBLIC). */
export interface PolicySubject {
  role: string
  policy: string
  via: string[]
}

/**
 * For every table (by "schema.table"), which policies apply to which roles. The roles looked
 * at: every role a policy in `schemas` names, `roles` and the tables' owners, but none that RLS
 * skips (superuser, BYPASSRLS, the owner of a table that is not FORCEd), plus 'PUBLIC' for what
 * any other role gets. A policy applies to a role it names, to every role that inherits that
 * role's privileges (pg_has_role … USAGE, as PostgreSQL checks it) and, TO PUBLIC, to everyone.
 */
async function readPolicySubjects(db: Queryable, schemas: string[], roles: string[]): Promise<Map<string, PolicySubject[]>> {
  const { rows } = await db.query<PolicySubject & { table: string }>(
    `with pol as (
       select p.polname, p.polroles, c.oid as relid, c.relowner, c.relforcerowsecurity as forced, n.nspname || '.' || c.relname as "table"
         from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1::text[])),
     subject as (
       select r.oid, r.rolname::text as name from pg_roles r
        where not r.rolsuper and not r.rolbypassrls
          and (r.oid in (select unnest(polroles) from pol) or r.rolname = any($2::text[])
               or r.oid in (select c.relowner from pg_class c join pg_namespace n on n.oid = c.relnamespace
                             where n.nspname = any($1::text[]) and c.relkind in ('r', 'p')))
       union all select 0::oid, 'PUBLIC')
     select pol."table", s.name as role, pol.polname as policy,
            array(select case when x.oid = 0 then 'PUBLIC' else pg_get_userbyid(x.oid)::text end
                    from unnest(pol.polroles) with ordinality as x(oid, i)
                   where x.oid = 0 or (s.oid <> 0 and pg_has_role(s.oid, x.oid, 'USAGE')) order by x.i) as via
       from pol cross join subject s
      where (0 = any(pol.polroles) or (s.oid <> 0 and exists (select 1 from unnest(pol.polroles) x(oid)
                                                              where x.oid <> 0 and pg_has_role(s.oid, x.oid, 'USAGE'))))
        and (pol.forced or s.oid = 0 or not pg_has_role(s.oid, pol.relowner, 'USAGE'))
      order by 1, 2, 3`,
    [schemas, roles],
  )
  return groupBy(rows, ({ table, ...subject }) => [table, subject])
}

/**
 * What the policies add up to, per role and command (see EffectivePolicy): permissive
 * expressions OR-ed, restrictive ones AND-ed, separately for existing rows (USING) and new rows
 * (WITH CHECK, else USING). Roles in `subjects` order (PUBLIC last), commands SELECT to DELETE.
 */
export function effectivePolicies(policies: PolicyReport[], subjects: PolicySubject[]): EffectivePolicy[] {
  const byRole = new Map<string, PolicySubject[]>()
  for (const s of subjects) byRole.set(s.role, [...(byRole.get(s.role) ?? []), s])
  const roles = [...byRole.keys()].sort((a, b) => Number(a === 'PUBLIC') - Number(b === 'PUBLIC') || (a < b ? -1 : a > b ? 1 : 0))
  const out: EffectivePolicy[] = []
  for (const role of roles) {
    const mine = byRole.get(role)!
    for (const command of COMMANDS) {
      const applying = policies
        .filter((p) => appliesFor(p, command))
        .map((p) => ({ policy: p, subject: mine.find((s) => s.policy === p.name) }))
        .filter((x): x is { policy: PolicyReport; subject: PolicySubject } => x.subject !== undefined)
      if (!applying.length) continue
      const check = (side: 'using' | 'withCheck'): EffectiveCheck => {
        const of = (kind: PolicyReport['kind']) =>
          applying.map((x) => x.policy).filter((p) => p.kind === kind && clause(p, side) !== null)
        const permissive = of('permissive')
        const restrictive = of('restrictive')
        return {
          permissive: combine(permissive.map((p) => clause(p, side)!), 'OR'),
          permissivePolicies: permissive.map((p) => p.name),
          restrictive: combine(restrictive.map((p) => clause(p, side)!), 'AND'),
          restrictivePolicies: restrictive.map((p) => p.name),
        }
      }
      out.push({
        role,
        command,
        via: [...new Set(applying.flatMap((x) => x.subject.via))].sort(),
        using: command === 'INSERT' ? null : check('using'),
        withCheck: command === 'INSERT' || command === 'UPDATE' ? check('withCheck') : null,
      })
    }
  }
  return out
}

/** Expressions joined with OR or AND, each parenthesised unless it already is (or is alone); null for none. */
export function combine(expressions: string[], op: 'OR' | 'AND'): string | null {
  if (!expressions.length) return null
  if (expressions.length === 1) return expressions[0]!
  return expressions.map((e) => (enclosed(e) ? e : `(${e})`)).join(` ${op} `)
}

/** Whether `e` is one parenthesised expression: its first "(" closes at its last character (quotes skipped). */
function enclosed(e: string): boolean {
  if (!e.startsWith('(')) return false
  let depth = 0
  let quote: string | null = null
  for (let i = 0; i < e.length; i++) {
    const ch = e[i]!
    if (quote) {
      if (ch === quote) quote = null
      continue
    }
    if (ch === "'" || ch === '"') quote = ch
    else if (ch === '(') depth++
    else if (ch === ')' && --depth === 0) return i === e.length - 1
  }
  return false
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
        and fn.nspname = 'app' and (f.proname like 'audit\\_%' or f.proname = 'reject_recent_delete')
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
  const { rows } = await db.query<Omit<DefinerFunctionReport, 'purpose' | 'checks'>>(
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
  return rows.map((f) => ({ ...f, ...parseDefinerComment(f.comment) }))
}

/**
 * A definer function's COMMENT, '<why it crosses tenants or users>. Checks: <the rule it
 * checks>': both halves trimmed; checks is null without a non-empty "Checks:" part.
 */
export function parseDefinerComment(comment: string | null): Pick<DefinerFunctionReport, 'purpose' | 'checks'> {
  const match = comment === null ? null : /^([\s\S]*?)\bChecks:([\s\S]*)$/.exec(comment)
  if (!match) return { purpose: comment?.trim() || null, checks: null }
  return { purpose: match[1]!.trim() || null, checks: match[2]!.trim() || null }
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

// A DBA trusts `npm run rls:report` to show what PostgreSQL enforces: a report that misread the
// catalogue (a policy missing, a trigger shown enabled, a definer function shown pinned) would
// hide exactly the gap it exists to reveal. Read as the schema owner, which is no superuser.
import { spawn } from 'node:child_process'
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { readRlsReport, type EffectivePolicy, type RlsReport } from '../../scripts/rls-report/catalogue.js'
import { findWarnings, formatRlsReport } from '../../scripts/rls-report/format.js'
import { OPEN_POLICIES } from '../../scripts/rls-report/open-policies.js'

const db = await createTestDatabase(t)
const owner = await connect(t, db.ownerUrl)
const ownerLogin = new URL(db.ownerUrl).username
const report = await readRlsReport(owner)

const CONTACT_POLICIES = [
  ['SELECT', 'permissive', "members read their workspace's contacts", 'app_runtime'],
  ['SELECT', 'permissive', "privileged functions read the request workspace's contacts", 'app_privileged'],
  ['SELECT', 'restrictive', "contacts are read within the member's scope", 'app_runtime'],
  ['INSERT', 'permissive', 'members add contacts to their workspace', 'app_runtime'],
  ['INSERT', 'restrictive', 'contacts are added only to an active, paid-up workspace', 'app_runtime'],
  ['INSERT', 'restrictive', "contacts are added within the member's scope", 'app_runtime'],
  ['UPDATE', 'permissive', "members change their workspace's contacts", 'app_runtime'],
  ['UPDATE', 'permissive', "privileged functions soft-delete a deleted workspace's contacts", 'app_privileged'],
  ['UPDATE', 'restrictive', 'contacts are changed only in an active, paid-up workspace', 'app_runtime'],
  ['UPDATE', 'restrictive', "contacts are changed within the member's scope", 'app_runtime'],
  ['DELETE', 'permissive', "members delete their workspace's contacts", 'app_runtime'],
  ['DELETE', 'restrictive', 'contacts are deleted only in an active, paid-up workspace', 'app_runtime'],
  ['DELETE', 'restrictive', "contacts are deleted within the member's scope", 'app_runtime'],
]

const SAME_TENANT = '(workspace_id = ( SELECT app.current_workspace_id() AS current_workspace_id))'
const WRITABLE = '( SELECT app.current_workspace_writable() AS current_workspace_writable)'
/** The contacts scope policies' expression (sql/150), as PostgreSQL deparses it. */
const inScope = (permission: string | null) =>
  `app.contact_in_scope(( SELECT app.current_contacts_access(${permission === null ? 'NULL::text' : `'${permission}'::text`}) AS current_contacts_access), owner_id, department_id)`
const READ_SCOPE = inScope('contacts:read')
const ADD_SCOPE = inScope('contacts:create')
const CHANGE_SCOPE = inScope(null)
const DELETE_SCOPE = inScope('contacts:delete')
const and = (...parts: string[]) => parts.map((e) => (e.startsWith('(') ? e : `(${e})`)).join(' AND ')

function tableOf(r: RlsReport, name: string) {
  const found = r.tables.find((x) => x.schema === 'public' && x.name === name)
  if (!found) throw new Error(`no table ${name} in the report`)
  return found
}

t.test('contacts: RLS enabled and forced, its thirteen policies, the change-capture trigger', async (t) => {
  const contacts = tableOf(report, 'contacts')
  t.ok(contacts.rlsEnabled, 'enabled')
  t.ok(contacts.rlsForced, 'forced')
  t.ok(contacts.tenantKeyed, 'keyed by workspace_id')
  t.same(contacts.policies.map((p) => [p.command, p.kind, p.name, p.roles.join()]), CONTACT_POLICIES, 'the policies and their roles, ordered by command, permissive first')
  const read = contacts.policies.find((p) => p.command === 'SELECT')!
  t.match(read.using, /workspace_id = \( SELECT app\.current_workspace_id\(\)/, 'USING as PostgreSQL deparses it')
  t.equal(read.withCheck, null, 'a SELECT policy has no WITH CHECK')
  for (const p of contacts.policies) t.same([p.openWrites, p.openReason], [[], null], `${p.name}: admits no write of any row`)
  t.same(contacts.auditTriggers, [
    {
      name: 'contacts_audit', function: 'app.audit_capture', role: 'change capture',
      timing: 'AFTER', events: ['INSERT', 'UPDATE', 'DELETE'], level: 'row', arguments: ['contact'], enabled: 'origin',
    },
    {
      name: 'contacts_audit_actor', function: 'app.audit_require_actor_trigger', role: 'actor check',
      timing: 'BEFORE', events: ['INSERT', 'UPDATE', 'DELETE'], level: 'row', arguments: [], enabled: 'origin',
    },
  ])
})

t.test('audit_log: sealed and append-only, every guard ENABLE ALWAYS', async (t) => {
  const log = tableOf(report, 'audit_log')
  t.ok(log.rlsEnabled && log.rlsForced)
  t.same(
    log.auditTriggers.map((tr) => [tr.name, tr.role, tr.timing, tr.level, tr.enabled]),
    [
      ['audit_log_advance', 'chain seal', 'AFTER', 'row', 'always'],
      ['audit_log_cannot_be_truncated', 'append-only guard', 'BEFORE', 'statement', 'always'],
      ['audit_log_is_append_only', 'append-only guard', 'BEFORE', 'row', 'always'],
      ['audit_log_seal', 'chain seal', 'BEFORE', 'row', 'always'],
    ],
  )
  t.same(
    tableOf(report, 'audit_chain_heads').auditTriggers.map((tr) => [tr.name, tr.role, tr.enabled]),
    [
      ['audit_chain_heads_cannot_be_truncated', 'append-only guard', 'always'],
      ['audit_chain_heads_move_only_with_the_chain', 'chain guard', 'always'],
    ],
    'the chain heads: guarded ALWAYS too',
  )
})

t.test('request_contexts: a connection\'s own context, not a tenant table', async (t) => {
  const contexts = tableOf(report, 'request_contexts')
  t.notOk(contexts.tenantKeyed, 'its workspace_id names where a connection acts; UNLOGGED, it holds no tenant\'s data')
  t.ok(contexts.rlsEnabled && contexts.rlsForced)
})

/** [role, command, via, USING permissive, USING restrictive, WITH CHECK permissive, WITH CHECK restrictive] */
function effectiveRows(effective: EffectivePolicy[]): unknown[][] {
  return effective.map((e) => [
    e.role, e.command, e.via.join(),
    e.using?.permissive, e.using?.restrictive, e.withCheck?.permissive, e.withCheck?.restrictive,
  ])
}

t.test('effective policies: per role and command, permissive OR-ed, restrictive AND-ed, members included', async (t) => {
  const contacts = tableOf(report, 'contacts')
  t.same(effectiveRows(contacts.effective), [
    ['app_privileged', 'SELECT', 'app_privileged', SAME_TENANT, null, undefined, undefined],
    ['app_privileged', 'UPDATE', 'app_privileged', SAME_TENANT, null, `(${SAME_TENANT} AND (deleted_at IS NOT NULL))`, null],
    ['app_runtime', 'SELECT', 'app_runtime', SAME_TENANT, READ_SCOPE, undefined, undefined],
    ['app_runtime', 'INSERT', 'app_runtime', undefined, undefined, SAME_TENANT, and(WRITABLE, ADD_SCOPE)],
    ['app_runtime', 'UPDATE', 'app_runtime', SAME_TENANT, and(WRITABLE, CHANGE_SCOPE), SAME_TENANT, and(WRITABLE, CHANGE_SCOPE)],
    ['app_runtime', 'DELETE', 'app_runtime', SAME_TENANT, and(WRITABLE, DELETE_SCOPE), undefined, undefined],
    [ownerLogin, 'SELECT', 'app_privileged', SAME_TENANT, null, undefined, undefined],
    [ownerLogin, 'UPDATE', 'app_privileged', SAME_TENANT, null, `(${SAME_TENANT} AND (deleted_at IS NOT NULL))`, null],
  ], 'USING for existing rows, WITH CHECK for new ones; the schema owner gets what app_privileged gets, as its member')
  const insert = contacts.effective.find((e) => e.role === 'app_runtime' && e.command === 'INSERT')!
  t.same(insert.withCheck, {
    permissive: SAME_TENANT, permissivePolicies: ['members add contacts to their workspace'],
    restrictive: and(WRITABLE, ADD_SCOPE),
    restrictivePolicies: ['contacts are added only to an active, paid-up workspace', "contacts are added within the member's scope"],
  }, 'with the policies each expression comes from')
  t.same(insert.using, null, 'INSERT has no existing rows')

  const contexts = tableOf(report, 'request_contexts')
  t.same(
    contexts.effective.filter((e) => e.role === ownerLogin).map((e) => [e.command, e.via]),
    [['SELECT', ['app_mailer', 'app_privileged']], ['INSERT', ['app_privileged']], ['UPDATE', ['app_privileged']]],
    'a role in two group roles gets the policies of both, one policy naming both counted once',
  )
  t.notOk(report.tables.some((x) => x.effective.some((e) => e.role === 'PUBLIC')), 'no policy is TO PUBLIC')
})

t.test('effective policies: a second permissive policy, FOR ALL and TO PUBLIC, widens every command, and is a finding', async (t) => {
  const su = await connect(t, db.superUrl)
  // Read inside the transaction that makes them, which is rolled back.
  await su.query('begin')
  let widened: RlsReport
  try {
    await su.query(`create policy "anyone sees undeleted contacts" on contacts for all to public using (deleted_at is null)`)
    await su.query(`create policy "anyone deletes contacts" on contacts for delete to public using (true)`)
    widened = await readRlsReport(su)
  } finally {
    await su.query('rollback')
  }
  const contacts = tableOf(widened, 'contacts')
  const undeleted = '(deleted_at IS NULL)'
  const runtime = (command: string) => contacts.effective.find((e) => e.role === 'app_runtime' && e.command === command)!
  t.same(runtime('SELECT').via, ['PUBLIC', 'app_runtime'])
  t.equal(runtime('SELECT').using?.permissive, `${SAME_TENANT} OR ${undeleted}`, 'OR-ed')
  t.equal(runtime('INSERT').withCheck?.permissive, `${SAME_TENANT} OR ${undeleted}`, 'a FOR ALL policy without WITH CHECK checks new rows with its USING')
  t.equal(runtime('INSERT').withCheck?.restrictive, and(WRITABLE, ADD_SCOPE), 'the restrictive gates still AND-ed')
  // In the report's policy order: by command (FOR ALL last), then name.
  t.same(runtime('DELETE').using, {
    permissive: `(true) OR ${SAME_TENANT} OR ${undeleted}`,
    permissivePolicies: ['anyone deletes contacts', "members delete their workspace's contacts", 'anyone sees undeleted contacts'],
    restrictive: and(WRITABLE, DELETE_SCOPE),
    restrictivePolicies: ['contacts are deleted only in an active, paid-up workspace', "contacts are deleted within the member's scope"],
  })
  t.same(
    effectiveRows(contacts.effective.filter((e) => e.role === 'PUBLIC')),
    [
      ['PUBLIC', 'SELECT', 'PUBLIC', undeleted, null, undefined, undefined],
      ['PUBLIC', 'INSERT', 'PUBLIC', undefined, undefined, undeleted, null],
      ['PUBLIC', 'UPDATE', 'PUBLIC', undeleted, null, undeleted, null],
      ['PUBLIC', 'DELETE', 'PUBLIC', `(true) OR ${undeleted}`, null, undefined, undefined],
    ],
    'what any other role gets',
  )
  const open = contacts.policies.find((p) => p.name === 'anyone deletes contacts')!
  t.same([open.openWrites, open.openReason], [['DELETE'], null], 'an open write, listed nowhere')
  const warnings = findWarnings(widened).join('\n')
  t.match(warnings, /public\.contacts: policy "anyone deletes contacts" admits DELETE of any row \(true\) and is not listed/)
  t.match(warnings, /public\.contacts: app_runtime has 3 permissive DELETE policies \("anyone deletes contacts", "members delete their workspace's contacts", "anyone sees undeleted contacts"\), OR-ed/)
  t.match(warnings, /public\.contacts: app_runtime has 2 permissive SELECT policies/)
  t.match(warnings, /public\.contacts: PUBLIC has 2 permissive DELETE policies/)
  t.match(formatRlsReport(widened), /OPEN {7}DELETE of any row, NOT LISTED in scripts\/rls-report\/open-policies\.ts/)
})

t.test('open policies: each intended `true` write policy with its reason', async (t) => {
  const open = report.tables.flatMap((x) => x.policies.filter((p) => p.openWrites.length).map((p) => ({ table: `${x.schema}.${x.name}`, ...p })))
  t.same(
    open.map((p) => [p.table, p.name]).sort(),
    OPEN_POLICIES.map((o) => [o.table, o.policy]).sort(),
    'exactly the listed ones admit any row',
  )
  for (const p of open) {
    t.equal(p.openReason, OPEN_POLICIES.find((o) => o.table === p.table && o.policy === p.name)?.reason, `${p.table}: "${p.name}": its reason`)
  }
  const limits = tableOf(report, 'rate_limits').policies
  t.same(limits.map((p) => [p.command, p.openWrites]), [['SELECT', []], ['INSERT', ['INSERT']], ['UPDATE', ['UPDATE']], ['DELETE', ['DELETE']]])
  const admins = tableOf(report, 'platform_admins').policies.find((p) => p.command === 'UPDATE')!
  t.same(admins.openWrites, ['UPDATE'], 'USING true is an open UPDATE even with a narrower WITH CHECK')
})

t.test('SECURITY DEFINER functions: app.begin_request with owner, pinned search_path and grantees', async (t) => {
  const fn = report.definerFunctions.find((f) => f.signature === 'app.begin_request(bytea, uuid, text, text, text)')
  t.ok(fn, 'listed with its argument types')
  t.equal(fn?.owner, 'app_privileged')
  t.equal(fn?.searchPath, 'pg_catalog, pg_temp')
  t.same(fn?.executableBy, ['app_privileged', 'app_runtime'], 'the owner and the runtime, never PUBLIC')
  t.match(fn?.comment, /before any context exists/)
  t.equal(fn?.purpose, 'Request context: finds the session by token hash and the membership before any context exists.', 'why it crosses')
  t.equal(fn?.checks, 'the token hash names a live session; the workspace is sealed only for a member of it', 'the rule it checks, from its COMMENT')
  t.same(report.definerFunctions.filter((f) => !f.checks).map((f) => f.signature), [], 'every one names the rule it checks')
  t.ok(report.definerFunctions.some((f) => f.signature === 'app.audit_capture()' && f.returns === 'trigger'), 'trigger functions too')
  t.notOk(report.definerFunctions.some((f) => f.signature.startsWith('app.current_workspace_writable')), 'invoker functions are not listed')
})

t.test('roles: the group roles, their members and attributes', async (t) => {
  const [runtime, privileged] = report.roles
  t.equal(runtime?.name, 'app_runtime')
  t.equal(privileged?.name, 'app_privileged')
  for (const role of [runtime!, privileged!]) {
    t.match(role, { exists: true, login: false, superuser: false, bypassrls: false, createrole: false }, `${role.name}: a plain NOLOGIN role`)
  }
  const login = runtime!.members.find((m) => m.name === new URL(db.appUrl).username)
  t.match(login, { login: true, superuser: false, bypassrls: false, createrole: false }, 'the runtime login is a plain member')
  t.ok(privileged!.members.some((m) => m.name === new URL(db.ownerUrl).username && m.createrole), 'the schema owner (CREATEROLE) holds app_privileged')
})

// Roles are cluster-wide: logins other test files create and drop meanwhile (gh_rls_login_*, some
// of them unsafe on purpose) may be members of app_runtime while this file reads the report.
const ours = (warnings: string[]) => warnings.filter((w) => !w.includes('gh_rls_login_'))

t.test('a migrated database has no findings; a weakened one does', async (t) => {
  t.same(ours(findWarnings(report)), [])
  t.ok(report.posture.some((f) => f.object === `login ${new URL(db.appUrl).username}` && f.problems.length === 0), 'the runtime login is checked, and passes')
  t.ok(report.posture.some((f) => f.object === 'table contacts' && f.problems.length === 0), 'so is every table')
  const weakened = structuredClone(report)
  const contacts = tableOf(weakened, 'contacts')
  weakened.posture.find((f) => f.object === 'table contacts')!.problems.push('row-level security is not forced')
  contacts.auditTriggers = []
  weakened.posture.find((f) => f.object.startsWith('function '))!.problems.push('PUBLIC may EXECUTE it')
  weakened.definerFunctions[1]!.checks = null
  weakened.roles[0]!.members[0]!.bypassrls = true
  tableOf(weakened, 'rate_limits').policies.find((p) => p.openWrites.length)!.openReason = null
  const warnings = ours(findWarnings(weakened))
  t.equal(warnings.length, 6, warnings.join('\n'))
  t.match(warnings.join('\n'), /table contacts: row-level security is not forced/)
  t.match(warnings.join('\n'), /public\.contacts: tenant table without an app\.audit_capture trigger/)
  t.match(warnings.join('\n'), /public\.rate_limits: policy "the limiter starts rate-limit counters" admits INSERT of any row \(true\) and is not listed/)
  t.match(warnings.join('\n'), /function app\.\S+: PUBLIC may EXECUTE it/)
  t.match(warnings.join('\n'), new RegExp(`${weakened.definerFunctions[1]!.signature.replace(/[()[\]]/g, '\\$&')}: SECURITY DEFINER without a "Checks:" comment`))
  t.match(warnings.join('\n'), /has bypassrls/)
})

t.test('the posture start-up enforces is in the report: a table altered by hand', async (t) => {
  // Threat: a DBA turns FORCE off by hand and the report, read afterwards, does not say so.
  const su = await connect(t, db.superUrl)
  await su.query('begin')
  t.teardown(() => su.query('rollback'))
  await su.query('alter table contacts no force row level security')
  const now = await readRlsReport(su)
  t.same(ours(findWarnings(now)), ['table contacts: row-level security is not forced'])
})

t.test('a disabled audit trigger shows as disabled, and as a finding', async (t) => {
  const su = await connect(t, db.superUrl)
  await su.query('alter table contacts disable trigger contacts_audit')
  t.teardown(() => su.query('alter table contacts enable trigger contacts_audit'))
  const now = await readRlsReport(owner)
  t.equal(tableOf(now, 'contacts').auditTriggers[0]?.enabled, 'disabled')
  t.match(ours(findWarnings(now)), [/public\.contacts: audit trigger contacts_audit is DISABLED/])
})

t.test('the text format names the tables, policies, triggers, functions and roles, without escape codes', async (t) => {
  const text = formatRlsReport(report)
  for (const needle of [
    'TABLES (schema public)', 'contacts', "members read their workspace's contacts", 'contacts are deleted only in an active, paid-up workspace',
    'EFFECTIVE POLICIES', `${ownerLogin} (through app_privileged): the same as app_privileged`,
    `OPEN       INSERT of any row, on purpose: ${OPEN_POLICIES.find((o) => o.table === 'public.audit_log')!.reason}`,
    'contacts_audit', "app.audit_capture('contact')", 'app.begin_request(bytea, uuid, text, text, text)', 'pg_catalog, pg_temp',
    'checks  the token hash names a live session; the workspace is sealed only for a member of it',
    'app_runtime', 'app_privileged', 'FINDINGS', '  none: every check above passed',
  ]) {
    t.ok(text.includes(needle), `mentions ${needle}`)
  }
  // The runtime's view of contacts: each command with USING and WITH CHECK, the write gate AND-ed.
  const runtime = text.slice(text.indexOf('EFFECTIVE POLICIES'))
  t.ok(
    runtime.includes(
      [
        '    app_runtime',
        `      SELECT  USING       ${SAME_TENANT}`,
        `              AND         ${READ_SCOPE}`,
        `      INSERT  WITH CHECK  ${SAME_TENANT}`,
        `              AND         ${and(WRITABLE, ADD_SCOPE)}`,
        `      UPDATE  USING       ${SAME_TENANT}`,
        `              AND         ${and(WRITABLE, CHANGE_SCOPE)}`,
        `              WITH CHECK  ${SAME_TENANT}`,
        `              AND         ${and(WRITABLE, CHANGE_SCOPE)}`,
        `      DELETE  USING       ${SAME_TENANT}`,
        `              AND         ${and(WRITABLE, DELETE_SCOPE)}`,
      ].join('\n'),
    ),
    "app_runtime's effective contacts policies, in text",
  )
  // eslint-disable-next-line no-control-regex -- ESC is the character this test looks for
  t.notMatch(text, /\x1b\[/, 'no ANSI codes unless asked')
  // eslint-disable-next-line no-control-regex -- likewise
  t.match(formatRlsReport(report, { color: true }), /\x1b\[1mTABLES/, 'headings in bold when asked')
})

t.test('the CLI: --json with DATABASE_URL parses and exits 0', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/rls-report.ts', '--json'], {
    env: { ...process.env, DATABASE_URL: db.ownerUrl, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  t.equal(code, 0, stderr)
  const parsed = JSON.parse(stdout) as RlsReport & { warnings: string[] }
  t.equal(parsed.database, db.name)
  t.same(parsed.warnings, [])
  const contacts = parsed.tables.find((x) => x.name === 'contacts')
  t.equal(contacts?.policies.length, 13)
  t.same(contacts?.effective, tableOf(report, 'contacts').effective, 'the effective policies')
  t.equal(
    parsed.definerFunctions.find((f) => f.signature.startsWith('app.begin_request('))?.checks,
    'the token hash names a live session; the workspace is sealed only for a member of it',
    'the rule each definer function checks',
  )
})

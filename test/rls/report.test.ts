// A DBA trusts `npm run rls:report` to show what PostgreSQL enforces: a report that misread the
// catalogue (a policy missing, a trigger shown enabled, a definer function shown pinned) would
// hide exactly the gap it exists to reveal. Read as the schema owner, which is no superuser.
import { spawn } from 'node:child_process'
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { readRlsReport, type RlsReport } from '../../scripts/rls-report/catalogue.js'
import { findWarnings, formatRlsReport } from '../../scripts/rls-report/format.js'

const db = await createTestDatabase(t)
const owner = await connect(t, db.ownerUrl)
const report = await readRlsReport(owner)

const CONTACT_POLICIES = [
  ['SELECT', 'permissive', "members read their workspace's contacts"],
  ['INSERT', 'permissive', 'members add contacts to their workspace'],
  ['INSERT', 'restrictive', 'contacts are added only to an active, paid-up workspace'],
  ['UPDATE', 'permissive', "members change their workspace's contacts"],
  ['UPDATE', 'restrictive', 'contacts are changed only in an active, paid-up workspace'],
  ['DELETE', 'permissive', "members delete their workspace's contacts"],
  ['DELETE', 'restrictive', 'contacts are deleted only in an active, paid-up workspace'],
]

function tableOf(r: RlsReport, name: string) {
  const found = r.tables.find((x) => x.schema === 'public' && x.name === name)
  if (!found) throw new Error(`no table ${name} in the report`)
  return found
}

t.test('contacts: RLS enabled and forced, its seven policies, the change-capture trigger', async (t) => {
  const contacts = tableOf(report, 'contacts')
  t.ok(contacts.rlsEnabled, 'enabled')
  t.ok(contacts.rlsForced, 'forced')
  t.ok(contacts.tenantKeyed, 'keyed by workspace_id')
  t.same(contacts.policies.map((p) => [p.command, p.kind, p.name]), CONTACT_POLICIES, 'the policies, ordered by command, permissive first')
  for (const p of contacts.policies) t.same(p.roles, ['app_runtime'], `${p.name}: applies to app_runtime only`)
  const read = contacts.policies.find((p) => p.command === 'SELECT')!
  t.match(read.using, /workspace_id = \( SELECT app\.current_workspace_id\(\)/, 'USING as PostgreSQL deparses it')
  t.equal(read.withCheck, null, 'a SELECT policy has no WITH CHECK')
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
      ['audit_log_cannot_be_truncated', 'append-only guard', 'BEFORE', 'statement', 'always'],
      ['audit_log_is_append_only', 'append-only guard', 'BEFORE', 'row', 'always'],
      ['audit_log_seal', 'chain seal', 'BEFORE', 'row', 'always'],
    ],
  )
})

t.test('SECURITY DEFINER functions: app.begin_request with owner, pinned search_path and grantees', async (t) => {
  const fn = report.definerFunctions.find((f) => f.signature === 'app.begin_request(bytea, uuid, text, text, text)')
  t.ok(fn, 'listed with its argument types')
  t.equal(fn?.owner, 'app_privileged')
  t.equal(fn?.searchPath, 'pg_catalog, pg_temp')
  t.same(fn?.executableBy, ['app_privileged', 'app_runtime'], 'the owner and the runtime, never PUBLIC')
  t.match(fn?.comment, /before any context exists/)
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

t.test('a migrated database has no findings; a weakened one does', async (t) => {
  t.same(findWarnings(report), [])
  const weakened = structuredClone(report)
  const contacts = tableOf(weakened, 'contacts')
  contacts.rlsForced = false
  contacts.auditTriggers = []
  weakened.definerFunctions[0]!.searchPath = null
  weakened.roles[0]!.members[0]!.bypassrls = true
  const warnings = findWarnings(weakened)
  t.equal(warnings.length, 4, warnings.join('\n'))
  t.match(warnings.join('\n'), /public\.contacts: tenant table not FORCEd/)
  t.match(warnings.join('\n'), /public\.contacts: tenant table without an app\.audit_capture trigger/)
  t.match(warnings.join('\n'), /without a pinned search_path/)
  t.match(warnings.join('\n'), /has bypassrls/)
})

t.test('a disabled audit trigger shows as disabled, and as a finding', async (t) => {
  const su = await connect(t, db.superUrl)
  await su.query('alter table contacts disable trigger contacts_audit')
  t.teardown(() => su.query('alter table contacts enable trigger contacts_audit'))
  const now = await readRlsReport(owner)
  t.equal(tableOf(now, 'contacts').auditTriggers[0]?.enabled, 'disabled')
  t.match(findWarnings(now), [/public\.contacts: audit trigger contacts_audit is DISABLED/])
})

t.test('the text format names the tables, policies, triggers, functions and roles, without escape codes', async (t) => {
  const text = formatRlsReport(report)
  for (const needle of [
    'TABLES (schema public)', 'contacts', "members read their workspace's contacts", 'contacts are deleted only in an active, paid-up workspace',
    'contacts_audit', "app.audit_capture('contact')", 'app.begin_request(bytea, uuid, text, text, text)', 'pg_catalog, pg_temp',
    'app_runtime', 'app_privileged', 'FINDINGS',
  ]) {
    t.ok(text.includes(needle), `mentions ${needle}`)
  }
  t.notMatch(text, /\x1b\[/, 'no ANSI codes unless asked')
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
  t.equal(parsed.tables.find((x) => x.name === 'contacts')?.policies.length, 7)
})

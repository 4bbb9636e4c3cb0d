// The report as text for a terminal: one aligned section per question a DBA asks (which tables
// are protected, by which policies, what those add up to for each role, which are audited, which
// functions run with their owner's rights and what they check, who holds the group roles), then
// the findings that deserve a second look. Colour only when asked for (the CLI asks when stdout
// is a TTY), so piped output has no escape codes.
import { describeProblems } from '../../src/db/posture.js'
import type { DefinerFunctionReport, EffectiveCheck, EffectivePolicy, RlsReport, RoleAttributes, TableReport, TriggerReport } from './types.js'

const OPEN_POLICIES_FILE = 'scripts/rls-report/open-policies.ts'

export interface FormatOptions {
  color?: boolean
}

type Paint = (text: string) => string
interface Palette {
  heading: Paint
  dim: Paint
  warn: Paint
}

const plain: Palette = { heading: (s) => s, dim: (s) => s, warn: (s) => s }
const ansi: Palette = {
  heading: (s) => `\x1b[1m${s}\x1b[22m`,
  dim: (s) => `\x1b[2m${s}\x1b[22m`,
  warn: (s) => `\x1b[33m${s}\x1b[39m`,
}

export function formatRlsReport(report: RlsReport, opts: FormatOptions = {}): string {
  const p = opts.color ? ansi : plain
  const name = (t: { schema: string; name: string }) => (report.schemas.length === 1 ? t.name : `${t.schema}.${t.name}`)
  const out: string[] = [
    `Security posture of database "${report.database}" (PostgreSQL ${report.serverVersion}), read as ${report.readAs} at ${report.readAt}`,
    '',
    ...tablesSection(report, name, p),
    ...policiesSection(report, name, p),
    ...effectiveSection(report, name, p),
    ...triggersSection(report, name, p),
    ...functionsSection(report.definerFunctions, p),
    ...rolesSection(report, p),
    p.heading('FINDINGS'),
  ]
  const warnings = findWarnings(report)
  out.push(...(warnings.length ? warnings.map((w) => `  ${p.warn('!')} ${w}`) : ['  none: every check above passed']))
  return out.join('\n')
}

function tablesSection(r: RlsReport, name: (t: TableReport) => string, p: Palette): string[] {
  return [
    p.heading(`TABLES (schema ${r.schemas.join(', ')})`),
    ...indent(
      table([
        ['table', 'owner', 'RLS', 'forced', 'policies', 'tenant key', 'audit triggers'],
        ...r.tables.map((t) => [
          name(t),
          t.owner,
          t.rlsEnabled ? 'enabled' : 'DISABLED',
          yesNo(t.rlsForced),
          String(t.policies.length),
          t.tenantKeyed ? 'workspace_id' : '-',
          summariseTriggers(t.auditTriggers),
        ]),
      ]),
    ),
    '',
  ]
}

function policiesSection(r: RlsReport, name: (t: TableReport) => string, p: Palette): string[] {
  const out = [p.heading('POLICIES')]
  for (const t of r.tables) {
    if (!t.rlsEnabled) {
      out.push(`  ${name(t)}: row-level security disabled, policies ignored`)
      continue
    }
    if (!t.policies.length) {
      out.push(`  ${name(t)}: no policies (fail closed: only the owner${t.rlsForced ? ', not even it,' : ''} and BYPASSRLS roles see rows)`)
      continue
    }
    out.push(`  ${name(t)}`)
    const kindWidth = Math.max(...t.policies.map((x) => x.kind.length))
    for (const policy of t.policies) {
      out.push(`    ${policy.command.padEnd(6)}  ${policy.kind.padEnd(kindWidth)}  to ${policy.roles.join(', ')}: ${policy.name}`)
      // Expressions under the kind column, where the eye already is.
      if (policy.using !== null) out.push(p.dim(`${' '.repeat(12)}USING      ${policy.using}`))
      if (policy.withCheck !== null) out.push(p.dim(`${' '.repeat(12)}WITH CHECK ${policy.withCheck}`))
      if (policy.openWrites.length) {
        const what = `${policy.openWrites.join(', ')} of any row`
        out.push(
          policy.openReason !== null
            ? `${' '.repeat(12)}OPEN       ${what}, on purpose: ${policy.openReason}`
            : p.warn(`${' '.repeat(12)}OPEN       ${what}, NOT LISTED in ${OPEN_POLICIES_FILE}`),
        )
      }
    }
  }
  out.push('')
  return out
}

/** Per table and role, what each command's policies add up to (EffectivePolicy). */
function effectiveSection(r: RlsReport, name: (t: TableReport) => string, p: Palette): string[] {
  const out = [
    p.heading('EFFECTIVE POLICIES (per role and command: the permissive policies OR-ed, AND each restrictive one)'),
    '  A policy applies to the roles it names, to their members and, TO PUBLIC, to everyone. USING: the rows a command sees',
    '  or touches; WITH CHECK (a policy without one: its USING): the rows it writes. A statement that also reads the table',
    '  (WHERE, RETURNING) must pass the SELECT USING too. No permissive policy: no row.',
  ]
  for (const t of r.tables) {
    if (!t.rlsEnabled) {
      out.push(`  ${name(t)}: row-level security disabled, every row for every role with table privileges`)
      continue
    }
    if (!t.effective.length) {
      out.push(`  ${name(t)}: no policy applies to any role: no row (but for superusers and BYPASSRLS roles)`)
      continue
    }
    out.push(`  ${name(t)}`)
    const shown = new Map<string, string>()
    for (const role of [...new Set(t.effective.map((e) => e.role))]) {
      const entries = t.effective.filter((e) => e.role === role)
      const through = [...new Set(entries.flatMap((e) => e.via))].filter((v) => v !== role)
      const heading = `    ${role}${through.length ? ` (through ${through.join(', ')})` : ''}`
      // A member usually gets exactly what its group role gets: said once.
      const same = JSON.stringify(entries.map(({ role: _, via: __, ...rest }) => rest))
      if (shown.has(same)) {
        out.push(`${heading}: the same as ${shown.get(same)}`)
        continue
      }
      shown.set(same, role)
      out.push(heading)
      for (const e of entries) out.push(...effectiveLines(e, p))
      const none = (['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const).filter((c) => !entries.some((e) => e.command === c))
      if (none.length) out.push(p.dim(`      ${none.join(', ')}: no policy, no row`))
    }
  }
  out.push('')
  return out
}

function effectiveLines(e: EffectivePolicy, p: Palette): string[] {
  const lines: string[] = []
  const side = (label: string, check: EffectiveCheck | null) => {
    if (!check) return
    const head = `      ${(lines.length ? '' : e.command).padEnd(6)}  `
    lines.push(`${head}${label.padEnd(10)}  ${check.permissive ?? p.warn('nothing: no permissive policy, no row')}`)
    if (check.restrictive !== null) lines.push(`${' '.repeat(14)}${'AND'.padEnd(10)}  ${check.restrictive}`)
  }
  side('USING', e.using)
  side('WITH CHECK', e.withCheck)
  return lines
}

function triggersSection(r: RlsReport, name: (t: TableReport) => string, p: Palette): string[] {
  const rows = r.tables.flatMap((t) =>
    t.auditTriggers.map((tr) => [name(t), tr.name, tr.role, `${tr.timing} ${tr.events.join(' OR ')}`, tr.level, call(tr), tr.enabled]),
  )
  const without = r.tables.filter((t) => !t.auditTriggers.length).map(name)
  return [
    p.heading('AUDIT TRIGGERS (app.audit_*)'),
    ...indent(rows.length ? table([['table', 'trigger', 'role', 'fires', 'for each', 'function', 'enabled'], ...rows]) : ['none']),
    `  enabled: origin = normal sessions only (session_replication_role = replica skips it); always = replica too`,
    `  tables without an audit trigger: ${without.join(', ') || 'none'}`,
    '',
  ]
}

/** "append-only guard ×2 (always), chain seal (always)": one entry per role and state. */
function summariseTriggers(triggers: TriggerReport[]): string {
  const counts = new Map<string, number>()
  for (const tr of triggers) counts.set(`${tr.role}\0${tr.enabled}`, (counts.get(`${tr.role}\0${tr.enabled}`) ?? 0) + 1)
  return (
    [...counts]
      .map(([key, n]) => {
        const [role, enabled] = key.split('\0')
        return `${role}${n > 1 ? ` ×${n}` : ''} (${enabled})`
      })
      .join(', ') || '-'
  )
}

function call(tr: TriggerReport): string {
  return `${tr.function}(${tr.arguments.map((a) => `'${a.replaceAll("'", "''")}'`).join(', ')})`
}

function functionsSection(fns: DefinerFunctionReport[], p: Palette): string[] {
  const out = [p.heading('SECURITY DEFINER FUNCTIONS (run with their owner’s rights; what each checks, from its COMMENT)')]
  if (!fns.length) return [...out, '  none', '']
  for (const f of fns) {
    out.push(
      `  ${f.signature}`,
      `    owner ${f.owner}   search_path ${f.searchPath ?? p.warn('NOT SET (caller’s)')}   EXECUTE ${f.executableBy.join(', ') || '-'}`,
      `    checks  ${f.checks ?? p.warn('no "Checks:" in its comment')}`,
      p.dim(`    why     ${f.purpose ?? 'no comment'}`),
    )
  }
  out.push('')
  return out
}

function rolesSection(r: RlsReport, p: Palette): string[] {
  const attributeHeads = ['login', 'superuser', 'bypassrls', 'createrole', 'createdb', 'inherit']
  const attributes = (a: RoleAttributes) => [a.login, a.superuser, a.bypassrls, a.createrole, a.createdb, a.inherit].map(yesNo)
  const out = [
    p.heading('ROLES'),
    ...indent(
      table([
        ['role', 'exists', ...attributeHeads, 'member of'],
        ...r.roles.map((role) => [role.name, yesNo(role.exists), ...attributes(role), role.memberOf.join(', ') || '-']),
      ]),
    ),
  ]
  for (const role of r.roles.filter((x) => x.exists)) {
    out.push(`  members of ${role.name}:${role.members.length ? '' : ' none'}`)
    if (!role.members.length) continue
    // The grant's INHERIT/SET options exist from PostgreSQL 16; before, '-'.
    const option = (v: boolean | null) => (v === null ? '-' : yesNo(v))
    out.push(
      ...indent(
        table([
          ['member', ...attributeHeads, 'granted by', 'admin option', 'inherit option', 'set option'],
          ...role.members.map((m) => [m.name, ...attributes(m), m.grantor, yesNo(m.admin), option(m.inheritOption), option(m.setOption)]),
        ]),
        4,
      ),
    )
  }
  out.push('')
  return out
}

/**
 * What a DBA should look at twice: each line names the object and the risk. Derived from the
 * report alone, so the JSON consumer can recompute it.
 */
export function findWarnings(r: RlsReport): string[] {
  // First what start-up refuses to run with (src/db/posture.ts): RLS off or not forced, an unsafe
  // login, a definer function that could be hijacked.
  const w: string[] = describeProblems(r.posture)
  for (const t of r.tables) {
    const n = `${t.schema}.${t.name}`
    const roles = new Set(t.auditTriggers.map((tr) => tr.role))
    // The logs themselves (the audit log, sealed; the security events) record rather than
    // change: append-only, no change capture by design.
    if (t.tenantKeyed && !roles.has('change capture') && !roles.has('chain seal') && !roles.has('append-only guard')) {
      w.push(`${n}: tenant table without an app.audit_capture trigger, so its changes are not audited`)
    }
    for (const tr of t.auditTriggers) {
      if (tr.enabled === 'disabled') w.push(`${n}: audit trigger ${tr.name} is DISABLED`)
      // The log's own guards must hold even in replica mode; a business table's triggers follow
      // the table's ordinary trigger rules.
      else if ((tr.role === 'append-only guard' || tr.role === 'chain seal') && tr.enabled !== 'always') {
        w.push(`${n}: ${tr.role} trigger ${tr.name} is not ENABLE ALWAYS, so session_replication_role = replica skips it`)
      }
    }
  }
  for (const t of r.tables) {
    const n = `${t.schema}.${t.name}`
    for (const policy of t.policies) {
      if (policy.openWrites.length && policy.openReason === null) {
        w.push(`${n}: policy "${policy.name}" admits ${policy.openWrites.join(', ')} of any row (true) and is not listed with its reason in ${OPEN_POLICIES_FILE}`)
      }
    }
    for (const e of t.effective) {
      const permissive = [...new Set([...(e.using?.permissivePolicies ?? []), ...(e.withCheck?.permissivePolicies ?? [])])]
      if (permissive.length > 1) {
        w.push(`${n}: ${e.role} has ${permissive.length} permissive ${e.command} policies (${permissive.map((x) => `"${x}"`).join(', ')}), OR-ed, so each widens the others`)
      }
    }
  }
  for (const f of r.definerFunctions) {
    if (!f.checks) w.push(`${f.signature}: SECURITY DEFINER without a "Checks:" comment, so the rule it checks before crossing tenants or users is not written down`)
  }
  for (const role of r.roles) {
    if (!role.exists) {
      w.push(`role ${role.name} does not exist (migrations not applied?)`)
      continue
    }
    if (role.login) w.push(`role ${role.name} can log in; it is meant to be a NOLOGIN group role`)
    for (const holder of [role, ...role.members]) {
      const powers = (['superuser', 'bypassrls'] as const).filter((a) => holder[a])
      if (powers.length) {
        const who = holder === role ? `role ${role.name}` : `${holder.name} (member of ${role.name})`
        w.push(`${who} has ${powers.join(' and ')}: row-level security does not apply to it`)
      }
    }
  }
  return w
}

function yesNo(v: boolean): string {
  return v ? 'yes' : 'no'
}

function indent(lines: string[], by = 2): string[] {
  return lines.map((l) => `${' '.repeat(by)}${l}`)
}

/** Left-aligned columns, two spaces apart; the header row is followed by a rule. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const line = (r: string[]) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)]
}

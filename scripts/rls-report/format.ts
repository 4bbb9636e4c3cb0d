// The report as text for a terminal: one aligned section per question a DBA asks (which tables
// are protected, by which policies, which are audited, which functions run with their owner's
// rights, who holds the group roles), then the findings that deserve a second look. Colour only
// when asked for (the CLI asks when stdout is a TTY), so piped output has no escape codes.
import type { DefinerFunctionReport, RlsReport, RoleAttributes, TableReport, TriggerReport } from './types.js'

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
    }
  }
  out.push('')
  return out
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
  const out = [p.heading('SECURITY DEFINER FUNCTIONS (run with their owner’s rights)')]
  if (!fns.length) return [...out, '  none', '']
  out.push(
    ...indent(
      table([
        ['function', 'owner', 'search_path', 'EXECUTE granted to'],
        ...fns.map((f) => [f.signature, f.owner, f.searchPath ?? 'NOT SET (caller’s)', f.executableBy.join(', ') || '-']),
      ]),
    ),
    '',
    '  why each one exists (its COMMENT):',
    ...fns.map((f) => `    ${f.signature.slice(0, f.signature.indexOf('('))}: ${f.comment ?? p.warn('no comment')}`),
    '',
  )
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
  const w: string[] = []
  for (const t of r.tables) {
    const n = `${t.schema}.${t.name}`
    if (!t.rlsEnabled) w.push(`${n}: row-level security is not enabled, so any role with table privileges sees every row`)
    else if (t.tenantKeyed && !t.rlsForced) w.push(`${n}: tenant table not FORCEd, so its owner bypasses the policies`)
    const roles = new Set(t.auditTriggers.map((tr) => tr.role))
    // The log itself (sealed) has no change capture by design.
    if (t.tenantKeyed && !roles.has('change capture') && !roles.has('chain seal')) {
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
  for (const f of r.definerFunctions) {
    if (!f.searchPath) w.push(`${f.signature}: SECURITY DEFINER without a pinned search_path, so a caller can shadow the objects it uses`)
    if (f.executableBy.includes('PUBLIC')) w.push(`${f.signature}: SECURITY DEFINER executable by PUBLIC`)
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

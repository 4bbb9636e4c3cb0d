// The DESIGN.md performance budget, checked against one run, as a table or as JSON.
import type { Measurement } from './load.js'
import { formatAuditFigures, type AuditFigures } from './audit.js'
import type { SoakResult } from './soak.js'
import { SCOPED_AGENTS, SCOPED_CONTACTS, SCOPED_DEPARTMENTS, SCOPED_MANAGERS, SCOPED_NAMES } from './scoped.js'

export interface Check {
  name: string
  measured: string
  target: string
  pass: boolean
  /** The raw figure, for --json. */
  value: number
}

export interface Report {
  startedAt: string
  settings: {
    workspaces: number
    seconds: number
    warmupSeconds: number
    connections: number
    postgres: string
    cpus: number
    /** Whether the audit-chain scenarios ran (BENCH_AUDIT). */
    auditScenarios: boolean
    /** BENCH_SOAK_SECONDS; 0: no soak. */
    soakSeconds: number
    /** Whether the 100 000-contact workspace and its scoped lists ran (BENCH_SCOPED). */
    scoped: boolean
  }
  scenarios: Measurement[]
  roundTrips: { gatedWrite: string[]; gatedList: string[] }
  /** The service child: after start-up and the probes (before load), at the end, and the peak. */
  memory: { rssIdleMb: number; rssEndMb: number; maxRssMb: number; bareMaxRssMb: number }
  checks: Check[]
  /** Informational: bare ÷ gated CPU per request (see cpuRatios). */
  cpuRatios: ReturnType<typeof cpuRatios>
  /** Each insert with and without the audit trigger; null with BENCH_AUDIT=0. */
  audit: AuditFigures | null
  /** The scoped lists on the 100 000-contact workspace; null with BENCH_SCOPED=0. */
  scoped: ScopedFigures | null
  /** The memory soak (BENCH_SOAK_SECONDS); null when it did not run. */
  soak: SoakResult | null
  /** Non-2xx answers or socket errors: the figures are not comparable. */
  problems: string[]
  allTargetsMet: boolean
}

const MB = 1024 * 1024

export const TARGETS = {
  writeThroughput: 0.5,
  listThroughput: 0.6,
  p99Factor: 4,
  rssMb: 250,
  writeRoundTrips: 2,
}

/** The 100 000-contact workspace (./scoped.ts): each list against the bare list of the same rows. */
export interface ScopedFigures {
  workspace: { contacts: number; departments: number; agents: number; managers: number; seedMs: number }
  bare: { requestsPerSecond: number; p50: number; p99: number }
  rows: {
    name: string
    scope: 'all' | 'own' | 'department'
    requestsPerSecond: number
    p50: number
    p99: number
    /** req/s ÷ the bare list's (100k). */
    throughputRatio: number
    /** p99 ÷ the bare list's p99 (100k; a 0 ms bare p99 read as 1 ms). */
    p99Ratio: number
    /** req/s ÷ the owner's unscoped list of the same workspace. */
    overUnscoped: number
  }[]
}

const SCOPED_ROWS = [
  { name: SCOPED_NAMES.owner, scope: 'all', label: 'scoped list (owner, all)' },
  { name: SCOPED_NAMES.agents, scope: 'own', label: 'scoped list (agents, own)' },
  { name: SCOPED_NAMES.managers, scope: 'department', label: 'scoped list (managers, department)' },
] as const

// Latencies are whole milliseconds (autocannon's histogram); a 0 ms bare p99 is read as 1 ms.
const p99Ratio = (gated: Measurement, bare: Measurement) => gated.latencyMs.p99 / Math.max(bare.latencyMs.p99, 1)

/** The scoped lists' figures, or null when they did not run (BENCH_SCOPED=0). */
export function scopedFigures(ms: Measurement[], seedMs: number): ScopedFigures | null {
  const bare = ms.find((m) => m.name === SCOPED_NAMES.bare)
  const owner = ms.find((m) => m.name === SCOPED_NAMES.owner)
  if (!bare || !owner) return null
  return {
    workspace: { contacts: SCOPED_CONTACTS, departments: SCOPED_DEPARTMENTS, agents: SCOPED_AGENTS, managers: SCOPED_MANAGERS, seedMs },
    bare: { requestsPerSecond: bare.requestsPerSecond, p50: bare.latencyMs.p50, p99: bare.latencyMs.p99 },
    rows: SCOPED_ROWS.flatMap(({ name, scope }) => {
      const m = ms.find((x) => x.name === name)
      return m
        ? [{
            name, scope,
            requestsPerSecond: m.requestsPerSecond, p50: m.latencyMs.p50, p99: m.latencyMs.p99,
            throughputRatio: m.requestsPerSecond / bare.requestsPerSecond,
            p99Ratio: p99Ratio(m, bare),
            overUnscoped: m.requestsPerSecond / owner.requestsPerSecond,
          }]
        : []
    }),
  }
}

function by(ms: Measurement[], name: string): Measurement {
  const m = ms.find((x) => x.name === name)
  if (!m) throw new Error(`no measurement for ${name}`)
  return m
}

export function buildChecks(ms: Measurement[], roundTrips: Report['roundTrips'], memory: Report['memory'], soak: SoakResult | null = null): Check[] {
  const bareInsert = by(ms, 'bare insert')
  const gatedInsert = by(ms, 'gated insert')
  const bareList = by(ms, 'bare list-50')
  const gatedList = by(ms, 'gated list-50')
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`
  const times = (x: number) => `${x.toFixed(2)}×`

  const writeTp = gatedInsert.requestsPerSecond / bareInsert.requestsPerSecond
  const listTp = gatedList.requestsPerSecond / bareList.requestsPerSecond
  const writeP99 = p99Ratio(gatedInsert, bareInsert)
  const listP99 = p99Ratio(gatedList, bareList)
  return [
    { name: 'gated insert req/s ÷ bare insert', value: writeTp, measured: pct(writeTp), target: `≥ ${pct(TARGETS.writeThroughput)}`, pass: writeTp >= TARGETS.writeThroughput },
    { name: 'gated list-50 req/s ÷ bare select', value: listTp, measured: pct(listTp), target: `≥ ${pct(TARGETS.listThroughput)}`, pass: listTp >= TARGETS.listThroughput },
    { name: 'gated insert p99 ÷ bare insert p99', value: writeP99, measured: times(writeP99), target: `< ${TARGETS.p99Factor}×`, pass: writeP99 < TARGETS.p99Factor },
    { name: 'gated list-50 p99 ÷ bare select p99', value: listP99, measured: times(listP99), target: `< ${TARGETS.p99Factor}×`, pass: listP99 < TARGETS.p99Factor },
    // The same budget for the list of 50 in the 100 000-contact workspace, per scope, against
    // the bare list of that workspace (when BENCH_SCOPED ran it).
    ...scopedChecks(ms).flatMap(({ label, tp, p99 }) => [
      { name: `${label} req/s ÷ bare (100k)`, value: tp, measured: pct(tp), target: `≥ ${pct(TARGETS.listThroughput)}`, pass: tp >= TARGETS.listThroughput },
      { name: `${label} p99 ÷ bare p99 (100k)`, value: p99, measured: times(p99), target: `< ${TARGETS.p99Factor}×`, pass: p99 < TARGETS.p99Factor },
    ]),
    {
      name: 'service RSS: peak (idle → end)',
      value: memory.maxRssMb,
      measured: `${memory.maxRssMb.toFixed(0)} MB (${memory.rssIdleMb.toFixed(0)} → ${memory.rssEndMb.toFixed(0)} MB)`,
      target: `< ${TARGETS.rssMb} MB`,
      pass: memory.maxRssMb < TARGETS.rssMb,
    },
    {
      name: 'round trips, one gated write',
      value: roundTrips.gatedWrite.length,
      measured: String(roundTrips.gatedWrite.length),
      target: `≤ ${TARGETS.writeRoundTrips}`,
      pass: roundTrips.gatedWrite.length <= TARGETS.writeRoundTrips,
    },
    ...(soak
      ? [{
          name: `service RSS over a ${Math.round(soak.seconds / 60)}-min soak: peak, 1st → 2nd half`,
          value: soak.secondHalfPeakMb - soak.firstHalfPeakMb,
          measured: `${soak.firstHalfPeakMb.toFixed(0)} → ${soak.secondHalfPeakMb.toFixed(0)} MB`,
          target: 'no growth',
          pass: soak.pass,
        }]
      : []),
  ]
}

function scopedChecks(ms: Measurement[]): { label: string; tp: number; p99: number }[] {
  const bare = ms.find((m) => m.name === SCOPED_NAMES.bare)
  if (!bare) return []
  return SCOPED_ROWS.flatMap(({ name, label }) => {
    const m = ms.find((x) => x.name === name)
    return m ? [{ label, tp: m.requestsPerSecond / bare.requestsPerSecond, p99: p99Ratio(m, bare) }] : []
  })
}

export function bytesToMb(bytes: number): number {
  return bytes / MB
}

function table(rows: string[][], rightAligned: Set<number>): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows
    .map((r) => r.map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n')
}

export function formatReport(r: Report): string {
  const s = r.settings
  const out: string[] = []
  out.push(
    `Gatehouse bench — ${s.workspaces} workspaces, ${s.connections} connections, ${s.seconds} s per scenario ` +
      `(+ ${s.warmupSeconds} s warm-up), ${s.postgres}, ${s.cpus} CPUs`,
    '',
  )
  out.push(
    table(
      [
        ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'non-2xx', 'errors', 'CPU ms/req: server', 'postgres', 'autocannon'],
        ...r.scenarios.map((m) => [
          m.name,
          m.requestsPerSecond.toFixed(0),
          String(m.latencyMs.p50),
          String(m.latencyMs.p99),
          String(m.total),
          String(m.non2xx),
          String(m.errors),
          m.cpuMsPerRequest?.server.toFixed(2) ?? '-',
          m.cpuMsPerRequest?.postgres.toFixed(2) ?? '-',
          m.cpuMsPerRequest?.autocannon.toFixed(2) ?? '-',
        ]),
      ],
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ),
    '',
  )
  const cpu = cpuRatios(r.scenarios)
  if (cpu.length) {
    out.push(
      'CPU per request, all processes (server + postgres + autocannon) — less noisy than req/s when other work shares the machine:',
      ...cpu.map((c) => `  ${c.kind}: gated ${c.gatedMs.toFixed(2)} ms, bare ${c.bareMs.toFixed(2)} ms → bare/gated ${(c.ratio * 100).toFixed(0)} %`),
      '',
    )
  }
  const floor = r.scenarios.find((m) => m.kind === 'floor')
  if (floor) {
    const bareList = by(r.scenarios, 'bare list-50')
    const bareInsert = by(r.scenarios, 'bare insert')
    const cpu = floor.cpuMsPerRequest
    out.push(
      'The floor — what a gated request costs before its handler runs a statement (BEGIN + app.begin_request, the gate',
      'chain, COMMIT; GET /api/workspace):',
      `  ${floor.requestsPerSecond.toFixed(0)} req/s = ${((floor.requestsPerSecond / bareInsert.requestsPerSecond) * 100).toFixed(0)} % of the bare insert, ` +
        `${((floor.requestsPerSecond / bareList.requestsPerSecond) * 100).toFixed(0)} % of the bare select` +
        (cpu ? `; CPU per request: server ${cpu.server.toFixed(2)} ms, postgres ${cpu.postgres.toFixed(2)} ms` : ''),
      '',
    )
  }
  if (r.audit) out.push(...formatAuditFigures(r.audit, table))
  if (r.scoped) out.push(...formatScopedFigures(r.scoped))
  out.push(
    table(
      [['DESIGN.md target', 'measured', 'target', 'result'], ...r.checks.map((c) => [c.name, c.measured, c.target, c.pass ? 'PASS' : 'FAIL'])],
      new Set([1]),
    ),
    '',
  )
  out.push(
    `Memory: the service peaked at ${r.memory.maxRssMb.toFixed(0)} MB RSS (${r.memory.rssIdleMb.toFixed(0)} MB idle after start-up, ` +
      `${r.memory.rssEndMb.toFixed(0)} MB at the end); the bare baseline, run the same way, at ${r.memory.bareMaxRssMb.toFixed(0)} MB.`,
    '',
  )
  if (r.soak) {
    out.push(
      `Soak: ${r.soak.seconds} s of gated inserts and lists (${r.soak.requests} requests), the service's RSS after each round: ` +
        `${r.soak.samplesMb.map((x) => x.toFixed(0)).join(', ')} MB.`,
      '',
    )
  }
  const queued = r.scenarios.filter((m) => m.poolWaiting)
  if (queued.length) {
    out.push(
      'Runtime pool (20 connections) queue under load, sampled every 50 ms:',
      ...queued.map((m) => `  ${m.name}: mean ${m.poolWaiting!.mean.toFixed(1)}, max ${m.poolWaiting!.max}`),
      '',
    )
  }
  out.push('Round trips (queries sent together, pipelined, share a line; replayed through app.inject):')
  out.push(`  gated write (${r.roundTrips.gatedWrite.length}):`, ...r.roundTrips.gatedWrite.map((q, i) => `    ${i + 1}. ${q}`))
  out.push(`  gated list-50 (${r.roundTrips.gatedList.length}):`, ...r.roundTrips.gatedList.map((q, i) => `    ${i + 1}. ${q}`))
  out.push('  bare insert and bare select: 1 each (one autocommit statement on a plain table)', '')
  if (r.problems.length) {
    const bar = '!'.repeat(78)
    out.push(bar, '!! THE RUN HAD ERRORS — these figures are not comparable:', ...r.problems.map((p) => `!!   ${p}`), bar)
  } else {
    out.push(r.allTargetsMet ? 'All targets met.' : 'Some targets FAILED (a measurement, not a test: exit code 0).')
  }
  return out.join('\n')
}

function formatScopedFigures(f: ScopedFigures): string[] {
  const pct = (v: number) => `${(v * 100).toFixed(0)} %`
  const w = f.workspace
  return [
    `Scoped lists — one workspace of ${w.contacts} contacts, ${w.departments} departments in 3 levels, ${w.agents} agents (own), ` +
      `${w.managers} managers (department: a middle one and the 3 below it); seeded in ${(w.seedMs / 1000).toFixed(1)} s:`,
    table(
      [
        ['list of 50', 'req/s', 'p50 ms', 'p99 ms', '÷ bare req/s', 'p99 ÷ bare p99', '÷ owner (all) req/s'],
        [SCOPED_NAMES.bare, f.bare.requestsPerSecond.toFixed(0), String(f.bare.p50), String(f.bare.p99), '-', '-', '-'],
        ...f.rows.map((r) => [
          r.name, r.requestsPerSecond.toFixed(0), String(r.p50), String(r.p99),
          pct(r.throughputRatio), `${r.p99Ratio.toFixed(2)}×`, pct(r.overUnscoped),
        ]),
      ],
      new Set([1, 2, 3, 4, 5, 6]),
    ),
    '',
  ]
}

/**
 * bare CPU ÷ gated CPU per request: on a CPU-bound machine the throughput ratio tends to this,
 * and it moves much less than req/s when something else runs at the same time.
 */
export function cpuRatios(ms: Measurement[]): { kind: string; gatedMs: number; bareMs: number; ratio: number }[] {
  const total = (m: Measurement | undefined) =>
    m?.cpuMsPerRequest ? m.cpuMsPerRequest.server + m.cpuMsPerRequest.postgres + m.cpuMsPerRequest.autocannon : undefined
  return (['insert', 'list'] as const).flatMap((kind) => {
    // The as-deployed pair (gated with its trigger on, bare plain, many workspaces); the audit
    // section compares the rest.
    const pick = (side: Measurement['side']) =>
      ms.find((m) => m.kind === kind && m.side === side && m.audit === (side === 'gated') && m.workspaces === 'many')
    const gatedMs = total(pick('gated'))
    const bareMs = total(pick('bare'))
    return gatedMs && bareMs ? [{ kind, gatedMs, bareMs, ratio: bareMs / gatedMs }] : []
  })
}

/** Every non-2xx answer and socket error, warm-up included, in words. */
export function findProblems(ms: Measurement[]): string[] {
  const problems: string[] = []
  for (const m of ms) {
    const codes = Object.entries(m.statusCodes)
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, n]) => `${n}× ${code}`)
    if (m.non2xx || m.errors) {
      problems.push(`${m.name}: ${m.non2xx} non-2xx (${codes.join(', ') || 'no status'}), ${m.errors} socket errors (${m.timeouts} timeouts)`)
    }
    if (m.warmup.non2xx || m.warmup.errors) {
      problems.push(`${m.name} warm-up: ${m.warmup.non2xx} non-2xx, ${m.warmup.errors} socket errors`)
    }
  }
  return problems
}

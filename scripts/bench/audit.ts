// What the audit chain costs: every contacts insert fires contacts_audit, whose audit_log row is
// sealed by app.audit_seal under its workspace's chain-head row lock, held until COMMIT. Across
// many workspaces the writers take different heads; in one hot workspace every writer queues
// for the same head, so that case is measured on its own. Each gated insert scenario runs with
// the trigger on (as deployed) and off, in the bench's throwaway database; the bare baseline
// has no trigger to switch.
import pg from 'pg'
import { gatedInsert, type Measurement, type Scenario } from './load.js'
import type { Tenant } from './seed.js'

/** The extra scenarios: the hot workspace with the trigger on, and every insert with it off. */
export function auditScenarios(tenants: Tenant[], gatedUrl: string): Scenario[] {
  // One tenant's session on every connection: the worst case for its chain head.
  const hot = [tenants[0]!]
  const insert = { kind: 'insert' } as const
  return [
    { name: 'gated insert, one workspace', side: 'gated', ...insert, audit: true, workspaces: 'one', baseUrl: gatedUrl, request: gatedInsert(hot) },
    { name: 'gated insert, no audit', side: 'gated', ...insert, audit: false, workspaces: 'many', baseUrl: gatedUrl, request: gatedInsert(tenants) },
    {
      name: 'gated insert, one workspace, no audit',
      side: 'gated', ...insert, audit: false, workspaces: 'one', baseUrl: gatedUrl, request: gatedInsert(hot),
    },
  ]
}

export interface AuditControl {
  /** Enables or disables contacts_audit (only when it is not already in that state). */
  set(enabled: boolean): Promise<void>
  /** Samples, every 100 ms until stopped, how many client backends wait for a lock. */
  sampleLockWaits(): { stop(): Promise<{ mean: number; max: number }> }
  close(): Promise<void>
}

/**
 * A superuser connection to the bench's database. ALTER TABLE … DISABLE TRIGGER is run between
 * scenarios, never under load (it takes a SHARE ROW EXCLUSIVE lock on contacts).
 */
export async function auditControl(superUrl: string): Promise<AuditControl> {
  const client = new pg.Client({ connectionString: superUrl, application_name: 'gatehouse-bench-audit' })
  await client.connect()
  let enabled = true
  return {
    async set(on) {
      if (on === enabled) return
      await client.query(`alter table public.contacts ${on ? 'enable' : 'disable'} trigger contacts_audit`)
      enabled = on
    },
    sampleLockWaits() {
      let sum = 0
      let max = 0
      let samples = 0
      let inFlight: Promise<unknown> = Promise.resolve()
      const timer = setInterval(() => {
        inFlight = client
          .query<{ waiting: number }>(
            `select count(*)::int as waiting from pg_stat_activity
              where datname = current_database() and backend_type = 'client backend' and wait_event_type = 'Lock'`,
          )
          .then(({ rows }) => {
            const waiting = rows[0]?.waiting ?? 0
            sum += waiting
            max = Math.max(max, waiting)
            samples++
          })
          .catch(() => {})
      }, 100)
      return {
        async stop() {
          clearInterval(timer)
          await inFlight
          return { mean: samples ? sum / samples : 0, max }
        },
      }
    },
    async close() {
      await client.end()
    },
  }
}

interface Side {
  requestsPerSecond: number
  p50: number
  p99: number
  /** Server + PostgreSQL + autocannon, or null without /proc. */
  cpuMsPerRequest: number | null
  lockWaitingMean: number | null
}

export interface AuditRow {
  label: string
  on: Side
  off: Side
  /** on ÷ off throughput. */
  throughputRatio: number
}

export interface AuditFigures {
  rows: AuditRow[]
  /** gated insert without the trigger ÷ the bare insert: what everything but the audit trail costs. */
  gatedUnauditedOverBare: number | null
}

function side(m: Measurement): Side {
  const c = m.cpuMsPerRequest
  return {
    requestsPerSecond: m.requestsPerSecond,
    p50: m.latencyMs.p50,
    p99: m.latencyMs.p99,
    cpuMsPerRequest: c ? c.server + c.postgres + c.autocannon : null,
    lockWaitingMean: m.lockWaiting?.mean ?? null,
  }
}

/** Pairs each insert scenario with its trigger-off twin; null when the audit scenarios were skipped. */
export function auditFigures(ms: Measurement[]): AuditFigures | null {
  const find = (s: Measurement['side'], workspaces: Measurement['workspaces'], audit: boolean) =>
    ms.find((m) => m.kind === 'insert' && m.side === s && m.workspaces === workspaces && m.audit === audit)
  const pairs: [string, Measurement | undefined, Measurement | undefined][] = [
    ['gated insert, many workspaces', find('gated', 'many', true), find('gated', 'many', false)],
    ['gated insert, one hot workspace', find('gated', 'one', true), find('gated', 'one', false)],
  ]
  const rows = pairs.flatMap(([label, on, off]) =>
    on && off ? [{ label, on: side(on), off: side(off), throughputRatio: on.requestsPerSecond / off.requestsPerSecond }] : [],
  )
  if (!rows.length) return null
  const ratio = (a?: Measurement, b?: Measurement) => (a && b ? a.requestsPerSecond / b.requestsPerSecond : null)
  return { rows, gatedUnauditedOverBare: ratio(find('gated', 'many', false), find('bare', 'many', false)) }
}

export function formatAuditFigures(a: AuditFigures, table: (rows: string[][], right: Set<number>) => string): string[] {
  const num = (v: number | null, digits = 0) => (v === null ? '-' : v.toFixed(digits))
  const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(0)} %`)
  return [
    'Audit chain — contacts_audit on (as deployed) vs off; app.audit_seal holds the workspace chain head until COMMIT:',
    table(
      [
        ['insert', 'req/s on', 'off', 'on ÷ off', 'p50 on', 'off', 'p99 on', 'off', 'CPU ms/req on', 'off', 'lock waiters on', 'off'],
        ...a.rows.map((r) => [
          r.label,
          num(r.on.requestsPerSecond), num(r.off.requestsPerSecond), pct(r.throughputRatio),
          String(r.on.p50), String(r.off.p50), String(r.on.p99), String(r.off.p99),
          num(r.on.cpuMsPerRequest, 2), num(r.off.cpuMsPerRequest, 2),
          num(r.on.lockWaitingMean, 1), num(r.off.lockWaitingMean, 1),
        ]),
      ],
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
    ),
    `  gated insert without the audit trigger ÷ bare insert req/s: ${pct(a.gatedUnauditedOverBare)} (everything Gatehouse adds but the audit trail)`,
    '  (lock waiters: client backends waiting for a lock, mean of 100 ms samples, warm-up included)',
    '',
  ]
}

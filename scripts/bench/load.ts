// The four budget scenarios and the autocannon runs. Requests go round-robin over the seeded
// tenants (one counter per scenario, shared by all connections), so the gated routes resolve
// many different sessions and workspaces, as they would in production, rather than one hot row.
// (The audit chain's hot single-workspace case is added by ./audit.ts, the 100 000-contact
// workspace's scoped lists by ./scoped.ts.)
import autocannon, { type Instance, type RequestSpec, type Result } from 'autocannon'
import type { Tenant } from './seed.js'
import { spent, type CpuSnapshot } from './cpu.js'

export type Side = 'bare' | 'gated'
/** 'floor': the gated pipeline with no statement of its own (the sealed context, the gates, COMMIT). */
export type Kind = 'insert' | 'list' | 'floor'

export interface Scenario {
  name: string
  side: Side
  kind: Kind
  /** Whether the contacts_audit trigger is enabled during the run (./audit.ts switches it). */
  audit: boolean
  /** Round-robin over every seeded workspace, or every request into one (the hot chain head). */
  workspaces: 'many' | 'one'
  baseUrl: string
  request: RequestSpec
}

export interface Measurement {
  name: string
  side: Side
  kind: Kind
  audit: boolean
  workspaces: 'many' | 'one'
  requestsPerSecond: number
  latencyMs: { p50: number; p99: number; mean: number; max: number }
  total: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
  /** The same counters for the warm-up run (not in the figures, but errors there are reported). */
  warmup: { non2xx: number; errors: number }
  /** Requests completed during the warm-up. */
  warmupTotal: number
  seconds: number
  /** CPU ms per completed request during the measured run (null where /proc is unavailable). */
  cpuMsPerRequest: { server: number; postgres: number; autocannon: number } | null
  /** Gated scenarios: requests queued for a runtime pool connection (warm-up included). */
  poolWaiting?: { max: number; mean: number }
  /** Insert scenarios: backends waiting for a lock, e.g. a chain head (warm-up included). */
  lockWaiting?: { max: number; mean: number }
}

/** Samplers for the process serving the scenario and for PostgreSQL (postmaster + backends). */
export interface CpuProbe {
  server(): CpuSnapshot
  postgres(): CpuSnapshot
}

const JSON_HEADERS = { 'content-type': 'application/json' }
const CONTACT_BODY = JSON.stringify({ name: 'Bench contact', email: 'bench@example.test' })

export function roundRobin(tenants: Tenant[], build: (t: Tenant, req: RequestSpec) => RequestSpec): RequestSpec['setupRequest'] {
  let next = 0
  return (req) => build(tenants[next++ % tenants.length]!, req)
}

export const gatedHeaders = (t: Tenant, req: RequestSpec) => ({ ...req.headers, cookie: t.cookie, 'x-workspace-id': t.workspaceId })

/** The contacts insert through the real service, into these tenants' workspaces in turn. */
export function gatedInsert(tenants: Tenant[]): RequestSpec {
  return {
    method: 'POST',
    path: '/api/crm/contacts',
    headers: JSON_HEADERS,
    body: CONTACT_BODY,
    setupRequest: roundRobin(tenants, (t, req) => ({ ...req, headers: gatedHeaders(t, req) })),
  }
}

/** The same insert on the bare baseline. */
export function bareInsert(tenants: Tenant[]): RequestSpec {
  return {
    method: 'POST',
    headers: JSON_HEADERS,
    body: CONTACT_BODY,
    setupRequest: roundRobin(tenants, (t, req) => ({ ...req, path: `/bare/contacts?workspace=${t.workspaceId}&owner=${t.userId}` })),
  }
}

export function scenarios(tenants: Tenant[], bareUrl: string, gatedUrl: string): Scenario[] {
  // As deployed: the gated side's audit trigger is on; the bare baseline's plain table has none.
  const common = { audit: true, workspaces: 'many' } as const
  const plain = { audit: false, workspaces: 'many' } as const
  return [
    { name: 'bare insert', side: 'bare', kind: 'insert', ...plain, baseUrl: bareUrl, request: bareInsert(tenants) },
    { name: 'gated insert', side: 'gated', kind: 'insert', ...common, baseUrl: gatedUrl, request: gatedInsert(tenants) },
    {
      name: 'bare list-50',
      side: 'bare',
      kind: 'list',
      ...plain,
      baseUrl: bareUrl,
      request: {
        method: 'GET',
        setupRequest: roundRobin(tenants, (t, req) => ({ ...req, path: `/bare/contacts?workspace=${t.workspaceId}` })),
      },
    },
    {
      name: 'gated list-50',
      side: 'gated',
      kind: 'list',
      ...common,
      baseUrl: gatedUrl,
      request: {
        method: 'GET',
        path: '/api/crm/contacts?limit=50',
        setupRequest: roundRobin(tenants, (t, req) => ({ ...req, headers: gatedHeaders(t, req) })),
      },
    },
    {
      // GET /api/workspace answers from what app.begin_request returned: BEGIN + begin_request,
      // the whole gate chain, COMMIT, and no statement of its own. What every gated request
      // pays before its handler does anything: the floor under the two routes above.
      name: 'gated floor',
      side: 'gated',
      kind: 'floor',
      ...common,
      baseUrl: gatedUrl,
      request: {
        method: 'GET',
        path: '/api/workspace',
        setupRequest: roundRobin(tenants, (t, req) => ({ ...req, headers: gatedHeaders(t, req) })),
      },
    },
  ]
}

/** The autocannon run in progress, so that Ctrl-C can stop it. */
let current: Instance | undefined

export function stopCurrentRun(): void {
  current?.stop()
}

async function run(s: Scenario, seconds: number, connections: number): Promise<Result> {
  current = autocannon({ url: s.baseUrl, title: s.name, connections, duration: seconds, timeout: 10, requests: [s.request] })
  try {
    return await current
  } finally {
    current = undefined
  }
}

export async function measure(
  s: Scenario,
  opts: { seconds: number; warmupSeconds: number; connections: number },
  cpu?: CpuProbe,
): Promise<Measurement> {
  // The warm-up fills the pools, JIT-compiles the hot path and warms PostgreSQL's caches.
  const warm = opts.warmupSeconds > 0 ? await run(s, opts.warmupSeconds, opts.connections) : undefined
  const before = cpu && { server: cpu.server(), postgres: cpu.postgres(), own: process.cpuUsage() }
  const r = await run(s, opts.seconds, opts.connections)
  const after = cpu && { server: cpu.server(), postgres: cpu.postgres(), own: process.cpuUsage(before!.own) }
  const perRequest = (ms: number) => ms / Math.max(r.requests.total, 1)
  return {
    name: s.name,
    side: s.side,
    kind: s.kind,
    audit: s.audit,
    workspaces: s.workspaces,
    // Completed requests over the run, not autocannon's mean of per-second samples, so that a
    // partial last second does not skew short runs.
    requestsPerSecond: r.requests.total / r.duration,
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.average, max: r.latency.max },
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, v]) => [code, v.count])),
    warmup: { non2xx: warm?.non2xx ?? 0, errors: warm?.errors ?? 0 },
    warmupTotal: warm?.requests.total ?? 0,
    seconds: r.duration,
    cpuMsPerRequest:
      before && after && after.server.size
        ? {
            server: perRequest(spent(before.server, after.server)),
            postgres: perRequest(spent(before.postgres, after.postgres)),
            autocannon: perRequest((after.own.user + after.own.system) / 1000),
          }
        : null,
  }
}

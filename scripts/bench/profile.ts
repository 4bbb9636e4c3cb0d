// BENCH_PROFILE=1: where PostgreSQL spends a gated request's time. PostgreSQL starts with
// pg_stat_statements (every statement, nested ones included) and track_functions = 'all' (time
// per SQL and PL/pgSQL function: app.begin_request, the policy helpers, the triggers, the chain
// sealing); both are reset before each gated scenario and read after it, per request. Off by
// default: the tracking itself costs a little.
import pg from 'pg'

export const PROFILE_FLAGS = [
  '-c', 'shared_preload_libraries=pg_stat_statements',
  '-c', 'pg_stat_statements.track=all',
  '-c', 'track_functions=all',
]

export interface ProfileEntry {
  what: string
  calls: number
  /** Milliseconds per request: the statement's whole time, or the function's own (self) time. */
  msPerRequest: number
}

export interface Profile {
  requests: number
  statements: ProfileEntry[]
  functions: ProfileEntry[]
}

export interface Profiler {
  reset(): Promise<void>
  read(requests: number): Promise<Profile>
  close(): Promise<void>
}

export async function profiler(superUrl: string): Promise<Profiler> {
  const client = new pg.Client({ connectionString: superUrl, application_name: 'gatehouse-bench-profile' })
  await client.connect()
  await client.query('create extension if not exists pg_stat_statements')
  return {
    async reset() {
      await client.query('select pg_stat_statements_reset(), pg_stat_reset()')
    },
    async read(requests) {
      const per = (ms: number) => ms / Math.max(requests, 1)
      const statements = await client.query<{ query: string; calls: string; ms: number }>(
        `select regexp_replace(query, '\\s+', ' ', 'g') as query, calls, total_exec_time as ms
           from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
          order by total_exec_time desc limit 15`,
      )
      // pg_stat_user_functions shows the functions' counters once the backends flushed them: an
      // idle backend does within 10 s (PGSTAT_IDLE_INTERVAL), so the profile waits that long.
      await client.query('select pg_sleep(11)')
      const functions = await client.query<{ name: string; calls: string; ms: number }>(
        `select schemaname || '.' || funcname as name, calls, self_time as ms
           from pg_stat_user_functions order by self_time desc limit 15`,
      )
      return {
        requests,
        statements: statements.rows.map((r) => ({ what: r.query.slice(0, 110), calls: Number(r.calls), msPerRequest: per(r.ms) })),
        functions: functions.rows.map((r) => ({ what: r.name, calls: Number(r.calls), msPerRequest: per(r.ms) })),
      }
    },
    async close() {
      await client.end()
    },
  }
}

export function formatProfile(name: string, p: Profile): string[] {
  const rows = (entries: ProfileEntry[]) =>
    entries.map((e) => `    ${e.msPerRequest.toFixed(3).padStart(7)} ms/req  ${String(Math.round(e.calls / Math.max(p.requests, 1) * 10) / 10).padStart(5)} calls/req  ${e.what}`)
  return [
    `Profile of ${name} (PostgreSQL, ${p.requests} requests, warm-up included):`,
    '  statements (total time, nested included):',
    ...rows(p.statements),
    '  functions (self time):',
    ...rows(p.functions),
    '',
  ]
}

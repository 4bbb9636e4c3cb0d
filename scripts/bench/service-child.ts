// The real Gatehouse service under load, in its own process. It starts the way src/server.ts
// does — configuration from the environment through loadConfig, a pino logger from
// loggerOptions, both pools, the runtime-role check, buildApp with the default outbox interval,
// listen — except for the database, which the parent started and migrated.
//
// It also watches the runtime pool's connections, so the parent can ask how many database round
// trips one gated request really costs (queries pipelined together count as one: the opening
// BEGIN and app.begin_request go out in one write).
import pino from 'pino'
import type pg from 'pg'
import { loadConfig } from '../../src/config.js'
import { loggerOptions } from '../../src/logger.js'
import { assertSecurePosture, closePools, createPools } from '../../src/db/pool.js'
import { syncWithDatabase } from '../../src/db/startup.js'
import { buildApp } from '../../src/app.js'
import { reportFailure, reportReady, serveParent, type ProbeAnswer } from './children.js'

/** Statements sent while a probe runs; null the rest of the time (the counter costs nothing). */
let recording: string[] | null = null

function firstLine(query: unknown): string {
  const text = typeof query === 'string' ? query : ((query as { text?: string } | null)?.text ?? String(query))
  // The session's token hash is not a secret worth keeping (a throwaway database), but it is
  // noise in a report: shown as '\x…'.
  return text.trim().split('\n')[0]!.replace(/'\\x[0-9a-f]{64}'/g, "'\\x…'").replace(/\s+/g, ' ').slice(0, 110)
}

// Wraps each pooled connection's query method once, the first time the pool hands it out. A
// query sent while another is still on its way on the same connection (the runtime pool
// pipelines: BEGIN and app.begin_request go out in one write) shares its round trip, so it is
// recorded on the same line, joined with " + ".
function recordQueries(pool: pg.Pool): void {
  const wrapped = new WeakSet<pg.PoolClient>()
  pool.on('acquire', (client: pg.PoolClient) => {
    if (wrapped.has(client)) return
    wrapped.add(client)
    let inFlight = 0
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below as query.apply(this, args), with the client as `this`
    const query = client.query as (...args: unknown[]) => unknown
    client.query = function (this: pg.PoolClient, ...args: unknown[]) {
      if (recording) {
        const line = firstLine(args[0])
        if (inFlight > 0 && recording.length) recording[recording.length - 1] += ` + ${line}`
        else recording.push(line)
      }
      inFlight++
      const settled = () => void inFlight--
      const result = query.apply(this, args)
      if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(settled, settled)
      else settled()
      return result
    } as typeof client.query
  })
}

async function main(): Promise<void> {
  const config = loadConfig(process.env)
  if (!config.databaseUrl || !config.appDatabaseUrl) throw new Error('the bench passes DATABASE_URL and APP_DATABASE_URL')
  const logger = pino(loggerOptions(config.logLevel, false))
  const keys = await syncWithDatabase({ ownerUrl: config.databaseUrl, platformAdminEmails: config.platformAdminEmails })
  const pools = createPools({ runtimeUrl: config.appDatabaseUrl, statementTimeoutMs: config.statementTimeoutMs, log: logger })
  await assertSecurePosture(pools.runtime)
  recordQueries(pools.runtime)
  const app = await buildApp(config, { pools, keys, logger })
  await app.listen({ host: config.host, port: config.port })

  // The runtime pool has 20 connections and autocannon opens 32: how many requests queue for a
  // connection tells whether tail latency comes from the pool rather than from the work.
  let waitingMax = 0
  let waitingSum = 0
  let samples = 0
  setInterval(() => {
    const waiting = pools.runtime.waitingCount
    waitingMax = Math.max(waitingMax, waiting)
    waitingSum += waiting
    samples++
  }, 50).unref()

  serveParent({
    extraStats: () => {
      const value = { poolWaiting: { max: waitingMax, mean: samples ? waitingSum / samples : 0 } }
      waitingMax = waitingSum = samples = 0
      return value
    },
    async probe(m): Promise<ProbeAnswer> {
      recording = []
      try {
        const res = await app.inject({ method: m.method, url: m.url, headers: m.headers, payload: m.body as object | undefined })
        const body = res.json<{ contacts?: unknown[] }>()
        return { status: res.statusCode, rows: Array.isArray(body.contacts) ? body.contacts.length : null, statements: recording }
      } finally {
        recording = null
      }
    },
    async close() {
      await app.close()
      await closePools(pools)
    },
  })
  reportReady((app.server.address() as { port: number }).port)
}

main().catch(reportFailure)

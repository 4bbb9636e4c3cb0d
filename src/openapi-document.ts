// The service's OpenAPI document, built from the route schemas without a database: the app is
// assembled (its pools never connect, no worker or sweep runs) and asked for the document that
// /docs/json serves. The typed API client (web/src/api, `npm run api:types`) is generated from it.
import { generateDevSecrets } from './dev-secrets.js'
import { loadConfig } from './config.js'
import { createPools, closePools } from './db/pool.js'
import { buildApp } from './app.js'

export async function openApiDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig({ NODE_ENV: 'test', CLOSED_BETA_INVITE_CODE: 'unused', PUBLIC_URL: 'http://gatehouse.localhost' }, generateDevSecrets())
  // Lazy pools: pg connects on the first query, and nothing here queries.
  const pools = createPools({ runtimeUrl: 'postgres://unused@127.0.0.1:1/unused' })
  const app = await buildApp(config, {
    pools,
    keys: { workerKey: Buffer.alloc(32), billingKey: Buffer.alloc(32) },
    outboxIntervalMs: 0,
    retentionSweepMs: 0,
    rateLimitSweepMs: 0,
  })
  try {
    await app.ready()
    return app.swagger() as unknown as Record<string, unknown>
  } finally {
    await app.close()
    await closePools(pools)
  }
}

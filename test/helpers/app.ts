// Builds the real app on a fresh test database, with email through the real Resend SDK to a
// fake Resend API on loopback. Everything is closed when the test ends.
import pg from 'pg'
import { buildApp, type AppDeps } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { LIMITS } from '../../src/rate-limit/limits.js'
import { closePools, createPools, type Pools } from '../../src/db/pool.js'
import { syncWithDatabase, type ServiceKeys } from '../../src/db/startup.js'
import { generateDevSecrets } from '../../src/dev-secrets.js'
import { createTestDatabase, type TestDatabase } from './db.js'
import { startFakeResend, type FakeResend } from './fake-resend.js'

export const ADMIN_EMAIL = 'admin@gatehouse.test'
export const INVITE_CODE = 'test-invite-code'
/** BILLING_WEBHOOK_SECRET in tests: test/helpers/billing.ts signs events with it. */
export const BILLING_WEBHOOK_SECRET = 'whsec_test_billing_secret'

export interface TestContext {
  app: Awaited<ReturnType<typeof buildApp>>
  config: Config
  pools: Pools
  /** What start-up read through the schema owner (the outbox worker's and the billing webhook's keys). */
  keys: ServiceKeys
  db: TestDatabase
  mail: FakeResend
  /** Runs SQL as superuser on the test database (fixtures that must bypass RLS). */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>
  /** The same superuser connection pool, for the fixture helpers of ./rls.ts. */
  superPool: pg.Pool
}

interface TapLike {
  teardown(fn: () => unknown): void
}

/** The configuration tests run with: a test database, the fake Resend API, known codes. */
export function testConfig(db: TestDatabase, resendUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig(
    {
      NODE_ENV: 'test',
      DATABASE_URL: db.ownerUrl,
      APP_DATABASE_URL: db.appUrl,
      CLOSED_BETA_INVITE_CODE: INVITE_CODE,
      PLATFORM_ADMIN_EMAILS: ADMIN_EMAIL,
      RESEND_API_KEY: 're_test_key',
      RESEND_BASE_URL: resendUrl,
      PUBLIC_URL: 'http://gatehouse.test',
      BILLING_WEBHOOK_SECRET,
      // Every suite signs in many times from 127.0.0.1: generous limits here, and the rate-limit
      // tests set low ones explicitly.
      ...Object.fromEntries(Object.values(LIMITS).map((l) => [l.env, '100000/1h'])),
      ...env,
    },
    generateDevSecrets(),
  )
}

export interface TestAppOptions extends Pick<AppDeps, 'clock' | 'logger' | 'rateLimitSweepMs' | 'emailTransport' | 'consoleDir' | 'outboxIntervalMs'> {
  /** An existing test database (several app instances on one database); a fresh one by default. */
  db?: TestDatabase
}

export async function buildTestApp(t: TapLike, env: Record<string, string> = {}, opts: TestAppOptions = {}): Promise<TestContext> {
  const { db: existing, ...deps } = opts
  const db = existing ?? (await createTestDatabase(t))
  const mail = await startFakeResend()
  const config = testConfig(db, mail.url, env)
  // As server.ts does after migrating (the template is migrated once by scripts/test.ts).
  const keys = await syncWithDatabase({ ownerUrl: db.ownerUrl, platformAdminEmails: config.platformAdminEmails, keyRing: config.encryptionKeys })
  const pools = createPools({ runtimeUrl: db.appUrl, runtimeMax: 5, statementTimeoutMs: config.statementTimeoutMs })
  const app = await buildApp(config, { pools, keys, outboxIntervalMs: 0, ...deps })
  await app.ready()
  const superPool = new pg.Pool({ connectionString: db.superUrl, max: 2 })
  t.teardown(async () => {
    await app.close()
    await closePools(pools)
    await superPool.end()
    await mail.close()
  })
  return {
    app,
    config,
    pools,
    keys,
    db,
    mail,
    sql: async (text, values) => (await superPool.query(text, values)).rows,
    superPool,
  }
}

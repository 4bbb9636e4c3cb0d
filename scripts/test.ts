// `npm test`: starts one ephemeral PostgreSQL for the whole run, provisions it like a managed
// database (non-superuser owner with CREATEROLE, plain runtime login), migrates a template
// database, runs tap, and removes the cluster afterwards. Each test file then clones the
// template into its own database (test/helpers/db.ts), so files run in parallel.
//
//   npm test                         every test, embedded PostgreSQL
//   npm test -- test/rls test/api    some folders or files
//   TEST_PG_BIN=/usr/lib/postgresql/15/bin npm test -- …   a system PostgreSQL instead (CI lane 2)
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { makeTempDir, provisionDatabase, startCluster } from '../src/db/embedded.js'
import { migrate, roleFromUrl } from '../src/db/migrate.js'

const TEMPLATE = 'gatehouse_template'

async function main(): Promise<number> {
  const binDir = process.env.TEST_PG_BIN?.trim() || undefined
  const tapArgs = process.argv.slice(2)
  const root = await makeTempDir('gatehouse-test-')
  const started = Date.now()
  const cluster = await startCluster({
    dataDir: path.join(root, 'pg'),
    persistent: false,
    superPassword: randomBytes(16).toString('hex'),
    binDir,
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
  })
  let code: number
  try {
    const urls = await provisionDatabase(cluster, TEMPLATE, {
      ownerUser: 'gatehouse_owner',
      ownerPassword: randomBytes(16).toString('hex'),
      appUser: 'gatehouse_app',
      appPassword: randomBytes(16).toString('hex'),
    })
    await migrate({ ownerUrl: urls.databaseUrl, runtimeLogin: roleFromUrl(urls.appDatabaseUrl) })
    const { rows } = await import('pg').then(async ({ default: pg }) => {
      const c = new pg.Client({ connectionString: cluster.superUrl() })
      await c.connect()
      try {
        return await c.query<{ v: string }>('select current_setting(\'server_version\') as v')
      } finally {
        await c.end()
      }
    })
    console.log(`# PostgreSQL ${rows[0]?.v} ${binDir ? `from ${binDir}` : '(embedded)'} ready in ${Date.now() - started} ms`)
    code = await new Promise<number>((resolve) => {
      const child = spawn(path.resolve('node_modules/.bin/tap'), tapArgs, {
        stdio: 'inherit',
        env: {
          ...process.env,
          NODE_ENV: 'test',
          GATEHOUSE_TEST_SUPER_URL: cluster.superUrl(),
          GATEHOUSE_TEST_OWNER_URL: urls.databaseUrl,
          GATEHOUSE_TEST_APP_URL: urls.appDatabaseUrl,
          GATEHOUSE_TEST_TEMPLATE: TEMPLATE,
        },
      })
      const forward = (signal: NodeJS.Signals) => child.kill(signal)
      process.on('SIGINT', forward)
      process.on('SIGTERM', forward)
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)))
    })
  } finally {
    await cluster.stop().catch((err) => console.error('stopping PostgreSQL:', err))
    await rm(root, { recursive: true, force: true })
  }
  return code
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)


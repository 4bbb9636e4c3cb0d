// `npm run rls:report`: the database's security posture for DBAs — per table RLS enabled/forced,
// every policy with its command, roles and expressions (an intended `true` write policy with its
// reason from scripts/rls-report/open-policies.ts), what the policies add up to per role and
// command, the audit triggers, the SECURITY DEFINER functions with owner, search_path, EXECUTE
// grantees and the rule each checks (its COMMENT's "Checks:"), and the Gatehouse group roles with
// their members — read from pg_catalog (scripts/rls-report/catalogue.ts).
//
//   npm run rls:report                 text; the embedded development database without DATABASE_URL
//   npm run rls:report -- --json       the same as JSON on stdout
//   DATABASE_URL=postgres://… npm run rls:report
//
// Any role may read the catalogue, so DATABASE_URL need not be a superuser (a read-only DBA
// login will do). Without it, the embedded development database is started as `npm run
// migrate` does and read as the schema owner; it cannot start while `npm start` holds it.
import pg from 'pg'
import { localDataDir, startLocalDatabase, type Cluster } from '../src/db/embedded.js'
import { readRlsReport } from './rls-report/catalogue.js'
import { findWarnings, formatRlsReport } from './rls-report/format.js'

const USAGE = `usage: npm run rls:report [-- --json] [--no-color]
  Reads DATABASE_URL, or the embedded development database in PG_DATA_DIR (.data/postgres).`

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => !['--json', '--no-color', '--help', '-h'].includes(a))
  if (unknown.length || argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(`${unknown.length ? `unknown argument: ${unknown.join(' ')}\n` : ''}${USAGE}\n`)
    return unknown.length ? 64 : 0
  }
  const json = argv.includes('--json')
  const color = !json && process.stdout.isTTY === true && !argv.includes('--no-color') && !process.env.NO_COLOR

  let databaseUrl = process.env.DATABASE_URL?.trim()
  let cluster: Cluster | undefined
  if (!databaseUrl) {
    ;({ cluster, databaseUrl } = await startLocalDatabase({ dataDir: localDataDir(process.env) }))
  }
  try {
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'gatehouse-rls-report' })
    await client.connect()
    try {
      // One snapshot for every section, and a guarantee that the report changes nothing.
      await client.query('begin isolation level repeatable read read only')
      const report = await readRlsReport(client)
      await client.query('commit')
      const out = json ? JSON.stringify({ ...report, warnings: findWarnings(report) }, null, 2) : formatRlsReport(report, { color })
      process.stdout.write(`${out}\n`)
      return 0
    } finally {
      await client.end()
    }
  } finally {
    await cluster?.stop()
  }
}

// exitCode rather than exit(): a large JSON report on a pipe must be flushed before the end.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    console.error(`rls:report failed: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = 1
  },
)

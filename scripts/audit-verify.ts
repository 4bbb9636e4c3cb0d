// `npm run audit:verify [--batch-size=N] [workspaceId]`: checks the audit log's hash chains
// (src/audit/verify.ts), every chain or one workspace's (the nil UUID: the platform chain), and
// names the first broken row of each chain and why. Rows are read N at a time (default 5000),
// with a progress line on stderr per batch. Exit code 0: intact; 1: a chain is broken; 2: could
// not verify.
//
// Which login. audit_log is under FORCE ROW LEVEL SECURITY, so a login sees only the rows a
// policy shows it, and the verifier refuses a partial view rather than report a short chain as
// clean. With DATABASE_URL, connect as a login granted app_auditor (sql/010_roles.sql: reads
// every chain and its head, writes nothing), or as a superuser; the runtime login and the schema
// owner are refused. For example:
//   CREATE ROLE audit_verifier LOGIN PASSWORD '…'; GRANT app_auditor TO audit_verifier;
//   DATABASE_URL=postgres://audit_verifier:…@db.example/gatehouse npm run audit:verify
// Without DATABASE_URL: the embedded development database in PG_DATA_DIR (the one `npm start`
// and `npm run migrate` use; stop `npm start` first), as its superuser, from the dev secrets.
import pg from 'pg'
import { DEFAULT_BATCH_SIZE, verifyAuditChains, PLATFORM_CHAIN } from '../src/audit/verify.js'
import { localDataDir, startLocalDatabase, type Cluster } from '../src/db/embedded.js'

const USAGE = 'usage: npm run audit:verify [--batch-size=N] [workspaceId]'

async function main(args: string[]): Promise<number> {
  const options = args.filter((a) => a.startsWith('-'))
  const positional = args.filter((a) => !a.startsWith('-'))
  const batchOption = options.length === 1 ? /^--batch-size=(\d+)$/.exec(options[0]!) : null
  if (positional.length > 1 || options.length > 1 || (options.length === 1 && !batchOption)) {
    console.error(USAGE)
    return 2
  }
  const workspaceId = positional[0]
  const batchSize = batchOption ? Number(batchOption[1]) : DEFAULT_BATCH_SIZE
  let connectionString = process.env.DATABASE_URL?.trim()
  let cluster: Cluster | undefined
  if (!connectionString) {
    ;({ cluster } = await startLocalDatabase({ dataDir: localDataDir(process.env) }))
    connectionString = cluster.superUrl('gatehouse')
  }
  const client = new pg.Client({ connectionString })
  try {
    await client.connect()
    const started = Date.now()
    let reported = 0
    const result = await verifyAuditChains(client, {
      ...(workspaceId ? { workspaceId } : {}),
      batchSize,
      // On a large log, a line per batch; small chains finishing are not worth a line each.
      onProgress: (done, total) => {
        if (total > batchSize && (done - reported >= batchSize || done === total)) {
          reported = done
          console.error(`audit:verify: ${done}/${total} rows checked (${Math.floor((done / total) * 100)} %)`)
        }
      },
    })
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    console.log(`audit:verify: ${result.chains} chain(s), ${result.rows} row(s) checked in ${seconds} s`)
    for (const b of result.breaks) {
      const chain = b.chainKey === PLATFORM_CHAIN ? 'the platform chain' : `workspace ${b.chainKey}`
      console.log(`BROKEN ${chain}: first broken row at chain_seq ${b.chainSeq}${b.id ? ` (id ${b.id})` : ''}: ${b.reason}`)
    }
    if (result.breaks.length) {
      console.log(`audit:verify: FAILED: ${result.breaks.length} of ${result.chains} chain(s) broken`)
      return 1
    }
    if (workspaceId && result.chains === 0) {
      console.log(`audit:verify: ${workspaceId === PLATFORM_CHAIN ? 'the platform chain' : `workspace ${workspaceId}`} has no audit rows`)
    }
    console.log('audit:verify: OK: every chain is intact')
    return 0
  } finally {
    await client.end().catch(() => {})
    await cluster?.stop()
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`audit:verify: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(2)
  },
)

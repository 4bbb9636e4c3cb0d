// `npm run migrate`: applies migrations/ and sql/ as the schema owner, then checks the runtime
// role. With DATABASE_URL (+ APP_DATABASE_URL) it migrates that database; without, the embedded
// development database in PG_DATA_DIR (the same one `npm start` uses).
import { localDataDir, startLocalDatabase, type Cluster } from '../src/db/embedded.js'
import { migrate, roleFromUrl } from '../src/db/migrate.js'
import { assertSecurePosture, closePools, createPools } from '../src/db/pool.js'

async function main(): Promise<void> {
  let databaseUrl = process.env.DATABASE_URL?.trim()
  let appDatabaseUrl = process.env.APP_DATABASE_URL?.trim()
  let cluster: Cluster | undefined
  if (!databaseUrl) {
    ;({ cluster, databaseUrl, appDatabaseUrl } = await startLocalDatabase({ dataDir: localDataDir(process.env) }))
  }
  if (!appDatabaseUrl) throw new Error('APP_DATABASE_URL is required with DATABASE_URL: the runtime login must not be the schema owner')
  try {
    await migrate({ ownerUrl: databaseUrl, runtimeLogin: roleFromUrl(appDatabaseUrl), log: console.log })
    const pools = createPools({ runtimeUrl: appDatabaseUrl })
    try {
      await assertSecurePosture(pools.runtime)
      console.log(`runtime role ${roleFromUrl(appDatabaseUrl)} checked: cannot bypass row-level security`)
    } finally {
      await closePools(pools)
    }
  } finally {
    await cluster?.stop()
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})

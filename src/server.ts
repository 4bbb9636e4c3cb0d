// The process: reads the environment, starts (or connects to) PostgreSQL, migrates, checks the
// runtime role, builds the app, listens, and shuts everything down gracefully on SIGINT/SIGTERM.
// The only file that touches process.*.
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { loadConfig, ConfigError } from './config.js'
import { loggerOptions } from './logger.js'
import type { DevSecrets } from './dev-secrets.js'
import { localDataDir, localSecrets, startLocalDatabase, type Cluster } from './db/embedded.js'
import { migrate, roleFromUrl } from './db/migrate.js'
import { assertSecurePosture, closePools, createPools } from './db/pool.js'
import { syncWithDatabase, type ServiceKeys } from './db/startup.js'
import { buildApp } from './app.js'
import { consoleBuilt } from './plugins/console.js'
import { CONSOLE_DIR } from './paths.js'

async function main(): Promise<void> {
  const env = process.env
  const production = env.NODE_ENV === 'production'
  const pgDataDir = localDataDir(env)
  const devSecrets: DevSecrets | undefined = production ? undefined : await localSecrets(pgDataDir)

  let config
  try {
    config = loadConfig(env, devSecrets)
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(1)
    }
    throw err
  }
  const logger = pino(loggerOptions(config.logLevel, !production && process.stdout.isTTY === true))

  let cluster: Cluster | undefined
  let databaseUrl = config.databaseUrl
  let appDatabaseUrl = config.appDatabaseUrl
  if (!databaseUrl) {
    logger.info({ dataDir: pgDataDir }, 'starting embedded PostgreSQL')
    ;({ cluster, databaseUrl, appDatabaseUrl } = await startLocalDatabase({
      dataDir: pgDataDir,
      secrets: devSecrets,
      log: (line) => logger.debug({ postgres: line }),
    }))
  }

  // The schema owner migrates and syncs, then its connection is closed: the running service
  // holds only runtime-login connections.
  let pools: ReturnType<typeof createPools> | undefined
  let keys: ServiceKeys
  try {
    await migrate({ ownerUrl: databaseUrl, runtimeLogin: roleFromUrl(appDatabaseUrl!), log: (m) => logger.info(m) })
    keys = await syncWithDatabase({
      ownerUrl: databaseUrl,
      platformAdminEmails: config.platformAdminEmails,
      keyRing: config.encryptionKeys,
      log: (m) => logger.info(m),
    })
    pools = createPools({ runtimeUrl: appDatabaseUrl!, statementTimeoutMs: config.statementTimeoutMs, log: logger })
    await assertSecurePosture(pools.runtime)
  } catch (err) {
    // Leave nothing running behind a failed start.
    if (pools) await closePools(pools)
    await cluster?.stop()
    throw err
  }

  // The web console, built by `npm run build:web` (npm start builds it first; the image ships it).
  const consoleDir = consoleBuilt(CONSOLE_DIR) ? CONSOLE_DIR : undefined
  if (!consoleDir) logger.warn(`no web console at ${CONSOLE_DIR}: run \`npm run build:web\` to serve it at /`)
  const app = await buildApp(config, { pools, keys, logger, consoleDir })
  const shutdown = async () => {
    await app.close()
    await closePools(pools)
    await cluster?.stop()
  }
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error')
    else logger.info({ signal }, 'shutting down')
    await shutdown()
  })

  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (err) {
    await shutdown()
    throw err
  }
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${app.server.address() && typeof app.server.address() === 'object' ? (app.server.address() as { port: number }).port : config.port}`
  logger.info(`Gatehouse listening on ${url}${consoleDir ? ` (web console: ${url}/)` : ''} (API docs: ${config.docs ? `${url}/docs` : 'off; DOCS=true serves them'})`)
  if (!production && !env.CLOSED_BETA_INVITE_CODE) {
    logger.info(`development closed-beta invite code: ${config.closedBetaInviteCode}`)
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})

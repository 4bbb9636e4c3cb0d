// The production artifact: `npm run build` compiles the service (which also type-checks it),
// `npm run build:web` the web console, and `node dist/src/server.js` — what the Docker image
// runs — starts against an external database with NODE_ENV=production, migrates, serves the API
// and the console, and shuts down cleanly on SIGTERM.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from '../../src/paths.js'
import { generateDevSecrets } from '../../src/dev-secrets.js'
import { createTestDatabase } from '../helpers/db.js'

t.setTimeout(180_000)

// Only what a production process gets: none of tap's loaders or coverage hooks. tap's process
// tracker re-adds its variables to a child's environment unless they are set explicitly; the
// compiled dist/ files must not count towards (nor dilute) the coverage of src/.
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_OPTIONS: '', _TAPJS_PROCESSINFO_COVERAGE_: '0' }

async function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, { cwd: ROOT, env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const [code] = (await once(child, 'close')) as [number | null]
  return { code, output }
}

/** Resolves with the URL the server logs once it listens; rejects if it exits first. */
function listening(child: ChildProcess, log: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = ''
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        log.push(line)
        const match = /Gatehouse listening on (http:\/\/[^ ]+)/.exec(line)
        if (match) resolve(match[1]!)
      }
    })
    child.stderr!.on('data', (d: Buffer) => log.push(d.toString()))
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${log.join('\n')}`)))
  })
}

t.test('npm run build, then node dist/src/server.js serves and stops cleanly', async (t) => {
  const build = await run('npm', ['run', 'build'])
  t.equal(build.code, 0, `the build compiles and type-checks:\n${build.output}`)
  t.ok(existsSync(path.join(ROOT, 'dist/src/server.js')), 'dist/src/server.js exists')
  const web = await run('npm', ['run', 'build:web'])
  t.equal(web.code, 0, `the console builds:\n${web.output}`)

  const db = await createTestDatabase(t)
  const secrets = generateDevSecrets()
  const server = spawn(process.execPath, ['dist/src/server.js'], {
    cwd: ROOT,
    env: {
      ...baseEnv,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: db.ownerUrl,
      APP_DATABASE_URL: db.appUrl,
      SESSION_SECRET: secrets.sessionSecret,
      ENCRYPTION_KEYS: secrets.encryptionKeys,
      PASSWORD_PEPPERS: secrets.passwordPeppers,
      CLOSED_BETA_INVITE_CODE: secrets.closedBetaInviteCode,
      RESEND_API_KEY: 're_test_never_used',
      RESEND_BASE_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log: string[] = []
  t.teardown(() => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
  })
  const base = await listening(server, log)

  t.equal((await fetch(`${base}/readyz`)).status, 200, 'ready: the database answers')
  const register = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'built@example.test', password: 'a compiled passphrase', name: 'Built' }),
  })
  t.equal(register.status, 201, 'a registration (argon2, the common-password list, a write under RLS) works compiled')
  t.match(register.headers.get('set-cookie'), /^__Host-sid=.*; Secure/, 'production cookie')
  const weak = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'weak@example.test', password: 'basketball', name: 'Weak' }),
  })
  t.equal(weak.status, 422, 'the data file of common passwords is found from dist/')
  const docs = await fetch(`${base}/docs/json`)
  t.equal(docs.status, 404, 'no /docs in production without DOCS=true')
  t.match(await docs.json(), { code: 'not_found' })
  t.equal(register.headers.get('cache-control'), 'no-store', 'an /api answer is not stored')
  const page = await fetch(`${base}/verify-email`)
  t.equal(page.status, 200, 'the console is served at its own paths')
  t.match(page.headers.get('content-type'), /^text\/html/)
  t.match(page.headers.get('content-security-policy'), /script-src 'self'/)
  t.match(page.headers.get('strict-transport-security'), /max-age=/, 'HSTS in production')
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1]
  t.ok(script, 'the page loads its built script')
  const asset = await fetch(`${base}${script}`)
  t.equal(asset.status, 200, 'which is served')
  // Read to the end: an unread body keeps its connection busy, and shutdown waits for it.
  t.ok((await asset.arrayBuffer()).byteLength > 0)

  server.kill('SIGTERM')
  const [code] = (await once(server, 'exit')) as [number | null]
  t.equal(code, 0, 'SIGTERM: a clean exit')
  t.ok(log.some((l) => l.includes('shutting down')), 'after a graceful shutdown')
  t.notOk(log.some((l) => /"level":(50|60)/.test(l)), `no error logged:\n${log.join('\n')}`)
})

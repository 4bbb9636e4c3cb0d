// The web console's serving (src/plugins/console.ts), on a stand-in build: its files with their
// cache rules, index.html for the console's own paths (an emailed link, a refresh), the page's
// own Content-Security-Policy, and the API left exactly as it was: an unknown /api path is still
// the JSON 404, no console path answers a write, and nothing outside the build is reachable.
import t from 'tap'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildTestApp } from '../helpers/app.js'
import { assertError } from '../helpers/actors.js'
import { CONSOLE_CSP } from '../../src/plugins/console.js'

const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-console-'))
await mkdir(path.join(dir, 'assets'))
const INDEX = '<!doctype html><html lang="en"><title>Gatehouse</title><script type="module" src="/assets/index-abc123.js"></script></html>'
await writeFile(path.join(dir, 'index.html'), INDEX)
await writeFile(path.join(dir, 'assets', 'index-abc123.js'), 'console.log("console")')
await writeFile(path.join(dir, '.env'), 'SECRET=1')
// Beside the build, not in it: must never be served.
await writeFile(path.join(path.dirname(dir), `${path.basename(dir)}-secret.txt`), 'outside')

const ctx = await buildTestApp(t, {}, { consoleDir: dir })
const get = (url: string, headers: Record<string, string> = {}) => ctx.app.inject({ method: 'GET', url, headers })

t.test('GET / is the console page, with the page policy and no caching of the page itself', async (t) => {
  const res = await get('/')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.equal(res.body, INDEX)
  t.equal(res.headers['content-security-policy'], CONSOLE_CSP)
  t.match(CONSOLE_CSP, /script-src 'self'/, 'scripts from this origin only: no inline script, no other host')
  t.match(CONSOLE_CSP, /frame-ancestors 'none'/, 'no framing (clickjacking)')
  t.equal(res.headers['cache-control'], 'no-cache', 'a new build reaches every browser at its next load')
  t.equal(res.headers['x-content-type-options'], 'nosniff', "helmet's headers still apply")
})

t.test("the console's own paths answer with index.html, as an emailed link or a refresh opens them", async (t) => {
  for (const url of ['/verify-email', '/reset-password', '/accept-invite', '/settings/security', '/admin/workspaces', '/contacts/8b0f5a2e-0000-4000-8000-000000000000', '/no/such/screen?x=1']) {
    const res = await get(url)
    t.equal(res.statusCode, 200, url)
    t.equal(res.body, INDEX, url)
    t.equal(res.headers['content-security-policy'], CONSOLE_CSP, url)
  }
})

t.test('built assets are served with a year-long immutable cache (their names carry their hash)', async (t) => {
  const res = await get('/assets/index-abc123.js')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /javascript/)
  t.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
})

t.test("the service's paths are unchanged: unknown /api paths (and /docs when off) are the JSON 404 with the API policy", async (t) => {
  for (const url of ['/api', '/api/', '/api/nope', '/api/crm/nope?x=1']) {
    const res = await get(url)
    assertError(t, res, 404, 'not_found')
    t.notMatch(res.headers['content-security-policy'] ?? '', /script-src/, `${url}: the API's policy, not the page's`)
    t.equal(res.headers['cache-control'], 'no-store', url)
  }
  // (/docs is on in tests; with it off, as in production, test/e2e/production-build.test.ts shows
  // /docs/json is still the JSON 404 with the console built.)
  t.equal((await get('/docs/json')).statusCode, 200, 'the OpenAPI document is still the service\'s')
  for (const url of ['/docs/nope', '/.well-known/nope']) {
    const res = await get(url)
    assertError(t, res, 404, 'not_found')
    t.notMatch(res.headers['content-security-policy'] ?? '', /script-src/, `${url}: the service's path, not the console's`)
  }
  const me = await get('/api/auth/me')
  assertError(t, me, 401, 'unauthenticated')
  t.equal((await get('/healthz')).statusCode, 200)
})

t.test('no console path takes a write: a POST anywhere outside the API routes is the JSON 404', async (t) => {
  for (const url of ['/', '/sign-in', '/contacts']) {
    const res = await ctx.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{}' })
    assertError(t, res, 404, 'not_found')
  }
})

t.test('nothing outside the build is reachable, and no dot file in it', async (t) => {
  // Threat: a path-traversal or dot-file request reading the service's files or secrets.
  for (const url of [`/../${path.basename(dir)}-secret.txt`, '/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json', '/.env', '/assets/../.env']) {
    const res = await get(url)
    t.not(res.body, 'outside', url)
    t.not(res.body, 'SECRET=1', url)
    t.notMatch(res.body, /"name": "gatehouse"/, url)
    t.ok(res.statusCode === 200 ? res.body === INDEX : res.statusCode === 404 || res.statusCode === 400, `${url}: the page or a refusal (${res.statusCode})`)
  }
})

t.test('without a built console, / is the JSON 404 like any unknown path', async (t) => {
  const bare = await buildTestApp(t)
  const res = await bare.app.inject({ method: 'GET', url: '/' })
  assertError(t, res, 404, 'not_found')
})

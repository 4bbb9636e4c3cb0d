// Operations endpoints and browser-facing headers: liveness, readiness (also with the database
// gone), the OpenAPI document, security.txt, the JSON 404, helmet and the CORS allow-list.
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createPools, closePools } from '../../src/db/pool.js'
import { freePort } from '../../src/db/embedded.js'
import { generateDevSecrets } from '../../src/dev-secrets.js'
import { buildTestApp } from '../helpers/app.js'
import { assertError } from '../helpers/actors.js'
import { newToken } from '../../src/crypto/tokens.js'

const APP_ORIGIN = 'https://app.example.test'
const ctx = await buildTestApp(t, { CORS_ORIGINS: APP_ORIGIN })

const get = (url: string, headers: Record<string, string> = {}) => ctx.app.inject({ method: 'GET', url, headers })

t.test('GET /healthz → 200', async (t) => {
  const res = await get('/healthz')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('GET /readyz → 200 when the database answers', async (t) => {
  const res = await get('/readyz')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ready' })
})

t.test('with the database unreachable', async (t) => {
  // Threat: a dead database turns into hanging requests, 500s or leaked connection details.
  const port = await freePort() // bound and closed again: nothing listens there
  const url = `postgres://nobody:secret@127.0.0.1:${port}/gatehouse`
  const config = loadConfig(
    { NODE_ENV: 'test', DATABASE_URL: url, APP_DATABASE_URL: url, CLOSED_BETA_INVITE_CODE: 'x', PUBLIC_URL: 'http://gatehouse.test' },
    generateDevSecrets(),
  )
  const pools = createPools({ runtimeUrl: url, runtimeMax: 1 })
  // No database to read the worker key from; none is needed to answer 503.
  const app = await buildApp(config, { pools, keys: { workerKey: Buffer.alloc(32), billingKey: Buffer.alloc(32) }, outboxIntervalMs: 0 })
  t.teardown(async () => {
    await app.close()
    await closePools(pools)
  })
  await app.ready()

  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  assertError(t, ready, 503, 'unavailable')
  t.notMatch(ready.body, /ECONNREFUSED|127\.0\.0\.1|nobody|secret/, 'no connection details in the answer')

  const live = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(live.statusCode, 200, 'liveness does not depend on the database')

  const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: `sid=${app.signCookie(newToken())}` } })
  assertError(t, me, 503, 'unavailable')
  // A cookie that could never be valid is refused before any database work: 401 even now.
  const forged = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: 'sid=whatever' } })
  assertError(t, forged, 401, 'unauthenticated')
  const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'a@b.test', password: 'whatever-password' } })
  assertError(t, login, 503, 'unavailable')
})

t.test('GET /docs/json is the OpenAPI 3 document of the routes', async (t) => {
  const res = await get('/docs/json')
  t.equal(res.statusCode, 200)
  const doc = res.json<{
    openapi: string
    paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>>
    components?: { schemas?: Record<string, Schema> }
  }>()
  type Schema = { $ref?: string; properties?: Record<string, Schema>; required?: string[]; type?: string }
  const resolve = (s: Schema | undefined): Schema | undefined => {
    if (!s?.$ref) return s
    return doc.components?.schemas?.[s.$ref.replace('#/components/schemas/', '')]
  }
  const schemaOf = (path: string, method: string, status: string): Schema | undefined =>
    resolve(doc.paths[path]?.[method]?.responses[status]?.content?.['application/json']?.schema)

  t.match(doc.openapi, /^3\./)
  for (const path of [
    '/api/auth/register',
    '/api/auth/login',
    '/api/auth/me',
    '/api/workspaces',
    '/api/workspace',
    '/api/admin/workspaces',
    '/api/admin/workspaces/{id}/approve',
    '/api/crm/contacts',
    '/api/crm/contacts/{id}',
  ]) {
    t.ok(doc.paths[path], `documents ${path}`)
  }

  const registered = schemaOf('/api/auth/register', 'post', '201')
  t.same(registered?.required, ['user'], 'register 201 returns {user}')
  const user = resolve(registered?.properties?.user)
  t.same(Object.keys(user?.properties ?? {}).sort(), ['email', 'emailVerified', 'id', 'isPlatformAdmin', 'mfaEnabled', 'name'])
  const conflict = schemaOf('/api/auth/register', 'post', '409')
  t.same(Object.keys(conflict?.properties ?? {}).sort(), ['code', 'error', 'message', 'statusCode'], 'errors in the API.md shape')

  const contact = schemaOf('/api/crm/contacts', 'post', '201')
  t.ok(contact?.properties?.contact, 'contacts 201 returns {contact}')
  t.ok(resolve(contact?.properties?.contact)?.properties?.id, 'with its fields')
  t.ok(schemaOf('/api/crm/contacts', 'get', '200')?.properties?.contacts, 'the list returns {contacts}')

  const approved = schemaOf('/api/admin/workspaces/{id}/approve', 'post', '200')
  const adminWorkspace = resolve(approved?.properties?.workspace)
  t.ok(adminWorkspace?.properties?.trial, 'approve returns the workspace with its trial')
  t.ok(adminWorkspace?.properties?.ownerEmail)
  t.ok(doc.paths['/api/admin/workspaces/{id}/approve']?.post?.responses['409'], 'documents the 409')
})

t.test('GET /docs serves the Swagger UI, under a policy that fits it', async (t) => {
  const res = await get('/docs')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.body, /<html/i)
  const csp = directives(res.headers['content-security-policy'])
  t.same(csp, {
    'default-src': "'none'",
    'base-uri': "'none'",
    'connect-src': "'self'",
    'form-action': "'none'",
    'frame-ancestors': "'none'",
    'img-src': "'self' data:",
    'script-src': "'self'",
    'style-src': "'self'",
  }, 'same-origin scripts, styles and fetches, data: images; nothing else')
  // The policy allows no inline script or style, so the page must have none (a newer swagger-ui
  // that inlined one would be blank in a browser: this is where it shows).
  const scripts = res.body.match(/<script\b[^>]*>/gi) ?? []
  t.ok(scripts.length > 0, 'the page loads its scripts')
  for (const tag of scripts) t.match(tag, /\bsrc="/, `${tag}: from a file`)
  t.notMatch(res.body, /<style\b|\sstyle=|\son[a-z]+=|javascript:/i, 'no inline style, event handler or javascript: URL')
  for (const asset of res.body.match(/(?:src|href)="([^"]+)"/g) ?? []) {
    const url = /"([^"]+)"/.exec(asset)![1]!
    t.notMatch(url, /^(https?:)?\/\//, `${url}: same origin`)
    const loaded = await get(url.startsWith('/') ? url : `/docs/${url.replace(/^\.\//, '')}`)
    t.equal(loaded.statusCode, 200, `${url} is served`)
  }
  const json = await get('/docs/json')
  t.equal(json.statusCode, 200)
  t.equal(json.headers['content-security-policy'], res.headers['content-security-policy'], '/docs/* all under the docs policy')
})

t.test('/docs in production: off unless DOCS=true', async (t) => {
  // Threat: the OpenAPI document hands every route and field of the service to whoever asks.
  const secrets = generateDevSecrets()
  const production = {
    NODE_ENV: 'production',
    ENCRYPTION_KEYS: secrets.encryptionKeys,
    PASSWORD_PEPPERS: secrets.passwordPeppers,
    SESSION_SECRET: secrets.sessionSecret,
  }
  const off = await buildTestApp(t, production, { db: ctx.db })
  for (const url of ['/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/swagger-ui.css', '/docs/static/index.html']) {
    const res = await off.app.inject({ method: 'GET', url })
    assertError(t, res, 404, 'not_found')
    t.match(res.headers['content-type'], /^application\/json/, `${url}: a JSON 404`)
  }
  t.equal((await off.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the rest is served')

  const on = await buildTestApp(t, { ...production, DOCS: 'true' }, { db: ctx.db })
  t.equal((await on.app.inject({ method: 'GET', url: '/docs' })).statusCode, 200, 'DOCS=true: the UI')
  const doc = await on.app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(doc.statusCode, 200, 'and the document')
  t.ok(doc.json<{ paths: Record<string, unknown> }>().paths['/api/auth/login'], 'with the routes')

  const test = await buildTestApp(t, { DOCS: 'false' }, { db: ctx.db })
  t.equal((await test.app.inject({ method: 'GET', url: '/docs/json' })).statusCode, 200, 'outside production /docs is always on')
})

t.test('GET /.well-known/security.txt (RFC 9116)', async (t) => {
  const res = await get('/.well-known/security.txt')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain/)
  t.match(res.body, /^Contact: mailto:security@gatehouse\.test$/m)
  const expires = /^Expires: (.+)$/m.exec(res.body)?.[1]
  t.ok(expires, 'an Expires field')
  const when = new Date(expires!).getTime()
  t.ok(when > Date.now(), 'in the future')
  t.ok(when < Date.now() + 366 * 24 * 3600 * 1000, 'less than a year away (RFC 9116 recommends)')
})

t.test('an unknown route → 404 not_found as JSON', async (t) => {
  const res = await get('/no/such/route')
  assertError(t, res, 404, 'not_found')
  t.match(res.headers['content-type'], /^application\/json/)
  assertError(t, await ctx.app.inject({ method: 'POST', url: '/api/nope', payload: {} }), 404, 'not_found')
})

/** A Content-Security-Policy header as {directive: value}. */
function directives(header: unknown): Record<string, string> {
  return Object.fromEntries(
    String(header).split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
      const [name, ...values] = d.split(/\s+/)
      return [name!, values.join(' ')]
    }),
  )
}

t.test('helmet headers', async (t) => {
  // Threat: a browser sniffs, frames or runs active content from API responses, or a <base> or a
  // form in an injected response re-points where the page's links and submissions go.
  for (const url of ['/healthz', '/no/such/route', '/api/auth/me', '/api/no/such/route', '/.well-known/security.txt']) {
    const res = await get(url)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`)
    t.same(directives(res.headers['content-security-policy']), {
      'default-src': "'none'",
      'base-uri': "'none'",
      'form-action': "'none'",
      'frame-ancestors': "'none'",
    }, `${url}: nothing loads, no <base>, no form submission, no framing; no directive an HTML page would need`)
    t.notOk(res.headers['x-powered-by'], `${url}: no x-powered-by`)
    t.notOk(res.headers['strict-transport-security'], `${url}: no HSTS on plain-HTTP test`)
  }
})

t.test('CORS', async (t) => {
  // Threat: a foreign site reads authenticated API responses in a victim's browser.
  await t.test('an allowed origin gets the CORS headers with credentials', async (t) => {
    const res = await get('/healthz', { origin: APP_ORIGIN })
    t.equal(res.headers['access-control-allow-origin'], APP_ORIGIN)
    t.equal(res.headers['access-control-allow-credentials'], 'true')
    t.match(res.headers.vary, /Origin/)
    const preflight = await ctx.app.inject({
      method: 'OPTIONS',
      url: '/api/crm/contacts',
      headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-workspace-id' },
    })
    t.equal(preflight.statusCode, 204)
    t.equal(preflight.headers['access-control-allow-origin'], APP_ORIGIN)
    t.match(preflight.headers['access-control-allow-methods'], /POST/)
    t.match(preflight.headers['access-control-allow-headers'], /X-Workspace-Id/i)
  })

  await t.test('a foreign origin gets none', async (t) => {
    for (const origin of ['https://evil.example', 'https://app.example.test.evil.example', 'null']) {
      const res = await get('/healthz', { origin })
      t.notOk(res.headers['access-control-allow-origin'], `${origin}: no access-control-allow-origin`)
      const preflight = await ctx.app.inject({
        method: 'OPTIONS',
        url: '/api/crm/contacts',
        headers: { origin, 'access-control-request-method': 'POST' },
      })
      t.notOk(preflight.headers['access-control-allow-origin'], `${origin}: preflight not allowed`)
    }
  })
})

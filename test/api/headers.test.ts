// Response headers every /api answer carries, whatever produced it. Threat: a browser or a shared
// cache (a proxy, a CDN) keeps a copy of an answer about someone — a session's user, a
// workspace's records, MFA secrets and backup codes shown once — and hands it to the next person
// on the machine or behind the proxy. Every /api response says `Cache-Control: no-store`, errors
// included.
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, as, assertError } from '../helpers/actors.js'

const APP_ORIGIN = 'https://app.example.test'
const ctx = await buildTestApp(t, { CORS_ORIGINS: APP_ORIGIN, RATE_LIMIT_LOGIN_IP: '1/1h' })
const { owner, workspaceId } = await activeTenant(ctx, 'Headers Co')

function noStore(t: Test, res: LightMyRequestResponse, what: string): void {
  t.equal(res.headers['cache-control'], 'no-store', `${what} (${res.statusCode}): Cache-Control: no-store`)
}

t.test('successes under /api are not stored', async (t) => {
  const me = await ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: as(owner) })
  t.equal(me.statusCode, 200)
  noStore(t, me, 'GET /api/auth/me')
  const list = await ctx.app.inject({ method: 'GET', url: '/api/crm/contacts?limit=5', headers: as(owner, workspaceId) })
  t.equal(list.statusCode, 200)
  noStore(t, list, 'a list with a query string')
  const created = await ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: as(owner, workspaceId), payload: { name: 'Cached?' } })
  t.equal(created.statusCode, 201)
  noStore(t, created, 'a 201')
  const resend = await ctx.app.inject({ method: 'POST', url: '/api/auth/verify-email/resend', headers: as(owner) })
  t.equal(resend.statusCode, 202)
  noStore(t, resend, 'a 202 with no body')
  const trailing = await ctx.app.inject({ method: 'GET', url: '/api/workspaces/', headers: as(owner) })
  t.equal(trailing.statusCode, 200)
  noStore(t, trailing, 'a trailing slash')
})

t.test('errors under /api are not stored either', async (t) => {
  const cases: [string, Promise<LightMyRequestResponse>, number, string][] = [
    ['no session', ctx.app.inject({ method: 'GET', url: '/api/auth/me' }), 401, 'unauthenticated'],
    ['an unknown /api route', ctx.app.inject({ method: 'GET', url: '/api/no/such/route' }), 404, 'not_found'],
    ['POST /api', ctx.app.inject({ method: 'POST', url: '/api', payload: {} }), 404, 'not_found'],
    ['another tenant\'s id', ctx.app.inject({ method: 'GET', url: '/api/crm/contacts/00000000-0000-4000-8000-000000000000', headers: as(owner, workspaceId) }), 404, 'not_found'],
    ['a schema violation', ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: as(owner, workspaceId), payload: { nope: 1 } }), 400, 'validation_failed'],
    ['malformed JSON', ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: { ...as(owner, workspaceId), 'content-type': 'application/json' }, payload: '{' }), 400, 'invalid_json'],
    ['a foreign origin', ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: { ...as(owner, workspaceId), origin: 'https://evil.example' }, payload: { name: 'x' } }), 403, 'csrf_rejected'],
    ['a text/plain body', ctx.app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'text/plain' }, payload: 'x' }), 415, 'unsupported_media_type'],
    ['a body over the limit', ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: as(owner, workspaceId), payload: { name: 'x'.repeat(1024 * 1024) } }), 413, 'payload_too_large'],
  ]
  for (const [what, pending, status, code] of cases) {
    const res = await pending
    assertError(t, res, status, code)
    noStore(t, res, what)
  }

  const login = () => ctx.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: '10.9.0.1', payload: { email: 'nobody@example.test', password: 'wrong password here' } })
  assertError(t, await login(), 401, 'invalid_credentials')
  const limited = await login()
  assertError(t, limited, 429, 'rate_limited')
  noStore(t, limited, 'a rate-limited sign-in')
})

t.test('a CORS preflight under /api is not stored', async (t) => {
  const preflight = await ctx.app.inject({
    method: 'OPTIONS',
    url: '/api/crm/contacts',
    headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST' },
  })
  t.equal(preflight.statusCode, 204)
  noStore(t, preflight, 'the preflight')
})

t.test('a URL the router refuses before any route is chosen: 400 in the API shape, not stored', async (t) => {
  // Fastify answers these before any hook runs; they must not escape the error shape or the header.
  for (const url of ['/api/crm/contacts/%E0%A4%A', `/api/crm/contacts/${'a'.repeat(300)}`]) {
    const res = await ctx.app.inject({ method: 'GET', url, headers: as(owner, workspaceId) })
    assertError(t, res, 400, 'validation_failed')
    noStore(t, res, url.slice(0, 30))
    t.equal(res.headers['x-content-type-options'], 'nosniff')
  }
})

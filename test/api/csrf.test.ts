// Cross-site request forgery: a page on another site makes the victim's browser send a
// cookie-authenticated write. API.md's two rules: only application/json bodies (so no "simple"
// form or text/plain request reaches a handler), and foreign Origin / cross-site Sec-Fetch-Site
// on a cookie-authenticated write → 403 csrf_rejected. Every refused request changes nothing.
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, as, assertError, countContacts, createContact } from '../helpers/actors.js'

const APP_ORIGIN = 'https://app.example.test'
const OWN_ORIGIN = 'http://gatehouse.test' // PUBLIC_URL of the test app
const ctx = await buildTestApp(t, { CORS_ORIGINS: APP_ORIGIN })
const { owner, workspaceId } = await activeTenant(ctx, 'CSRF Co')

function postContact(headers: Record<string, string>, name = 'Forged'): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: { ...as(owner, workspaceId), ...headers }, payload: { name } })
}

async function sessionRevoked(): Promise<boolean> {
  const rows = await ctx.sql<{ revoked: boolean }>('select bool_or(revoked_at is not null) as revoked from sessions where user_id = $1', [owner.id])
  return rows[0]!.revoked
}

t.test('a foreign Origin on a cookie-authenticated write → 403 csrf_rejected, nothing changed', async (t) => {
  // Threat: evil.example submits a write with the victim's ambient session cookie.
  const before = await countContacts(ctx, workspaceId)
  for (const origin of ['https://evil.example', 'null', `${APP_ORIGIN}.evil.example`, 'http://app.example.test']) {
    assertError(t, await postContact({ origin }), 403, 'csrf_rejected')
  }
  t.equal(await countContacts(ctx, workspaceId), before, 'no contact was created')

  const contact = await createContact(ctx, owner, workspaceId, { name: 'Keep Me' })
  const patch = await ctx.app.inject({
    method: 'PATCH',
    url: `/api/crm/contacts/${contact.id}`,
    headers: { ...as(owner, workspaceId), origin: 'https://evil.example' },
    payload: { name: 'Defaced' },
  })
  assertError(t, patch, 403, 'csrf_rejected')
  const del = await ctx.app.inject({
    method: 'DELETE',
    url: `/api/crm/contacts/${contact.id}`,
    headers: { ...as(owner, workspaceId), origin: 'https://evil.example' },
  })
  assertError(t, del, 403, 'csrf_rejected')
  const [row] = await ctx.sql('select name, deleted_at from contacts where id = $1', [contact.id])
  t.same(row, { name: 'Keep Me', deleted_at: null }, 'neither renamed nor deleted')

  const logout = await ctx.app.inject({ method: 'POST', url: '/api/auth/logout', headers: { ...as(owner), origin: 'https://evil.example' } })
  assertError(t, logout, 403, 'csrf_rejected')
  t.equal(await sessionRevoked(), false, 'a forged logout does not sign the victim out')
})

t.test('Sec-Fetch-Site: cross-site without an allowed Origin → 403', async (t) => {
  // Threat: a browser that omits Origin still labels the request cross-site; that alone must refuse it.
  const before = await countContacts(ctx, workspaceId)
  assertError(t, await postContact({ 'sec-fetch-site': 'cross-site' }), 403, 'csrf_rejected')
  assertError(t, await postContact({ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }), 403, 'csrf_rejected')
  t.equal(await countContacts(ctx, workspaceId), before, 'no contact was created')
})

t.test('allowed origins pass', async (t) => {
  const before = await countContacts(ctx, workspaceId)
  const spa = await postContact({ origin: APP_ORIGIN, 'sec-fetch-site': 'cross-site' }, 'From the SPA')
  t.equal(spa.statusCode, 201, `a CORS_ORIGINS origin, even cross-site: ${spa.body}`)
  t.equal(spa.headers['access-control-allow-origin'], APP_ORIGIN)
  const own = await postContact({ origin: OWN_ORIGIN, 'sec-fetch-site': 'same-origin' }, 'Same origin')
  t.equal(own.statusCode, 201, `the service's own origin: ${own.body}`)
  const site = await postContact({ 'sec-fetch-site': 'same-site' }, 'Same site')
  t.equal(site.statusCode, 201, 'same-site without Origin')
  const cli = await postContact({}, 'From curl')
  t.equal(cli.statusCode, 201, 'no Origin at all: a non-browser client')
  t.equal(await countContacts(ctx, workspaceId), before + 4)
})

t.test('a GET with a foreign Origin is not blocked (no GET changes state), and its answer is not shared', async (t) => {
  const res = await ctx.app.inject({
    method: 'GET',
    url: '/api/crm/contacts',
    headers: { ...as(owner, workspaceId), origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
  })
  t.equal(res.statusCode, 200)
  t.notOk(res.headers['access-control-allow-origin'], 'the browser will not let evil.example read it')
})

t.test('a write without a session cookie is not subject to the origin check', async (t) => {
  // Nothing ambient to abuse: the request fails on authentication, not as CSRF.
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/crm/contacts',
    headers: { 'x-workspace-id': workspaceId, origin: 'https://evil.example' },
    payload: { name: 'Anonymous' },
  })
  assertError(t, res, 401, 'unauthenticated')
})

t.test('bodies that are not application/json → 415 unsupported_media_type', async (t) => {
  // Threat: an HTML form or a text/plain fetch() is a "simple" request that needs no CORS preflight.
  const before = await countContacts(ctx, workspaceId)
  const send = (contentType: string, payload: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/api/crm/contacts',
      headers: { ...as(owner, workspaceId), 'content-type': contentType },
      payload,
    })
  assertError(t, await send('text/plain', '{"name":"Plain"}'), 415, 'unsupported_media_type')
  assertError(t, await send('text/plain;charset=UTF-8', '{"name":"Plain"}'), 415, 'unsupported_media_type')
  assertError(t, await send('application/x-www-form-urlencoded', 'name=Form'), 415, 'unsupported_media_type')
  assertError(t, await send('multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nMulti\r\n--x--\r\n'), 415, 'unsupported_media_type')
  assertError(t, await send('text/plain', ''), 415, 'unsupported_media_type')
  const noType = await ctx.app.inject({
    method: 'POST',
    url: '/api/crm/contacts',
    headers: { ...as(owner, workspaceId) },
    body: Buffer.from('{"name":"No type"}'),
  })
  assertError(t, noType, 415, 'unsupported_media_type')
  t.equal(await countContacts(ctx, workspaceId), before, 'no contact was created')

  const login = await ctx.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'content-type': 'text/plain' },
    payload: JSON.stringify({ email: owner.email, password: owner.password }),
  })
  assertError(t, login, 415, 'unsupported_media_type')
  t.notOk(login.headers['set-cookie'], 'no login CSRF: no session is set')

  const json = await send('application/json; charset=utf-8', '{"name":"Json"}')
  t.equal(json.statusCode, 201, 'application/json with a charset is fine')
  const bodiless = await ctx.app.inject({ method: 'POST', url: '/api/auth/verify-email/resend', headers: as(owner) })
  t.equal(bodiless.statusCode, 202, 'a bodiless POST with no content type is fine')
})

t.test('an Authorization header never lets the session cookie sign the request in', async (t) => {
  // Threat: a header rides along with the browser's ambient cookie, and the request is then both
  // cookie-authenticated and treated as a bearer request (exempt from the origin check). A request
  // with the header is judged by it alone: no API token in it (another scheme, a malformed token,
  // or a route that takes none) is nobody, whatever cookie it carries (test/api/api-tokens.test.ts
  // has the real tokens).
  const before = await countContacts(ctx, workspaceId)
  for (const authorization of ['Bearer not-a-real-token', 'Basic Zm9vOmJhcg==', '']) {
    const me = await ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: { ...as(owner), authorization } })
    assertError(t, me, 401, 'unauthenticated')
    const write = await postContact({ authorization }, 'Header and cookie')
    assertError(t, write, 401, 'unauthenticated')
  }
  t.equal(await countContacts(ctx, workspaceId), before, 'no contact was created')

  const logout = await ctx.app.inject({ method: 'POST', url: '/api/auth/logout', headers: { ...as(owner), authorization: 'Bearer x' } })
  t.equal(logout.statusCode, 204, 'logout is public: it answers, signed in or not')
  t.equal(await sessionRevoked(), false, 'but the cookie did not sign it in, so no session was revoked')

  const me = await ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: as(owner) })
  t.equal(me.statusCode, 200, 'the same cookie alone still works')
})

t.test('a cross-site cookie write with a bogus Authorization header is still CSRF-checked', async (t) => {
  // Threat: the old exemption trusted the header's mere presence; a forged write that manages to
  // add one must still meet the origin rules before anything else is decided.
  const before = await countContacts(ctx, workspaceId)
  const forged: Record<string, string>[] = [
    { authorization: 'Bearer bogus', origin: 'https://evil.example' },
    { authorization: 'Bearer bogus', 'sec-fetch-site': 'cross-site' },
    { authorization: '', origin: 'null' },
  ]
  for (const headers of forged) {
    assertError(t, await postContact(headers), 403, 'csrf_rejected')
  }
  const logout = await ctx.app.inject({ method: 'POST', url: '/api/auth/logout', headers: { ...as(owner), authorization: 'Bearer bogus', origin: 'https://evil.example' } })
  assertError(t, logout, 403, 'csrf_rejected')
  t.equal(await countContacts(ctx, workspaceId), before, 'no contact was created')
  t.equal(await sessionRevoked(), false)
})

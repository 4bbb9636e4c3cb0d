// Hostile and malformed input on the contacts resource: each gets its documented 4xx in the
// API.md error shape, changes nothing in the database, and nothing ever answers with a 5xx.
import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, as, assertError, countContacts, createContact } from '../helpers/actors.js'

const ctx = await buildTestApp(t)
const CONTACTS = '/api/crm/contacts'
const { owner, workspaceId } = await activeTenant(ctx, 'Bad Input Co')
const other = await activeTenant(ctx, 'Other Co')
const headers = as(owner, workspaceId)

// Every response in this file, to prove at the end that none was a 5xx.
const seen: { what: string; status: number }[] = []
async function send(opts: InjectOptions): Promise<LightMyRequestResponse> {
  const res = await ctx.app.inject({ ...opts, headers: { ...headers, ...opts.headers } })
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- every request in this file gives url as a string
  seen.push({ what: `${opts.method} ${String(opts.url)}`, status: res.statusCode })
  return res
}

/** Sends a request that must be refused with `status`/`code` and must leave every contact row as it was. */
async function refused(t: Test, opts: InjectOptions, status: number, code: string, message?: RegExp): Promise<LightMyRequestResponse> {
  const before = await ctx.sql('select * from contacts order by workspace_id, id')
  const res = await send(opts)
  assertError(t, res, status, code, message)
  t.same(await ctx.sql('select * from contacts order by workspace_id, id'), before, 'nothing changed')
  return res
}

const existing = await createContact(ctx, owner, workspaceId, { name: 'Existing Contact', email: 'existing@example.test' })
const post = (payload: unknown): InjectOptions => ({ method: 'POST', url: CONTACTS, payload: payload as object })
const patch = (payload: unknown): InjectOptions => ({ method: 'PATCH', url: `${CONTACTS}/${existing.id}`, payload: payload as object })

t.test('wrong types, missing and unknown fields', async (t) => {
  // Threat: loosely typed input is coerced or mass-assigned into fields the client must not set.
  const cases: [string, unknown, RegExp][] = [
    ['name: 5', { name: 5 }, /body\.name/],
    ['name: null', { name: null }, /body\.name/],
    ['name: true', { name: true }, /body\.name/],
    ['name: an array', { name: ['Ada'] }, /body\.name/],
    ['name: an object', { name: { first: 'Ada' } }, /body\.name/],
    ['name with a line break (an email subject, a log line)', { name: 'Ada\r\nBcc: eve@example.test' }, /body\.name/],
    ['name with a control character', { name: 'Ada\u001b[31m' }, /body\.name/],
    ['email: 7', { name: 'Ada', email: 7 }, /body\.email/],
    ['ownerId: 5', { name: 'Ada', ownerId: 5 }, /body\.ownerId/],
    ['missing name', { email: 'ada@example.test' }, /name/],
    ['empty object', {}, /name/],
    ['a JSON array body', [{ name: 'Ada' }], /body/],
    ['unknown property', { name: 'Ada', nickname: 'A' }, /nickname/],
    ['workspaceId smuggled in', { name: 'Ada', workspaceId: other.workspaceId }, /workspaceId/],
    ['id smuggled in', { name: 'Ada', id: randomUUID() }, /\bid\b/],
    ['createdBy smuggled in', { name: 'Ada', createdBy: other.owner.id }, /createdBy/],
    ['deletedAt smuggled in', { name: 'Ada', deletedAt: new Date().toISOString() }, /deletedAt/],
  ]
  for (const [label, body, message] of cases) {
    await t.test(`POST ${label} → 400 validation_failed`, async (t) => {
      await refused(t, post(body), 400, 'validation_failed', message)
    })
  }
  for (const payload of ['null', '"Ada"', '42']) {
    await t.test(`a JSON ${payload} body → 400`, async (t) => {
      await refused(t, { method: 'POST', url: CONTACTS, headers: { 'content-type': 'application/json' }, payload }, 400, 'validation_failed')
    })
  }
  await t.test('PATCH with nothing to change → 400', async (t) => {
    await refused(t, patch({}), 400, 'validation_failed')
  })
  await t.test('PATCH name: null → 400', async (t) => {
    await refused(t, patch({ name: null }), 400, 'validation_failed', /body\.name/)
  })
  await t.test('PATCH workspaceId → 400 (a contact cannot be moved to another tenant)', async (t) => {
    await refused(t, patch({ workspaceId: other.workspaceId }), 400, 'validation_failed', /workspaceId/)
  })
})

t.test('names and emails out of bounds', async (t) => {
  // Threat: blank or oversized values are stored, or a header-injection string passes as an email.
  for (const [label, name] of [['empty', ''], ['spaces', '   '], ['tabs and newlines', '\t\n \r'], ['201 characters', 'x'.repeat(201)]] as const) {
    await t.test(`POST name ${label} → 400`, async (t) => {
      await refused(t, post({ name }), 400, 'validation_failed', /body\.name/)
    })
    await t.test(`PATCH name ${label} → 400`, async (t) => {
      await refused(t, patch({ name }), 400, 'validation_failed', /body\.name/)
    })
  }
  await t.test('201 astral characters → 400 (length counts characters, not UTF-16 units)', async (t) => {
    await refused(t, post({ name: '😀'.repeat(201) }), 400, 'validation_failed', /body\.name/)
  })
  await t.test('exactly 200 characters is accepted (boundary control)', async (t) => {
    for (const name of ['y'.repeat(200), '😀'.repeat(200)]) {
      const res = await send(post({ name }))
      t.equal(res.statusCode, 201, res.body)
      t.equal(res.json().contact.name, name)
    }
  })
  for (const email of ['not-an-email', 'a@', '@example.test', 'a b@example.test', 'ada@example.test\nBcc: x@evil.test', `${'a'.repeat(250)}@x.test`]) {
    await t.test(`invalid email ${JSON.stringify(email.slice(0, 40))} → 400`, async (t) => {
      await refused(t, post({ name: 'Ada', email }), 400, 'validation_failed', /body\.email/)
    })
  }
  await t.test('invalid phone → 400', async (t) => {
    await refused(t, post({ name: 'Ada', phone: 'call me maybe' }), 400, 'validation_failed', /body\.phone/)
  })
})

t.test('bodies that are not (acceptable) JSON', async (t) => {
  // Threat: a cross-site form or text/plain request reaches a handler, or a huge body exhausts the server.
  const json = { 'content-type': 'application/json' }
  for (const [label, payload] of [['truncated', '{"name":'], ['single quotes', "{'name': 'Ada'}"], ['trailing comma', '{"name": "Ada",}'], ['bare word', 'Ada']] as const) {
    await t.test(`invalid JSON (${label}) → 400 invalid_json`, async (t) => {
      await refused(t, { method: 'POST', url: CONTACTS, headers: json, payload }, 400, 'invalid_json')
    })
  }
  await t.test('an empty body declared as JSON → 400 invalid_json', async (t) => {
    await refused(t, { method: 'POST', url: CONTACTS, headers: json, payload: '' }, 400, 'invalid_json')
  })
  await t.test('prototype poisoning → 400, never merged', async (t) => {
    // Threat: a __proto__ or constructor.prototype key pollutes Object.prototype through the body parser.
    for (const payload of ['{"name":"Ada","__proto__":{"isAdmin":true}}', '{"name":"Ada","constructor":{"prototype":{"isAdmin":true}}}']) {
      const res = await refused(t, { method: 'POST', url: CONTACTS, headers: json, payload }, 400, 'invalid_json')
      t.equal(res.statusCode, 400)
    }
    t.equal(({} as Record<string, unknown>).isAdmin, undefined, 'Object.prototype is clean')
  })
  await t.test('a body over 1 MiB → 413 payload_too_large', async (t) => {
    await refused(t, post({ name: 'Ada', email: 'x'.repeat(1024 * 1024 + 1) }), 413, 'payload_too_large')
  })
  const others: [string, string, string][] = [
    ['text/plain', 'text/plain', '{"name":"Ada"}'],
    ['text/plain with charset', 'text/plain; charset=utf-8', '{"name":"Ada"}'],
    ['a form', 'application/x-www-form-urlencoded', 'name=Ada'],
    ['multipart', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda\r\n--x--\r\n'],
    ['application/jsonp', 'application/jsonp', '{"name":"Ada"}'],
  ]
  for (const [label, type, payload] of others) {
    await t.test(`${label} → 415 unsupported_media_type`, async (t) => {
      await refused(t, { method: 'POST', url: CONTACTS, headers: { 'content-type': type }, payload }, 415, 'unsupported_media_type')
    })
  }
  await t.test('a form PATCH and a text/plain DELETE → 415 too', async (t) => {
    await refused(t, { method: 'PATCH', url: `${CONTACTS}/${existing.id}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=X' }, 415, 'unsupported_media_type')
    await refused(t, { method: 'DELETE', url: `${CONTACTS}/${existing.id}`, headers: { 'content-type': 'text/plain' }, payload: 'x' }, 415, 'unsupported_media_type')
  })
})

t.test('malformed ids in the path', async (t) => {
  // Threat: an id that is not a UUID reaches SQL, or its database error reaches the client.
  const bad = ['not-a-uuid', '123', `${existing.id}x`, existing.id.slice(0, -1), encodeURIComponent("' OR 1=1 --"), `urn:uuid:${existing.id}`, `{${existing.id}}`, existing.id.replaceAll('-', ''), '%00']
  for (const id of bad) {
    await t.test(`/${id}`, async (t) => {
      const base = `${CONTACTS}/${id}`
      await refused(t, { method: 'GET', url: base }, 400, 'validation_failed')
      await refused(t, { method: 'PATCH', url: base, payload: { name: 'X' } }, 400, 'validation_failed')
      await refused(t, { method: 'DELETE', url: base }, 400, 'validation_failed')
      await refused(t, { method: 'POST', url: `${base}/restore` }, 400, 'validation_failed')
    })
  }
})

t.test('list query parameters', async (t) => {
  // Threat: an unbounded or malformed page size makes one request read a whole table or crash the query.
  for (const query of ['limit=0', 'limit=1000', 'limit=101', 'limit=-1', 'limit=abc', 'limit=1.5', 'limit=', 'limit=1&limit=2', 'unknown=1']) {
    await t.test(`?${query} → 400`, async (t) => {
      await refused(t, { method: 'GET', url: `${CONTACTS}?${query}` }, 400, 'validation_failed')
    })
  }
  await t.test('limit=1 and limit=100 are accepted (boundary control)', async (t) => {
    for (const limit of [1, 100]) {
      const res = await send({ method: 'GET', url: `${CONTACTS}?limit=${limit}` })
      t.equal(res.statusCode, 200, res.body)
      t.ok(res.json().contacts.length <= limit)
    }
  })

  await t.test('a garbage or tampered cursor → 400', async (t) => {
    // Threat: a forged cursor injects values into the keyset query or crashes it.
    const page = await send({ method: 'GET', url: `${CONTACTS}?limit=1` })
    const real = page.json().nextCursor as string
    t.type(real, 'string', 'a real cursor to tamper with')
    const decoded = JSON.parse(Buffer.from(real, 'base64url').toString()) as { t: string; id: string }
    const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
    const cursors = [
      'garbage',
      '!!!!',
      real.slice(0, -3),
      `${real}x`,
      b64('not json'),
      b64({ t: decoded.t }),
      b64({ t: decoded.t, id: "' OR 1=1 --" }),
      b64({ t: 'yesterday', id: decoded.id }),
      b64({ t: 12345, id: decoded.id }),
      b64({ t: decoded.t, id: 42 }),
      b64([decoded.t, decoded.id]),
      b64(null),
      b64({ t: '+275760-09-13T00:00:00.000Z', id: decoded.id }),
      b64({ t: '-000001-01-01T00:00:00.000Z', id: decoded.id }),
      b64({ t: '2024-01-01', id: decoded.id }),
      'A'.repeat(201),
    ]
    for (const cursor of cursors) {
      await refused(t, { method: 'GET', url: `${CONTACTS}?cursor=${encodeURIComponent(cursor)}` }, 400, 'validation_failed', /cursor/)
    }
  })
})

t.test('hostile search strings', async (t) => {
  // Threat: a search string is interpreted as SQL or as LIKE wildcards, or crashes the query.
  await createContact(ctx, owner, workspaceId, { name: 'Zoë Ünal', email: 'zoe@example.test' })
  await createContact(ctx, owner, workspaceId, { name: '50% Off Ltd' })
  await createContact(ctx, owner, workspaceId, { name: 'עברית 東京 🚀' })
  const rows = await countContacts(ctx)
  const search = async (q: string) => {
    const res = await send({ method: 'GET', url: `${CONTACTS}?q=${encodeURIComponent(q)}&limit=100` })
    t.equal(res.statusCode, 200, `q=${JSON.stringify(q.slice(0, 40))}: ${res.body.slice(0, 200)}`)
    return (res.json().contacts as { name: string }[]).map((c) => c.name)
  }
  t.same(await search("' OR 1=1 --"), [], 'SQL-ish text is just text')
  t.same(await search("'; drop table contacts; --"), [], 'and stays text')
  t.equal(await countContacts(ctx), rows, 'every contact is still there')
  t.same(await search('%'), ['50% Off Ltd'], '% matches a literal percent only')
  t.same(await search('%%'), [], 'no wildcard expansion')
  t.same(await search('_'), [], '_ matches a literal underscore only')
  t.same(await search('\\'), [], 'a lone backslash matches nothing here, and does not error')
  t.same(await search('Zoë'), ['Zoë Ünal'], 'unicode')
  t.same(await search('東京'), ['עברית 東京 🚀'], 'CJK')
  t.same(await search('🚀'), ['עברית 東京 🚀'], 'astral characters')
  t.same(await search('x'.repeat(200)), [], '200 characters is allowed')
  await refused(t, { method: 'GET', url: `${CONTACTS}?q=${'x'.repeat(201)}` }, 400, 'validation_failed', /q/)

  await t.test('a NUL byte → 4xx, not 500', async (t) => {
    // Threat: a NUL byte (which PostgreSQL text cannot hold) turns into an unhandled database error.
    await refused(t, { method: 'GET', url: `${CONTACTS}?q=${encodeURIComponent('a\u0000b')}` }, 400, 'validation_failed')
    await refused(t, post({ name: 'Nul\u0000Byte' }), 400, 'validation_failed')
    await refused(t, patch({ name: 'Nul\u0000Byte' }), 400, 'validation_failed')
    t.equal((await send({ method: 'GET', url: CONTACTS })).statusCode, 200, 'the service still answers')
  })
})

t.test('no response in this file was a 5xx', async (t) => {
  t.ok(seen.length > 100, `${seen.length} responses checked`)
  t.same(seen.filter((r) => r.status >= 500), [])
})

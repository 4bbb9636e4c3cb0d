// The contacts resource: create, read, list (cursor pagination, search), update, soft delete and
// restore, and the tenant boundary on every route.
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { buildTestApp } from '../helpers/app.js'
import { drizzle } from 'drizzle-orm/node-postgres'
import { activeTenant, addMember, as, assertError, countContacts, createContact, register, sessionToken, type Actor } from '../helpers/actors.js'
import { listQuery } from '../../src/modules/crm/contacts/queries.js'
import * as schema from '../../src/db/schema/index.js'
import { hashToken } from '../../src/crypto/tokens.js'

const ctx = await buildTestApp(t)
const CONTACTS = '/api/crm/contacts'

type Contact = { id: string; name: string; email: string | null; phone: string | null; ownerId: string | null; createdAt: string; updatedAt: string; deletedAt: string | null }

function request(actor: Actor, workspaceId: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  return ctx.app.inject({ method, url, headers: as(actor, workspaceId), ...(payload ? { payload } : {}) })
}

/** Every page of the list, following nextCursor; returns the contacts in order and the page sizes. */
async function listAll(actor: Actor, workspaceId: string, query: string): Promise<{ contacts: Contact[]; pages: number[] }> {
  const contacts: Contact[] = []
  const pages: number[] = []
  let cursor: string | null = null
  do {
    const url: string = `${CONTACTS}?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    const res = await request(actor, workspaceId, 'GET', url)
    if (res.statusCode !== 200) throw new Error(`list: ${res.statusCode} ${res.body}`)
    const body = res.json<{ contacts: Contact[]; nextCursor: string | null }>()
    contacts.push(...body.contacts)
    pages.push(body.contacts.length)
    cursor = body.nextCursor
    if (pages.length > 50) throw new Error('pagination does not end')
  } while (cursor)
  return { contacts, pages }
}

async function superRow(id: string) {
  const [row] = await ctx.sql('select * from contacts where id = $1', [id])
  return row
}

t.test('create', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'Create Co')
  const colleague = await register(ctx, { name: 'Colleague' })
  await addMember(ctx, workspaceId, colleague, 'agent', 'all')

  await t.test('defaults ownerId to the caller', async (t) => {
    const res = await request(owner, workspaceId, 'POST', CONTACTS, { name: '  Ada Lovelace  ', email: 'ada@example.test', phone: '+44 20 7946 0000' })
    t.equal(res.statusCode, 201, res.body)
    const c = res.json().contact as Contact
    t.match(c, { name: 'Ada Lovelace', email: 'ada@example.test', phone: '+44 20 7946 0000', ownerId: owner.id, deletedAt: null })
    t.match(c.id, /^[0-9a-f-]{36}$/)
    t.equal(c.createdAt, c.updatedAt)
    const row = await superRow(c.id)
    t.match(row, { workspace_id: workspaceId, name: 'Ada Lovelace', owner_id: owner.id, created_by: owner.id, deleted_at: null }, 'stored as answered')
  })

  await t.test('an explicit ownerId of another member', async (t) => {
    const res = await request(owner, workspaceId, 'POST', CONTACTS, { name: 'Owned by colleague', ownerId: colleague.id })
    t.equal(res.statusCode, 201, res.body)
    t.equal(res.json().contact.ownerId, colleague.id)
    t.match(await superRow(res.json().contact.id), { owner_id: colleague.id, created_by: owner.id })
  })

  await t.test('an explicit null ownerId leaves the contact unowned', async (t) => {
    const res = await request(owner, workspaceId, 'POST', CONTACTS, { name: 'Unowned', ownerId: null, email: null })
    t.equal(res.statusCode, 201, res.body)
    t.match(res.json().contact, { ownerId: null, email: null })
  })

  await t.test('a member creates too, and owns what they create', async (t) => {
    const res = await request(colleague, workspaceId, 'POST', CONTACTS, { name: 'By member' })
    t.equal(res.statusCode, 201, res.body)
    t.equal(res.json().contact.ownerId, colleague.id)
  })

  await t.test('ownerId of a user who is not a member → 400', async (t) => {
    // Threat: a contact is assigned to (and so exposed to) a user outside the tenant.
    const outsider = await register(ctx)
    const other = await activeTenant(ctx, 'Other Co')
    for (const ownerId of [outsider.id, other.owner.id, randomUUID()]) {
      const before = await countContacts(ctx)
      const res = await request(owner, workspaceId, 'POST', CONTACTS, { name: 'Bad owner', ownerId })
      assertError(t, res, 400, 'validation_failed', /ownerId/)
      t.equal(await countContacts(ctx), before, 'no row added')
    }
  })
})

t.test('get', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'Get Co')
  const created = await createContact(ctx, owner, workspaceId, { name: 'Grace Hopper', email: 'grace@navy.test' })
  const res = await request(owner, workspaceId, 'GET', `${CONTACTS}/${created.id}`)
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), { contact: created }, 'the same representation as on create')

  const unknown = await request(owner, workspaceId, 'GET', `${CONTACTS}/${randomUUID()}`)
  assertError(t, unknown, 404, 'not_found')
})

t.test('list with cursor pagination', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'List Co')
  const created: Contact[] = []
  for (let i = 0; i < 7; i++) created.push((await createContact(ctx, owner, workspaceId, { name: `Contact ${i}` })) as Contact)
  // Distinct creation times, one second apart, so "newest first" is unambiguous.
  for (const [i, c] of created.entries()) {
    await ctx.sql(`update contacts set created_at = now() - make_interval(secs => $2) where id = $1`, [c.id, 100 - i])
  }
  const newestFirst = created.map((c) => c.id).reverse()

  await t.test('limit=3: every contact exactly once, newest first', async (t) => {
    const { contacts, pages } = await listAll(owner, workspaceId, 'limit=3')
    t.same(pages, [3, 3, 1], 'three pages, the last one short')
    t.same(contacts.map((c) => c.id), newestFirst)
    t.equal(new Set(contacts.map((c) => c.id)).size, 7, 'no duplicates')
  })

  await t.test('the first page has a cursor, the last has nextCursor null', async (t) => {
    const first = await request(owner, workspaceId, 'GET', `${CONTACTS}?limit=3`)
    t.type(first.json().nextCursor, 'string')
    const all = await request(owner, workspaceId, 'GET', `${CONTACTS}?limit=7`)
    t.equal(all.json().contacts.length, 7)
    t.equal(all.json().nextCursor, null, 'a page that holds exactly the rest has no next cursor')
    const dflt = await request(owner, workspaceId, 'GET', CONTACTS)
    t.equal(dflt.json().contacts.length, 7, 'the default limit covers them')
    t.equal(dflt.json().nextCursor, null)
  })

  await t.test('ties on created_at are broken by id, still exactly once', async (t) => {
    await ctx.sql(`update contacts set created_at = date_trunc('second', now()) where workspace_id = $1`, [workspaceId])
    const { contacts, pages } = await listAll(owner, workspaceId, 'limit=2')
    t.same(pages, [2, 2, 2, 1])
    t.same(contacts.map((c) => c.id), [...newestFirst].sort().reverse(), 'ordered by id descending within one instant')
  })

  await t.test("another tenant's list does not show them", async (t) => {
    const other = await activeTenant(ctx, 'Other List Co')
    const res = await request(other.owner, other.workspaceId, 'GET', CONTACTS)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { contacts: [], nextCursor: null })
  })
})

t.test('search with q', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'Search Co')
  const names: Record<string, { name: string; email?: string }> = {
    ada: { name: 'Ada Lovelace', email: 'ada@Analytical.test' },
    grace: { name: 'Grace Hopper', email: 'grace@navy.test' },
    percent: { name: '100% Cotton' },
    hundred: { name: '100 Percent' },
    underscore: { name: 'snake_case' },
    letter: { name: 'snakeXcase' },
    backslash: { name: 'back\\slash' },
    plain: { name: 'backslash' },
  }
  const ids: Record<string, string> = {}
  for (const [key, body] of Object.entries(names)) ids[key] = (await createContact(ctx, owner, workspaceId, body)).id

  const search = async (q: string) => {
    const res = await request(owner, workspaceId, 'GET', `${CONTACTS}?q=${encodeURIComponent(q)}`)
    t.equal(res.statusCode, 200, `q=${JSON.stringify(q)}: ${res.body}`)
    return (res.json().contacts as Contact[]).map((c) => c.id).sort()
  }
  const expect = (...keys: string[]) => keys.map((k) => ids[k]!).sort()

  t.same(await search('LOVELACE'), expect('ada'), 'case-insensitive on name')
  t.same(await search('analytical'), expect('ada'), 'case-insensitive on email')
  t.same(await search('NAVY.TEST'), expect('grace'), 'on email')
  t.same(await search('  hopper  '), expect('grace'), 'surrounding spaces are trimmed')
  t.same(await search('%'), expect('percent'), '% is literal, not a wildcard')
  t.same(await search('100%'), expect('percent'))
  t.same(await search('_'), expect('underscore'), '_ is literal, not a wildcard')
  t.same(await search('e_c'), expect('underscore'), '_ does not match X')
  t.same(await search('\\'), expect('backslash'), 'a backslash is literal')
  t.same(await search('k\\s'), expect('backslash'), 'a backslash does not escape the next character')
  t.same(await search('nobody'), [], 'no match')
  t.same((await search('   ')).length, 8, 'a blank q lists everything')
})

t.test('update (PATCH)', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'Update Co')
  const colleague = await register(ctx)
  await addMember(ctx, workspaceId, colleague, 'agent', 'all')
  const c = (await createContact(ctx, owner, workspaceId, { name: 'Alan Turing', email: 'alan@bletchley.test', phone: '+44 1908 640404' })) as Contact

  const phone = await request(owner, workspaceId, 'PATCH', `${CONTACTS}/${c.id}`, { phone: '+44 20 0000 0000' })
  t.equal(phone.statusCode, 200, phone.body)
  t.match(phone.json().contact, { id: c.id, name: 'Alan Turing', email: 'alan@bletchley.test', phone: '+44 20 0000 0000', ownerId: owner.id })
  t.ok(phone.json().contact.updatedAt >= c.updatedAt, 'updatedAt moves forward')
  t.equal(phone.json().contact.createdAt, c.createdAt, 'createdAt does not move')

  const rename = await request(colleague, workspaceId, 'PATCH', `${CONTACTS}/${c.id}`, { name: '  A. M. Turing ', email: null, ownerId: colleague.id })
  t.equal(rename.statusCode, 200, rename.body)
  t.match(rename.json().contact, { name: 'A. M. Turing', email: null, phone: '+44 20 0000 0000', ownerId: colleague.id })
  t.match(await superRow(c.id), { name: 'A. M. Turing', email: null, phone: '+44 20 0000 0000', owner_id: colleague.id })

  const before = await superRow(c.id)
  const badOwner = await request(owner, workspaceId, 'PATCH', `${CONTACTS}/${c.id}`, { ownerId: (await register(ctx)).id })
  assertError(t, badOwner, 400, 'validation_failed', /ownerId/)
  t.same(await superRow(c.id), before, 'a refused update changes nothing')

  const unknown = await request(owner, workspaceId, 'PATCH', `${CONTACTS}/${randomUUID()}`, { name: 'x' })
  assertError(t, unknown, 404, 'not_found')
})

t.test('soft delete and restore', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx, 'Delete Co')
  const admin = await register(ctx)
  const member = await register(ctx)
  await addMember(ctx, workspaceId, admin, 'admin')
  await addMember(ctx, workspaceId, member, 'agent', 'all')
  const keep = await createContact(ctx, owner, workspaceId, { name: 'Keeper' })
  const c = await createContact(ctx, owner, workspaceId, { name: 'Doomed' })
  const url = `${CONTACTS}/${c.id}`

  await t.test('DELETE → 204, then hidden but still stored', async (t) => {
    const del = await request(member, workspaceId, 'DELETE', url)
    t.equal(del.statusCode, 204, del.body)
    t.equal(del.body, '', 'no body')
    assertError(t, await request(owner, workspaceId, 'GET', url), 404, 'not_found')
    const list = await request(owner, workspaceId, 'GET', CONTACTS)
    t.same(list.json().contacts.map((x: Contact) => x.id), [keep.id], 'excluded from the list')
    const row = await superRow(c.id)
    t.ok(row, 'the row is still there')
    t.ok(row!.deleted_at instanceof Date, 'with deleted_at set')
    assertError(t, await request(owner, workspaceId, 'DELETE', url), 404, 'not_found', /contact/i)
    assertError(t, await request(owner, workspaceId, 'PATCH', url, { name: 'Zombie' }), 404, 'not_found')
    t.equal((await superRow(c.id))!.name, 'Doomed', 'a deleted contact cannot be edited')
  })

  await t.test('a member cannot restore → 403 forbidden', async (t) => {
    // Threat: a plain member undoes a deletion that only admins may undo.
    const res = await request(member, workspaceId, 'POST', `${url}/restore`)
    assertError(t, res, 403, 'forbidden', /contacts:restore/)
    t.ok((await superRow(c.id))!.deleted_at, 'still deleted')
  })

  await t.test('the owner restores → 200', async (t) => {
    const res = await request(owner, workspaceId, 'POST', `${url}/restore`)
    t.equal(res.statusCode, 200, res.body)
    t.match(res.json().contact, { id: c.id, name: 'Doomed', deletedAt: null })
    t.equal((await superRow(c.id))!.deleted_at, null)
    t.equal((await request(owner, workspaceId, 'GET', url)).statusCode, 200, 'visible again')
  })

  await t.test('restoring a live contact → 409 conflict', async (t) => {
    assertError(t, await request(owner, workspaceId, 'POST', `${url}/restore`), 409, 'conflict')
  })

  await t.test('an admin restores → 200', async (t) => {
    t.equal((await request(owner, workspaceId, 'DELETE', url)).statusCode, 204)
    const res = await request(admin, workspaceId, 'POST', `${url}/restore`)
    t.equal(res.statusCode, 200, res.body)
    t.equal(res.json().contact.deletedAt, null)
  })

  await t.test('restoring an unknown id → 404', async (t) => {
    assertError(t, await request(owner, workspaceId, 'POST', `${CONTACTS}/${randomUUID()}/restore`), 404, 'not_found')
  })
})

t.test('cross-tenant access by id', async (t) => {
  // Threat: a member of tenant B reads, edits, deletes or restores tenant A's contact by guessing its id.
  const a = await activeTenant(ctx, 'Tenant A')
  const b = await activeTenant(ctx, 'Tenant B')
  const live = await createContact(ctx, a.owner, a.workspaceId, { name: 'A secret', email: 'secret@a.test' })
  const deleted = await createContact(ctx, a.owner, a.workspaceId, { name: 'A deleted' })
  t.equal((await request(a.owner, a.workspaceId, 'DELETE', `${CONTACTS}/${deleted.id}`)).statusCode, 204)
  const before = await ctx.sql('select * from contacts where workspace_id = $1 order by id', [a.workspaceId])

  const attempts: [string, 'GET' | 'POST' | 'PATCH' | 'DELETE', string, object?][] = []
  for (const id of [live.id, deleted.id]) {
    attempts.push(
      ['GET', 'GET', `${CONTACTS}/${id}`],
      ['PATCH', 'PATCH', `${CONTACTS}/${id}`, { name: 'pwned' }],
      ['DELETE', 'DELETE', `${CONTACTS}/${id}`],
      ['restore', 'POST', `${CONTACTS}/${id}/restore`],
    )
  }

  await t.test("in B's own workspace → 404 not_found on every route", async (t) => {
    for (const [label, method, url, payload] of attempts) {
      const res = await request(b.owner, b.workspaceId, method, url, payload)
      assertError(t, res, 404, 'not_found', undefined)
      t.notMatch(res.body, /A secret|secret@a\.test/, `${label} leaks nothing`)
    }
    const list = await request(b.owner, b.workspaceId, 'GET', CONTACTS)
    t.same(list.json().contacts, [], "B's list is empty")
  })

  await t.test("naming A's workspace → 403 not_a_member on every route", async (t) => {
    for (const [, method, url, payload] of [...attempts, ['list', 'GET', CONTACTS] as const, ['create', 'POST', CONTACTS, { name: 'x' }] as const]) {
      const res = await request(b.owner, a.workspaceId, method, url, payload)
      assertError(t, res, 403, 'not_a_member')
    }
  })

  t.same(await ctx.sql('select * from contacts where workspace_id = $1 order by id', [a.workspaceId]), before, "A's rows are unchanged")
  t.equal(await countContacts(ctx, b.workspaceId), 0, 'nothing was created in B either')
})

t.test('a page of the list reads its rows from the index, in order, without sorting the workspace', async (t) => {
  // Threat: a list that sorts the whole workspace gets slower with every contact, until a large
  // tenant's listing is a denial of service for everyone on the database.
  const { owner, workspaceId } = await activeTenant(ctx, 'Big list')
  const base = new Date().toISOString()
  await ctx.sql(
    `insert into contacts (workspace_id, name, owner_id, created_by, created_at)
     select $1, 'Bulk ' || g, $2, $2, $3::timestamptz - g * interval '1 second' from generate_series(1, 2000) g`,
    [workspaceId, owner.id, base],
  )
  // An agent who owns a few of them.
  const agent = await register(ctx)
  await addMember(ctx, workspaceId, agent, 'agent')
  await ctx.sql(
    `insert into contacts (workspace_id, name, owner_id, created_by, created_at)
     select $1, 'Agent ' || g, $2, $2, $3::timestamptz - g * interval '1 second' + interval '500 milliseconds' from generate_series(1, 40) g`,
    [workspaceId, agent.id, base],
  )
  await ctx.sql('analyze contacts')
  const client = await ctx.pools.runtime.connect()
  try {
    const db = drizzle(client, { schema })
    // (A search filters by a pattern the index cannot serve: the planner may rightly choose to
    // sort what matches. Searching large tenants fast wants a trigram index; not built.)
    // An agent's list (scope 'own') reads only their own contacts, from the owner index.
    for (const [search, cursor, scope, index] of [
      [false, false, 'all', 'contacts_workspace_created_idx'],
      [false, true, 'all', 'contacts_workspace_created_idx'],
      [false, false, 'own', 'contacts_owner_created_idx'],
      [false, true, 'own', 'contacts_owner_created_idx'],
    ] as const) {
      const built = listQuery(db, search, cursor, scope).toSQL()
      const values = built.params.map((p) => {
        const name = (p as { name?: string }).name
        return name === 'workspaceId' ? workspaceId : name === 'limit' ? 51 : name === 'userId' ? agent.id : name === 'afterId' ? randomUUID() : name === 'afterCreatedAt' ? new Date().toISOString() : p
      })
      await client.query('begin')
      await client.query('select * from app.begin_request($1, $2)', [hashToken(sessionToken(ctx, owner.cookie)), workspaceId])
      const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(`explain (format json) ${built.sql}`, values)
      await client.query('rollback')
      const plan = JSON.stringify(rows[0]!['QUERY PLAN'])
      const label = `scope ${scope}, search ${search}, cursor ${cursor}`
      t.match(plan, new RegExp(`"Index Name":"${index}"`), `${label}: ${index}`)
      // (Their own few the planner may rightly fetch and sort: it never sorts the workspace.)
      if (scope === 'all') t.notMatch(plan, /"Node Type":"Sort"/, `${label}: no sort`)
    }
  } finally {
    client.release()
  }
  const first = await request(owner, workspaceId, 'GET', `${CONTACTS}?limit=3`)
  t.same(first.json().contacts.map((c: Contact) => c.name), ['Agent 1', 'Bulk 1', 'Agent 2'], 'newest first')
  const mine = await request(agent, workspaceId, 'GET', `${CONTACTS}?limit=3`)
  t.same(mine.json().contacts.map((c: Contact) => c.name), ['Agent 1', 'Agent 2', 'Agent 3'], "an agent's own, newest first")
})

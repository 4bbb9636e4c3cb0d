// The tenant boundary of the audit API: one workspace's log and record histories are invisible
// from another, whatever the filters, cursors or ids say.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, as, assertError, createContact } from '../helpers/actors.js'
import { auditIds, listAll } from '../helpers/audit.js'

const ctx = await buildTestApp(t)
const LOG = '/api/workspace/audit-log'

const a = await activeTenant(ctx, 'Tenant A')
const b = await activeTenant(ctx, 'Tenant B')
const aContact = await createContact(ctx, a.owner, a.workspaceId, { name: 'Secret Lead', email: 'lead@a.test' })
const patched = await ctx.app.inject({
  method: 'PATCH',
  url: `/api/crm/contacts/${aContact.id}`,
  headers: as(a.owner, a.workspaceId),
  payload: { name: 'Secret Lead (hot)' },
})
if (patched.statusCode !== 200) throw new Error(`patch: ${patched.statusCode} ${patched.body}`)
const bContact = await createContact(ctx, b.owner, b.workspaceId, { name: 'B Contact' })

t.test("another tenant's entries are invisible", async (t) => {
  // Threat: one tenant reads another's audit trail: its people, their IPs, its records' before/after.
  const aIds = await auditIds(ctx, a.workspaceId)
  t.ok(aIds.length >= 3, "A's chain holds A's membership and contact rows")

  await t.test("B's log is exactly B's chain", async (t) => {
    const { entries } = await listAll(ctx, as(b.owner, b.workspaceId), LOG, 'limit=1')
    t.same(entries.map((e) => e.id), await auditIds(ctx, b.workspaceId), "B's rows, each once")
    t.same(entries.map((e) => e.action).sort(), ['contact.create', 'membership.create'])
    const text = JSON.stringify(entries)
    for (const secret of [a.workspaceId, a.owner.id, aContact.id, 'Secret Lead', ...aIds]) {
      t.notOk(text.includes(secret), `nothing of A's (${secret.slice(0, 8)}…) in B's log`)
    }
  })

  await t.test("filters naming A's records or people find nothing", async (t) => {
    for (const query of [`entity=contact:${aContact.id}`, `actorId=${a.owner.id}`, `entity=membership:${a.owner.id}`, `entity=workspace:${a.workspaceId}`]) {
      const res = await ctx.app.inject({ method: 'GET', url: `${LOG}?${query}`, headers: as(b.owner, b.workspaceId) })
      t.equal(res.statusCode, 200, res.body)
      t.same(res.json(), { entries: [], nextCursor: null }, query)
    }
  })

  await t.test("a cursor from A's log pages B's log only", async (t) => {
    const first = await ctx.app.inject({ method: 'GET', url: `${LOG}?limit=1`, headers: as(a.owner, a.workspaceId) })
    const cursor = first.json().nextCursor as string
    t.type(cursor, 'string')
    const res = await ctx.app.inject({ method: 'GET', url: `${LOG}?cursor=${cursor}`, headers: as(b.owner, b.workspaceId) })
    t.equal(res.statusCode, 200, res.body)
    const bIds = new Set(await auditIds(ctx, b.workspaceId))
    t.ok(res.json().entries.every((e: { id: string }) => bIds.has(e.id)), "only B's rows")
  })

  await t.test("B asking for A's contact history → 404, as for an unknown id", async (t) => {
    const res = await ctx.app.inject({ method: 'GET', url: `/api/crm/contacts/${aContact.id}/history`, headers: as(b.owner, b.workspaceId) })
    assertError(t, res, 404, 'not_found')
    const own = await ctx.app.inject({ method: 'GET', url: `/api/crm/contacts/${bContact.id}/history`, headers: as(b.owner, b.workspaceId) })
    t.equal(own.statusCode, 200, 'while its own contact answers')
    t.same(own.json().entries.map((e: { action: string }) => e.action), ['contact.create'])
  })

  await t.test("B naming A's workspace → 403 not_a_member", async (t) => {
    assertError(t, await ctx.app.inject({ method: 'GET', url: LOG, headers: as(b.owner, a.workspaceId) }), 403, 'not_a_member')
    const history = await ctx.app.inject({ method: 'GET', url: `/api/crm/contacts/${aContact.id}/history`, headers: as(b.owner, a.workspaceId) })
    assertError(t, history, 403, 'not_a_member')
  })

  t.same(await auditIds(ctx, a.workspaceId), aIds, "reading changed nothing in A's chain")
})

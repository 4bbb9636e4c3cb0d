// The database's own approval and trial gate (invariant 5): restrictive write policies built on
// app.current_workspace_writable(), so a route that skips the HTTP gate hooks still cannot write
// to a pending, rejected, suspended or expired workspace, while its members can still read.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  appendOnly,
  asTenant,
  pgError,
  restrictiveViolation,
  rows,
  seedTenant,
  seedUser,
  type Tenant,
  type TenantState,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

// Every table keyed by workspace_id, from the catalogue, so a new tenant table is gated here too;
// append-only tables (the audit log) have no write policies at all and are tested in audit.test.ts.
const tenantTables = (
  await rows<{ name: string }>(
    su,
    `select c.oid::regclass::text as name from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
       join pg_attribute a on a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped
      where n.nspname = 'public' and c.relkind in ('r', 'p') and not ${appendOnly('c')} order by 1`,
  )
).map((r) => r.name)

// Per table: a column the runtime may UPDATE (workspace_id if it may), and whether it may DELETE.
const privileges = new Map<string, { column: string | undefined; deletable: boolean }>()
for (const table of tenantTables) {
  const columns = await rows<{ name: string }>(
    su,
    `select a.attname as name from pg_attribute a
      where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped
        and has_column_privilege('app_runtime', a.attrelid, a.attnum, 'UPDATE')
      order by a.attname <> 'workspace_id', a.attnum`,
    [table],
  )
  const [deletable] = await rows<{ ok: boolean }>(su, `select has_table_privilege('app_runtime', $1::regclass, 'DELETE') as ok`, [table])
  privileges.set(table, { column: columns[0]?.name, deletable: deletable!.ok })
}

const member = (tenant: Tenant) => ({ workspaceId: tenant.workspaceId, userId: tenant.ownerId })
const snapshot = async (tenant: Tenant) => {
  const out: Record<string, unknown[]> = {}
  for (const table of tenantTables) {
    out[table] = await rows(su, `select * from ${table} where workspace_id = $1 order by 1, 2`, [tenant.workspaceId])
  }
  return out
}

const closed: Array<[string, TenantState]> = [
  ['pending approval', { status: 'pending_approval' }],
  ['rejected', { status: 'rejected' }],
  ['suspended', { status: 'suspended' }],
  ['active with an expired trial and no billing', { status: 'active', trialDays: -1, billing: 'none' }],
  ['active with an expired trial and billing past due', { status: 'active', trialDays: -1, billing: 'past_due' }],
]

for (const [label, state] of closed) {
  t.test(`a workspace ${label} cannot be written to`, async (t) => {
    // Threat: a route that forgets the approval or trial gate lets a closed workspace keep working.
    // (Non-active workspaces keep a running trial here, so their status alone must close them.)
    const tenant = await seedTenant(su, { trialDays: 14, ...state })
    const outsider = await seedUser(su)
    const before = await snapshot(tenant)

    t.same(
      await pgError(asTenant(runtime, member(tenant), (sql) =>
        sql.query(`insert into contacts (workspace_id, name) values ($1, 'new')`, [tenant.workspaceId]))),
      restrictiveViolation('contacts are added only to an active, paid-up workspace', 'contacts'),
      'insert of a contact is refused',
    )
    t.same(
      await pgError(asTenant(runtime, member(tenant), (sql) =>
        sql.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'member')`, [tenant.workspaceId, outsider]))),
      restrictiveViolation('memberships are added only to an active, paid-up workspace', 'memberships'),
      'insert of a membership is refused',
    )
    await asTenant(runtime, member(tenant), async (sql) => {
      const [read] = await rows<{ n: number }>(sql, 'select count(*)::int as n from contacts')
      t.equal(read!.n, tenant.contactIds.length, 'its contacts can still be read')
      t.equal((await sql.query(`update contacts set name = 'changed'`)).rowCount, 0, 'update of contacts: 0 rows')
      for (const table of tenantTables) {
        // A command the runtime has no privilege for is refused before any policy (invitations
        // are never deleted, and only their revoked_at changes).
        const { column, deletable } = privileges.get(table)!
        if (column) t.equal((await sql.query(`update ${table} set ${column} = ${column}`)).rowCount, 0, `update of ${table}: 0 rows`)
        if (deletable) t.equal((await sql.query(`delete from ${table}`)).rowCount, 0, `delete from ${table}: 0 rows`)
      }
    })
    t.same(await snapshot(tenant), before, 'nothing changed')
  })
}

const open: Array<[string, TenantState]> = [
  ['active with an expired trial and an active subscription', { status: 'active', trialDays: -1, billing: 'active' }],
  ['active within its trial', { status: 'active', trialDays: 14, billing: 'none' }],
]

for (const [label, state] of open) {
  t.test(`a workspace ${label} can be written to`, async (t) => {
    // Threat: the gate is so strict that a paying or trialing workspace is locked out.
    const tenant = await seedTenant(su, state)
    const [changed, deleted] = tenant.contactIds
    const inserted = await asTenant(runtime, member(tenant), async (sql) => {
      const { rows: added } = await sql.query<{ id: string }>(
        `insert into contacts (workspace_id, name) values ($1, 'new') returning id`, [tenant.workspaceId])
      t.equal((await sql.query(`update contacts set name = 'changed' where id = $1`, [changed])).rowCount, 1, 'update: 1 row')
      t.equal((await sql.query('delete from contacts where id = $1', [deleted])).rowCount, 1, 'delete: 1 row')
      return added[0]!.id
    })
    t.same(
      await rows(su, 'select id, name from contacts where workspace_id = $1 order by name, id', [tenant.workspaceId]),
      [
        { id: changed, name: 'changed' },
        { id: inserted, name: 'new' },
      ],
      'the insert, update and delete were committed',
    )
  })
}

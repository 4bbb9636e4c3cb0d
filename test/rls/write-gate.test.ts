// The database's own approval and trial gate (invariant 5): restrictive write policies built on
// app.current_workspace_writable(), so a route that skips the HTTP gate hooks still cannot write
// to a pending, rejected, suspended or expired workspace, while its members can still read; and
// the same gate inside the privileged functions that write the tenant tables the runtime may not
// (memberships, invitations). As the runtime login with arbitrary SQL and no HTTP in between:
// fixtures are inserted as superuser, every request is opened the real way (app.begin_request
// with a session's token hash), and "nothing changed" is checked as superuser.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  appendOnly,
  inRequest,
  ownerOf,
  permissionDenied,
  pgError,
  restrictiveViolation,
  ROLE_LABEL_SQL,
  rows,
  seedCustomRole,
  seedDepartment,
  seedInvite,
  seedSession,
  seedTenant,
  seedUser,
  tokenHash,
  type PgError,
  type Sql,
  type Tenant,
  type TenantState,
  refusal,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

// Every table keyed by workspace_id, from the catalogue, so a new tenant table is covered here
// too. Append-only tables (the audit log) have no write policies at all and are tested in
// audit.test.ts; request_contexts is keyed by the workspace a connection's request acts in, not
// tenant data, and is not the runtime's to write (isolation.test.ts, privileged.test.ts).
const tenantTables = (
  await rows<{ name: string }>(
    su,
    `select c.oid::regclass::text as name from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
       join pg_attribute a on a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped
      where n.nspname = 'public' and c.relkind in ('r', 'p') and not ${appendOnly('c')}
        and c.oid <> 'public.request_contexts'::regclass
      order by 1`,
  )
).map((r) => r.name)

// Per table, from the catalogue: whether the runtime may INSERT (any column), a column it may
// UPDATE (workspace_id if it may), whether it may DELETE; and the name of its restrictive
// runtime policy per command.
interface Privileges {
  insertable: boolean
  column: string | undefined
  deletable: boolean
  gates: Record<string, string>
}
const privileges = new Map<string, Privileges>()
for (const table of tenantTables) {
  const columns = await rows<{ name: string }>(
    su,
    `select a.attname as name from pg_attribute a
      where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped
        and has_column_privilege('app_runtime', a.attrelid, a.attnum, 'UPDATE')
      order by a.attname <> 'workspace_id', a.attnum`,
    [table],
  )
  const [may] = await rows<{ insertable: boolean; deletable: boolean }>(su,
    `select has_any_column_privilege('app_runtime', $1::regclass, 'INSERT') as insertable,
            has_table_privilege('app_runtime', $1::regclass, 'DELETE') as deletable`, [table])
  const gates = await rows<{ cmd: string; name: string }>(su,
    `select lower(p.cmd) as cmd, p.policyname as name from pg_policies p
      where format('%I.%I', p.schemaname, p.tablename)::regclass = $1::regclass and p.permissive = 'RESTRICTIVE'
        and p.roles = '{app_runtime}' and p.cmd in ('INSERT', 'UPDATE', 'DELETE')
        and concat_ws(' ', p.qual, p.with_check) like '%app.current_workspace_writable()%'`, [table])
  privileges.set(table, { ...may!, column: columns[0]?.name, gates: Object.fromEntries(gates.map((g) => [g.cmd, g.name])) })
}
const runtimeWritable = tenantTables.filter((table) => {
  const p = privileges.get(table)!
  return p.insertable || p.column !== undefined || p.deletable
})
const runtimeReadOnly = tenantTables.filter((table) => !runtimeWritable.includes(table))

// An insert of one row into `table` of `tenant`'s workspace, for every tenant table the runtime
// may insert into: the gate is tested with a real row, not only by its policy's name.
const insertProbes: Record<string, (tenant: Tenant) => [string, unknown[]]> = {
  contacts: (tenant) => [`insert into contacts (workspace_id, name) values ($1, 'new')`, [tenant.workspaceId]],
  channel_credentials: (tenant) => [
    `insert into channel_credentials (workspace_id, type, secrets_encrypted, masked) values ($1, 'resend', '{}', '{}')`, [tenant.workspaceId]],
  workspace_keys: (tenant) => [`insert into workspace_keys (workspace_id, kid, data_key_encrypted) values ($1, 'k1', 'v1.k1.x')`, [tenant.workspaceId]],
}

const snapshot = async (tenant: Tenant) => {
  const out: Record<string, unknown[]> = {}
  for (const table of tenantTables) {
    out[table] = await rows(su, `select * from ${table} where workspace_id = $1 order by 1, 2`, [tenant.workspaceId])
  }
  return out
}

t.test('the catalogue: every tenant table the runtime writes is gated, and the others it cannot write at all', async (t) => {
  // Threat: a tenant table gains a runtime write privilege without the restrictive gate, or memberships and invitations become writable by the runtime again.
  t.ok(tenantTables.includes('contacts') && tenantTables.includes('memberships') && tenantTables.includes('workspace_invites'), 'the catalogue query finds the tenant tables')
  t.same(runtimeWritable, ['channel_credentials', 'contacts', 'workspace_keys'],
    'the runtime writes contacts, channel credentials and a first data key itself')
  t.ok(runtimeReadOnly.includes('memberships'), 'memberships: only through app.change_member_role, app.remove_member, app.accept_invite, app.create_workspace')
  t.ok(runtimeReadOnly.includes('workspace_invites'), 'workspace_invites: only through app.create_invite, app.revoke_invite, app.accept_invite')
  for (const table of runtimeWritable) {
    const p = privileges.get(table)!
    const held = [p.insertable && 'insert', p.column !== undefined && 'update', p.deletable && 'delete'].filter(Boolean).sort()
    t.same(Object.keys(p.gates).sort(), held, `${table}: a restrictive write gate for each command the runtime holds`)
    if (p.insertable) t.ok(insertProbes[table], `${table}: an insert probe below`)
  }
  for (const table of runtimeReadOnly) {
    const [held] = await rows<{ privileges: string[] }>(su,
      `select array(select c from unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) c
                     where has_table_privilege('app_runtime', $1::regclass, c)
                        or (c in ('INSERT', 'UPDATE', 'REFERENCES') and has_any_column_privilege('app_runtime', $1::regclass, c))) as privileges`, [table])
    t.same(held!.privileges, [], `${table}: no runtime privilege but SELECT`)
  }
})

/**
 * A workspace in `state` with, besides its owner, a member to change, an open invitation with its
 * invitee's session, a custom "Viewer" role and a department.
 */
async function seedPeople(state: TenantState) {
  // Non-active workspaces keep a running trial here, so their status alone must close them.
  const tenant = await seedTenant(su, { trialDays: 14, ...state })
  const colleague = await seedUser(su)
  await su.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'agent')`, [tenant.workspaceId, colleague])
  const inviteeId = await seedUser(su)
  const [{ email }] = (await rows<{ email: string }>(su, 'select email from users where id = $1', [inviteeId])) as [{ email: string }]
  const invite = await seedInvite(su, tenant.workspaceId, tenant.ownerId, email)
  const viewerRole = await seedCustomRole(su, tenant.workspaceId)
  const department = await seedDepartment(su, tenant.workspaceId, 'Sales')
  return { tenant, colleague, invite, invitee: await seedSession(su, inviteeId), viewerRole, department }
}

const closed: Array<[string, TenantState, PgError, string]> = [
  ['pending approval', { status: 'pending_approval' }, refusal('GHWPA', 'This workspace is waiting for approval'), 'workspace_pending_approval'],
  ['rejected', { status: 'rejected' }, refusal('GHWRJ', 'This workspace was rejected'), 'workspace_rejected'],
  ['suspended', { status: 'suspended' }, refusal('GHWSU', 'This workspace is suspended'), 'workspace_suspended'],
  ['active with an expired trial and no billing', { status: 'active', trialDays: -1, billing: 'none' },
    refusal('GHTRX', 'The trial has ended; subscribe to keep making changes'), 'trial_expired'],
  ['active with an expired trial and billing past due', { status: 'active', trialDays: -1, billing: 'past_due' },
    refusal('GHTRX', 'The trial has ended; subscribe to keep making changes'), 'trial_expired'],
]

/** The statements that would write each table the runtime may only read: refused by privilege, before any policy. */
const directWrites = (table: string) => [
  `insert into ${table} default values`,
  `update ${table} set workspace_id = workspace_id`,
  `delete from ${table}`,
]

const accept = (sql: Sql, hash: Buffer) => rows(sql, 'select * from app.accept_invite($1)', [hash])

for (const [label, state, gate, acceptOutcome] of closed) {
  t.test(`a workspace ${label} cannot be written to`, async (t) => {
    // Threat: a route that forgets the approval or trial gate (or an injected statement) lets a closed workspace keep working.
    const { tenant, colleague, invite, invitee, viewerRole, department } = await seedPeople(state)
    const inTenant = ownerOf(tenant)
    const before = await snapshot(tenant)

    for (const table of runtimeWritable.filter((table) => privileges.get(table)!.insertable)) {
      const [text, values] = insertProbes[table]!(tenant)
      t.same(
        await pgError(inRequest(runtime, inTenant, (sql) => sql.query(text, values))),
        restrictiveViolation(privileges.get(table)!.gates.insert!, table),
        `insert into ${table} is refused`,
      )
    }
    await inRequest(runtime, inTenant, async (sql) => {
      const [read] = await rows<{ n: number }>(sql, 'select count(*)::int as n from contacts')
      t.equal(read!.n, tenant.contactIds.length, 'its contacts can still be read')
      for (const table of runtimeWritable) {
        const { column, deletable } = privileges.get(table)!
        if (column) t.equal((await sql.query(`update ${table} set ${column} = ${column}`)).rowCount, 0, `update of ${table}: 0 rows`)
        if (deletable) t.equal((await sql.query(`delete from ${table}`)).rowCount, 0, `delete from ${table}: 0 rows`)
      }
    })
    for (const table of runtimeReadOnly) {
      for (const text of directWrites(table)) {
        t.same(await pgError(inRequest(runtime, inTenant, (sql) => sql.query(text))), permissionDenied('table', table), text)
      }
    }

    // The privileged functions that write those tables apply the same gate, with its code.
    const calls: Array<[string, string, unknown[]]> = [
      ['app.change_member_role', 'select app.change_member_role($1, $2)', [colleague, viewerRole]],
      ['app.remove_member (someone else)', 'select app.remove_member($1)', [colleague]],
      ['app.remove_member (leaving)', 'select app.remove_member($1)', [tenant.ownerId]],
      ['app.create_invite', `select id from app.create_invite($1, 'agent', $2, now() + interval '1 day')`, [`new-${tenant.workspaceId}@rls.test`, tokenHash()]],
      ['app.revoke_invite', 'select app.revoke_invite($1)', [invite.id]],
      ['app.create_role', `select id from app.create_role('Auditor', '{contacts:read}')`, []],
      ['app.update_role', `select id from app.update_role($1, 'Reader', null)`, [viewerRole]],
      ['app.delete_role', 'select app.delete_role($1)', [viewerRole]],
      ['app.create_department', `select id from app.create_department('Support', null)`, []],
      ['app.update_department', `select id from app.update_department($1, 'Marketing', false, null)`, [department]],
      ['app.delete_department', 'select app.delete_department($1)', [department]],
    ]
    for (const [name, text, values] of calls) {
      t.same(await pgError(inRequest(runtime, inTenant, (sql) => sql.query(text, values))), gate, `${name} is refused with ${gate.code}`)
    }
    t.same(
      await inRequest(runtime, { session: invitee }, (sql) => accept(sql, invite.hash)),
      [{ outcome: acceptOutcome, workspace_id: null }],
      `app.accept_invite answers ${acceptOutcome}`,
    )
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
    const { tenant, colleague, invite, invitee, viewerRole } = await seedPeople(state)
    const [changed, deleted] = tenant.contactIds
    const inserted = await inRequest(runtime, ownerOf(tenant), async (sql) => {
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

    // Memberships and invitations change through the functions, never directly.
    for (const table of runtimeReadOnly) {
      for (const text of directWrites(table)) {
        t.same(await pgError(inRequest(runtime, ownerOf(tenant), (sql) => sql.query(text))), permissionDenied('table', table), text)
      }
    }
    await inRequest(runtime, ownerOf(tenant), (sql) => sql.query('select app.change_member_role($1, $2)', [colleague, viewerRole]))
    const email = `new-${tenant.workspaceId}@rls.test`
    await inRequest(runtime, ownerOf(tenant), (sql) =>
      sql.query(`select id from app.create_invite($1, 'agent', $2, now() + interval '1 day')`, [email, tokenHash()]))
    t.same(
      await inRequest(runtime, { session: invitee }, (sql) => accept(sql, invite.hash)),
      [{ outcome: 'ok', workspace_id: tenant.workspaceId }],
      'app.accept_invite lets the invitee in',
    )
    t.same(
      (await rows<{ role: string }>(su, `select ${ROLE_LABEL_SQL} as role from memberships m where m.workspace_id = $1`, [tenant.workspaceId]))
        .map((r) => r.role).sort(),
      ['Viewer', 'agent', 'owner'],
      'the role change and the acceptance were committed',
    )
    t.same(await rows(su, 'select role from workspace_invites where workspace_id = $1 and email = $2 and accepted_at is null and revoked_at is null', [tenant.workspaceId, email]),
      [{ role: 'agent' }], 'the invitation was issued')
  })
}

// The audit log (invariant 6, sql/050_audit.sql) as the runtime role, the schema owner and a
// superuser: nobody but a superuser who switches its guard off can change it, every contact change
// lands in it with its actor and request metadata, and each tenant reads only its own rows.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { roleFromUrl } from '../../src/db/migrate.js'
import {
  asTenant,
  auditChain,
  permissionDenied,
  pgError,
  rows,
  seedTenant,
  seedUser,
  type Context,
  type PgError,
  type Tenant,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const owner = await connect(t, db.ownerUrl)
const runtime = await connect(t, db.appUrl)

const a = await seedTenant(su)
const b = await seedTenant(su)

const request = (tenant: Tenant, requestId: string): Context => ({
  workspaceId: tenant.workspaceId,
  userId: tenant.ownerId,
  ip: '203.0.113.7',
  userAgent: 'Gatehouse RLS test/1.0',
  requestId,
})
const appendOnly = (op: string): PgError => ({ code: '42501', message: `the audit log is append-only: ${op} is not allowed` })
const wholeLog = () => rows(su, 'select * from audit_log order by chain_key, chain_seq')

t.test('the runtime role cannot write the audit log', async (t) => {
  // Threat: the service, or SQL injected into it, rewrites or forges its own tenant's history.
  const before = [await wholeLog(), await rows(su, 'select * from audit_chain_heads order by chain_key')]
  const attempts: Array<[string, string]> = [
    ['UPDATE', `update audit_log set action = 'forged'`],
    ['DELETE', 'delete from audit_log'],
    ['TRUNCATE', 'truncate audit_log'],
    ['INSERT', `insert into audit_log (workspace_id, kind, action, db_role, chain_key, chain_seq, hash)
                values ('${a.workspaceId}', 'event', 'forged', 'x', '${a.workspaceId}', 99, sha256(''))`],
  ]
  for (const [op, statement] of attempts) {
    t.same(await pgError(asTenant(runtime, request(a, 'req-write'), (sql) => sql.query(statement))),
      permissionDenied('table', 'audit_log'), `${op} is refused`)
  }
  for (const statement of ['select * from audit_chain_heads', 'update audit_chain_heads set seq = 0', 'delete from audit_chain_heads']) {
    t.same(await pgError(asTenant(runtime, request(a, 'req-heads'), (sql) => sql.query(statement))),
      permissionDenied('table', 'audit_chain_heads'), `${statement.split(' ')[0]!.toUpperCase()} on the chain heads is refused`)
  }
  t.same(
    await pgError(asTenant(runtime, request(a, 'req-append'), (sql) =>
      sql.query(`select app.audit_append($1, 'event', 'forged', null, null, null, null)`, [b.workspaceId]))),
    permissionDenied('function', 'audit_append'),
    'the unchecked append function is not callable',
  )
  t.same([await wholeLog(), await rows(su, 'select * from audit_chain_heads order by chain_key')], before, 'the log and its heads are unchanged')
})

t.test('the schema owner cannot change or remove audit rows', async (t) => {
  // Threat: a migration or a DBA session as the owner quietly edits or empties the history.
  const before = await wholeLog()
  t.equal((await owner.query(`update audit_log set action = 'forged'`)).rowCount, 0, 'UPDATE matches no row (FORCE RLS, no UPDATE policy)')
  t.equal((await owner.query('delete from audit_log')).rowCount, 0, 'DELETE matches no row (FORCE RLS, no DELETE policy)')
  t.same(await pgError(owner.query('truncate audit_log')), appendOnly('TRUNCATE'), 'TRUNCATE raises')
  // The owner may lift FORCE on its own table; the guard triggers still stand in the way.
  for (const [op, statement] of [['UPDATE', `update audit_log set action = 'forged'`], ['DELETE', 'delete from audit_log']]) {
    await owner.query('begin')
    try {
      await owner.query('alter table audit_log no force row level security')
      t.same(await pgError(owner.query(statement!)), appendOnly(op!), `${op} without FORCE raises`)
    } finally {
      await owner.query('rollback')
    }
  }
  t.same(await wholeLog(), before, 'the log is unchanged')
})

t.test('a superuser cannot change audit rows by DML, even in replica mode', async (t) => {
  // Threat: session_replication_role = replica, which silences ordinary triggers, is used to edit the log.
  const before = await wholeLog()
  const attempts: Array<[string, string]> = [
    ['UPDATE', `update audit_log set action = 'forged'`],
    ['DELETE', 'delete from audit_log'],
    ['TRUNCATE', 'truncate audit_log'],
  ]
  for (const replica of [false, true]) {
    for (const [op, statement] of attempts) {
      await su.query('begin')
      try {
        if (replica) await su.query('set local session_replication_role = replica')
        t.same(await pgError(su.query(statement)), appendOnly(op), `${op}${replica ? ' in replica mode' : ''} raises`)
      } finally {
        await su.query('rollback')
      }
    }
  }
  t.same(await wholeLog(), before, 'the log is unchanged')
})

t.test('contact changes are recorded with their actor and request metadata', async (t) => {
  // Threat: a change to a business record leaves no trace, or a trace that does not say who, from where, in which request.
  const id = await asTenant(runtime, request(a, 'req-create'), async (sql) =>
    (await rows<{ id: string }>(sql, `insert into contacts (workspace_id, name, email) values ($1, 'Ada', 'ada@example.test') returning id`,
      [a.workspaceId]))[0]!.id)
  await asTenant(runtime, request(a, 'req-update'), (sql) => sql.query(`update contacts set name = 'Ada Lovelace' where id = $1`, [id]))
  await asTenant(runtime, request(a, 'req-noop'), (sql) => sql.query('update contacts set name = name where id = $1', [id]))
  await asTenant(runtime, request(a, 'req-delete'), (sql) => sql.query('update contacts set deleted_at = now() where id = $1', [id]))
  await asTenant(runtime, request(a, 'req-restore'), (sql) => sql.query('update contacts set deleted_at = null where id = $1', [id]))

  const history = (await auditChain(su, a.workspaceId)).filter((r) => r.entity_id === id)
  t.same(history.map((r) => [r.action, r.request_id]), [
    ['contact.create', 'req-create'],
    ['contact.update', 'req-update'],
    ['contact.delete', 'req-delete'],
    ['contact.restore', 'req-restore'],
  ], 'create, update, soft delete and restore, in order; the no-op update recorded nothing')
  for (const r of history) {
    t.match(r, {
      workspace_id: a.workspaceId, kind: 'change', entity_type: 'contact', actor_user_id: a.ownerId,
      ip: '203.0.113.7', user_agent: 'Gatehouse RLS test/1.0', db_role: roleFromUrl(db.appUrl),
    }, `${r.action}: actor, workspace and request metadata`)
  }
  const [create, update, del, restore] = history
  t.equal(create!.before, null, 'create: no before')
  t.match(create!.after, { id, workspace_id: a.workspaceId, name: 'Ada', email: 'ada@example.test', deleted_at: null }, 'create: the new row')
  t.match([update!.before, update!.after], [{ name: 'Ada' }, { name: 'Ada Lovelace' }], 'update: before and after')
  t.match([del!.before, del!.after], [{ deleted_at: null }, { deleted_at: String }], 'delete: deleted_at set')
  t.match([restore!.before, restore!.after], [{ deleted_at: String }, { deleted_at: null }], 'restore: deleted_at cleared')
})

t.test('membership changes are recorded under the member', async (t) => {
  // Threat: who was let into a workspace, and by whom, leaves no trace.
  const member = await seedUser(su)
  await asTenant(runtime, request(a, 'req-invite'), (sql) =>
    sql.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'member')`, [a.workspaceId, member]))
  const [added] = (await auditChain(su, a.workspaceId)).filter((r) => r.request_id === 'req-invite')
  t.match(added, { action: 'membership.create', entity_type: 'membership', entity_id: member, actor_user_id: a.ownerId, after: { role: 'member' } })
})

t.test('a change with no actor is rejected', async (t) => {
  // Threat: a code path without a signed-in user or API token changes data, and the log cannot say who.
  const before = await rows(su, 'select * from contacts where workspace_id = $1 order by id', [a.workspaceId])
  const noActor = { workspaceId: a.workspaceId, requestId: 'req-anonymous' }
  const unattributed = { code: '42501', message: 'unattributed change to contacts: no actor in this transaction' }
  t.same(await pgError(asTenant(runtime, noActor, (sql) =>
    sql.query(`insert into contacts (workspace_id, name) values ($1, 'ghost')`, [a.workspaceId]))), unattributed, 'insert')
  t.same(await pgError(asTenant(runtime, noActor, (sql) =>
    sql.query(`update contacts set name = 'ghost' where id = $1`, [a.contactIds[0]]))), unattributed, 'update')
  t.same(await pgError(asTenant(runtime, noActor, (sql) =>
    sql.query('delete from contacts where id = $1', [a.contactIds[0]]))), unattributed, 'delete')
  t.same(await rows(su, 'select * from contacts where workspace_id = $1 order by id', [a.workspaceId]), before, 'nothing changed')
})

t.test('secret columns are never copied into the log', async (t) => {
  // Threat: the audit log becomes a second, less guarded copy of password hashes, token hashes and ciphertext.
  const [r] = await rows<{ redacted: unknown }>(su, 'select app.audit_redact($1::jsonb) as redacted', [JSON.stringify({
    id: 'u1', name: 'Ada', email: 'ada@example.test', role: 'member', deleted_at: null,
    password_hash: '$argon2id$v=19$…', token_hash: '\\x00ff', body_encrypted: 'v1:dev1:…', totp_secret: 'JBSWY3DP',
  })])
  t.same(r!.redacted, { id: 'u1', name: 'Ada', email: 'ada@example.test', role: 'member', deleted_at: null })
})

t.test('platform transitions of a workspace are recorded as events in its chain', async (t) => {
  // Threat: a platform admin suspends or reinstates a tenant and the tenant's log does not show it.
  const admin = await seedUser(su)
  await asTenant(runtime, { userId: admin, requestId: 'req-suspend' }, (sql) =>
    sql.query(`select * from app.admin_transition_workspace('suspend', $1, array['active'], 'suspended', 'abuse report', null, true)`,
      [b.workspaceId]))
  const [event] = (await auditChain(su, b.workspaceId)).filter((r) => r.request_id === 'req-suspend')
  t.match(event, {
    kind: 'event', action: 'workspace.suspend', entity_type: 'workspace', entity_id: b.workspaceId, actor_user_id: admin,
    before: { status: 'active', statusReason: null }, after: { status: 'suspended', statusReason: 'abuse report' },
  })
})

t.test('a tenant reads only its own audit rows', async (t) => {
  // Threat: one tenant reads another's history, and with it the other's contacts and members.
  const visible = (ctx: Context) => asTenant(runtime, ctx, (sql) =>
    rows<{ workspace_id: string | null; n: number }>(sql, 'select workspace_id, count(*)::int as n from audit_log group by 1'))
  await asTenant(runtime, { userId: a.ownerId }, (sql) => sql.query(`select app.audit_event('platform.test', null, null, null, null, true)`))
  t.equal((await rows(su, `select 1 from audit_log where workspace_id is null and action = 'platform.test'`)).length, 1, 'a platform event exists')
  const [own] = await rows<{ n: number }>(su, 'select count(*)::int as n from audit_log where workspace_id = $1', [a.workspaceId])
  t.same(await visible(request(a, 'req-read')), [{ workspace_id: a.workspaceId, n: own!.n }], "A's context: all of A's rows, nothing else")
  t.same(await asTenant(runtime, request(a, 'req-read'), (sql) =>
    rows(sql, 'select id from audit_log where workspace_id = $1 or workspace_id is null', [b.workspaceId])), [],
  "B's rows and the platform event are invisible even when asked for")
  t.same(await visible({}), [], 'no context: nothing (and this connection had context a moment ago)')
})

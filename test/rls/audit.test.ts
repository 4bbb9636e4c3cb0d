// The audit log (invariant 6, sql/050_audit.sql) as the runtime role, the schema owner and a
// superuser: nobody but a superuser who switches its guard off can change it, every contact change
// lands in it with its actor and request metadata — taken from the context app.begin_request
// sealed, never from a setting — and each tenant reads only its own rows. Every request is opened
// the real way (app.begin_request with a live session's token hash).
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { roleFromUrl } from '../../src/db/migrate.js'
import {
  auditChain,
  beginRequest,
  inRequest,
  ownerOf,
  permissionDenied,
  pgError,
  plantSettings,
  rows,
  seedSession,
  seedMfa,
  seedTenant,
  seedUser,
  tokenHash,
  type PgError,
  type Request,
  type Sql,
  type Tenant,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const owner = await connect(t, db.ownerUrl)
const runtime = await connect(t, db.appUrl)

const a = await seedTenant(su)
const b = await seedTenant(su)

const IP = '203.0.113.7'
const UA = 'Gatehouse RLS test/1.0'
/** A request of `tenant`'s owner, signed in with their live session, in their workspace. */
const request = (tenant: Tenant, requestId: string): Request => ({ ...ownerOf(tenant), ip: IP, userAgent: UA, requestId })
const appendOnly = (op: string): PgError => ({ code: '42501', message: `the audit log is append-only: ${op} is not allowed` })
const unattributed = (what: string): PgError => ({ code: '42501', message: `unattributed change to ${what}: no actor in this transaction` })
const wholeLog = () => rows(su, 'select * from audit_log order by chain_key, chain_seq')
const wholeHeads = () => rows(su, 'select * from audit_chain_heads order by chain_key')
const emailOf = async (userId: string) => (await rows<{ email: string }>(su, 'select email from users where id = $1', [userId]))[0]!.email

t.test('the runtime role cannot write the audit log', async (t) => {
  // Threat: the service, or SQL injected into it, rewrites or forges its own tenant's history.
  const before = [await wholeLog(), await wholeHeads()]
  const attempts: Array<[string, string]> = [
    ['UPDATE', `update audit_log set action = 'forged'`],
    ['DELETE', 'delete from audit_log'],
    ['TRUNCATE', 'truncate audit_log'],
    ['INSERT', `insert into audit_log (workspace_id, kind, action, db_role, chain_key, chain_seq, hash)
                values ('${a.workspaceId}', 'event', 'forged', 'x', '${a.workspaceId}', 99, sha256(''))`],
  ]
  for (const [op, statement] of attempts) {
    t.same(await pgError(inRequest(runtime, request(a, 'req-write'), (sql) => sql.query(statement))),
      permissionDenied('table', 'audit_log'), `${op} is refused`)
  }
  for (const statement of ['select * from audit_chain_heads', 'update audit_chain_heads set seq = 0', 'delete from audit_chain_heads']) {
    t.same(await pgError(inRequest(runtime, request(a, 'req-heads'), (sql) => sql.query(statement))),
      permissionDenied('table', 'audit_chain_heads'), `${statement.split(' ')[0]!.toUpperCase()} on the chain heads is refused`)
  }
  t.same(
    await pgError(inRequest(runtime, request(a, 'req-append'), (sql) =>
      sql.query(`select app.audit_append($1, 'event', 'forged', null, null, null, null)`, [b.workspaceId]))),
    permissionDenied('function', 'audit_append'),
    'the unchecked append function is not callable',
  )
  t.same([await wholeLog(), await wholeHeads()], before, 'the log and its heads are unchanged')
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
  const id = await inRequest(runtime, request(a, 'req-create'), async (sql) =>
    (await rows<{ id: string }>(sql, `insert into contacts (workspace_id, name, email) values ($1, 'Ada', 'ada@example.test') returning id`,
      [a.workspaceId]))[0]!.id)
  await inRequest(runtime, request(a, 'req-update'), (sql) => sql.query(`update contacts set name = 'Ada Lovelace' where id = $1`, [id]))
  await inRequest(runtime, request(a, 'req-noop'), (sql) => sql.query('update contacts set name = name where id = $1', [id]))
  await inRequest(runtime, request(a, 'req-delete'), (sql) => sql.query('update contacts set deleted_at = now() where id = $1', [id]))
  await inRequest(runtime, request(a, 'req-restore'), (sql) => sql.query('update contacts set deleted_at = null where id = $1', [id]))

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
      ip: IP, user_agent: UA, db_role: roleFromUrl(db.appUrl),
    }, `${r.action}: actor, workspace and request metadata`)
  }
  const [create, update, del, restore] = history
  t.equal(create!.before, null, 'create: no before')
  t.match(create!.after, { id, workspace_id: a.workspaceId, name: 'Ada', email: 'ada@example.test', deleted_at: null }, 'create: the new row')
  t.match([update!.before, update!.after], [{ name: 'Ada' }, { name: 'Ada Lovelace' }], 'update: before and after')
  t.match([del!.before, del!.after], [{ deleted_at: null }, { deleted_at: String }], 'delete: deleted_at set')
  t.match([restore!.before, restore!.after], [{ deleted_at: String }, { deleted_at: null }], 'restore: deleted_at cleared')
})

t.test('attribution comes from the sealed context, never from settings', async (t) => {
  // Threat: SQL injected into the service plants app.user_id, app.token_id, app.acting_as or app.ip so the log names someone else, or nobody.
  const attributionOf = (where: string, value: string) => rows(su,
    `select workspace_id, kind, action, entity_id, actor_user_id, actor_token_id, acting_as_user_id, ip, user_agent, request_id
       from audit_log where ${where} = $1 order by chain_key, chain_seq`, [value])
  const forged = {
    'app.workspace_id': b.workspaceId, 'app.user_id': b.ownerId, 'app.session_id': randomUUID(), 'app.token_id': randomUUID(),
    'app.acting_as': b.ownerId, 'app.ip': '198.51.100.66', 'app.user_agent': 'Forged agent/6.6', 'app.request_id': 'req-forged',
  }
  // A connection of its own, so the session-level forgery dies with it.
  const conn = await connect(t, db.appUrl)
  await plantSettings(conn, forged, true)
  const logBefore = await wholeLog()

  await conn.query('begin')
  let id: string
  try {
    await plantSettings(conn, forged)
    await beginRequest(conn, { ...ownerOf(a), ip: IP, userAgent: UA, requestId: 'req-sealed' })
    await plantSettings(conn, forged)
    t.same(await rows(conn, `select current_setting('app.user_id') as usr, current_setting('app.token_id') as tok, current_setting('app.ip') as ip`),
      [{ usr: b.ownerId, tok: forged['app.token_id'], ip: '198.51.100.66' }], 'the forged settings are in force, before and after begin_request')
    id = (await rows<{ id: string }>(conn, `insert into contacts (workspace_id, name) values ($1, 'Sealed') returning id`, [a.workspaceId]))[0]!.id
    await conn.query(`select app.audit_event('contact.probe', 'contact', $1, null, null, false)`, [id])
    await conn.query('commit')
  } catch (err) {
    await conn.query('rollback')
    throw err
  }
  const sealed = { workspace_id: a.workspaceId, entity_id: id, actor_user_id: a.ownerId, actor_token_id: null, acting_as_user_id: null,
    ip: IP, user_agent: UA, request_id: 'req-sealed' }
  t.same(await attributionOf('request_id', 'req-sealed'), [
    { ...sealed, kind: 'event', action: 'contact.probe' },
    { ...sealed, kind: 'change', action: 'contact.create' },
  ], "both rows name the session's user and begin_request's metadata, no token and no acting-as, in the sealed workspace")

  // A request whose begin_request carried no metadata: the planted ip, user agent and request id do not fill the gap.
  const bare = await inRequest(conn, ownerOf(a), async (sql) => {
    await plantSettings(sql, forged)
    return (await rows<{ id: string }>(sql, `insert into contacts (workspace_id, name) values ($1, 'Bare') returning id`, [a.workspaceId]))[0]!.id
  })
  t.same(await attributionOf('entity_id', bare), [{
    workspace_id: a.workspaceId, kind: 'change', action: 'contact.create', entity_id: bare, actor_user_id: a.ownerId,
    actor_token_id: null, acting_as_user_id: null, ip: null, user_agent: null, request_id: null,
  }], 'no metadata in the request: none in the row')

  // No session at all: the planted user and token make no actor, and no workspace.
  const anonymous = { workspaceId: a.workspaceId, ip: IP, requestId: 'req-planted-only' }
  t.same(await pgError(inRequest(conn, anonymous, async (sql) => {
    await plantSettings(sql, forged)
    return sql.query(`insert into contacts (workspace_id, name) values ($1, 'Nobody')`, [a.workspaceId])
  })), unattributed('contacts'), 'a contact write is refused')
  t.same(await pgError(inRequest(conn, anonymous, async (sql) => {
    await plantSettings(sql, forged)
    return sql.query(`select app.audit_event('platform.forged', null, null, null, null, true)`)
  })), unattributed('the audit log'), 'an event is refused')

  const added = (await wholeLog()).filter((r) => !logBefore.some((o) => o.id === r.id))
  t.same(added.map((r) => [r.action, r.actor_user_id, r.request_id]).sort(), [
    ['contact.create', a.ownerId, null], ['contact.create', a.ownerId, 'req-sealed'], ['contact.probe', a.ownerId, 'req-sealed'],
  ].sort(), 'nothing else reached the log: no row names the forged user or request')
})

t.test('membership changes are recorded under the member, with who let them in', async (t) => {
  // Threat: who was let into a workspace, and by whom, leaves no trace.
  const member = await seedUser(su)
  const memberSession = await seedSession(su, member)
  const email = await emailOf(member)
  const link = tokenHash()
  await inRequest(runtime, request(a, 'req-invite'), (sql) =>
    sql.query(`select id from app.create_invite($1, 'agent', $2, now() + interval '1 day')`, [email, link]))
  const accepted = await inRequest(runtime, { session: memberSession, ip: '198.51.100.23', requestId: 'req-accept' }, (sql) =>
    rows(sql, 'select outcome, workspace_id from app.accept_invite($1)', [link]))
  t.same(accepted, [{ outcome: 'ok', workspace_id: a.workspaceId }], 'the invitation is accepted')
  await inRequest(runtime, request(a, 'req-promote'), (sql) => sql.query(`select app.change_member_role($1, 'admin')`, [member]))

  const chain = await auditChain(su, a.workspaceId)
  const byRequest = (requestId: string) => chain.filter((r) => r.request_id === requestId).map((r) => r.action)
  t.same([byRequest('req-invite'), byRequest('req-accept').sort(), byRequest('req-promote')],
    [['invite.create'], ['invite.update', 'membership.create'], ['membership.update']], 'each step is recorded once')
  const invited = chain.find((r) => r.request_id === 'req-invite')!
  t.match(invited, { kind: 'change', entity_type: 'invite', actor_user_id: a.ownerId, after: { email, role: 'agent', invited_by: a.ownerId } },
    'the invitation, by the owner')
  t.notOk('token_hash' in invited.after!, "the invitation's token hash is not copied into the log")
  t.match(chain.find((r) => r.request_id === 'req-accept' && r.action === 'membership.create'), {
    kind: 'change', entity_type: 'membership', entity_id: member, actor_user_id: member, ip: '198.51.100.23',
    before: null, after: { workspace_id: a.workspaceId, user_id: member, role: 'agent' },
  }, 'the membership, by the member who accepted')
  t.match(chain.find((r) => r.request_id === 'req-promote'), {
    kind: 'change', action: 'membership.update', entity_type: 'membership', entity_id: member, actor_user_id: a.ownerId,
    before: { role: 'agent' }, after: { role: 'admin' },
  }, 'the role change, by the owner')
})

t.test('a change with no actor is rejected', async (t) => {
  // Threat: a code path without a signed-in user or API token changes data, and the log cannot say who.
  const contactsBefore = await rows(su, 'select * from contacts where workspace_id = $1 order by id', [a.workspaceId])
  const logBefore = await wholeLog()
  const [target] = a.contactIds
  const insert = (sql: Sql) => sql.query(`insert into contacts (workspace_id, name) values ($1, 'ghost')`, [a.workspaceId])
  const update = (sql: Sql) => sql.query(`update contacts set name = 'ghost' where id = $1`, [target])
  const remove = (sql: Sql) => sql.query('delete from contacts where id = $1', [target])

  // The runtime with no live session: no actor, and (so) no workspace either.
  const expired = await seedSession(su, a.ownerId, { expiresIn: -60 })
  for (const [label, req] of [
    ['no session', { workspaceId: a.workspaceId, requestId: 'req-anonymous' }],
    ['an expired session', { session: expired, workspaceId: a.workspaceId, requestId: 'req-expired' }],
  ] as Array<[string, Request]>) {
    t.same(await pgError(inRequest(runtime, req, insert)), unattributed('contacts'), `${label}: insert refused`)
    t.equal((await inRequest(runtime, req, update)).rowCount, 0, `${label}: update reaches no row`)
    t.equal((await inRequest(runtime, req, remove)).rowCount, 0, `${label}: delete reaches no row`)
  }

  // The schema owner, with no request, with FORCE lifted so that row-level security lets every
  // statement reach its row: the actor check alone refuses each, at the statement.
  for (const [op, write] of [['insert', insert], ['update', update], ['delete', remove]] as const) {
    await owner.query('begin')
    try {
      await owner.query('alter table contacts no force row level security')
      t.same(await pgError(write(owner)), unattributed('contacts'), `the schema owner: ${op} refused`)
    } finally {
      await owner.query('rollback')
    }
  }
  t.same(await rows(su, 'select * from contacts where workspace_id = $1 order by id', [a.workspaceId]), contactsBefore, 'nothing changed')
  t.same(await wholeLog(), logBefore, 'and nothing was recorded')
})

t.test('secret columns are never copied into the log', async (t) => {
  // Threat: the audit log becomes a second, less guarded copy of password hashes, token hashes and ciphertext.
  const [r] = await rows<{ redacted: unknown }>(su, 'select app.audit_redact($1::jsonb) as redacted', [JSON.stringify({
    id: 'u1', name: 'Ada', email: 'ada@example.test', role: 'agent', deleted_at: null,
    password_hash: '$argon2id$v=19$…', token_hash: '\\x00ff', body_encrypted: 'v1:dev1:…', totp_secret: 'JBSWY3DP',
  })])
  t.same(r!.redacted, { id: 'u1', name: 'Ada', email: 'ada@example.test', role: 'agent', deleted_at: null })
})

t.test('platform transitions of a workspace are recorded as events in its chain', async (t) => {
  // Threat: a platform admin suspends or reinstates a tenant and the tenant's log does not show it.
  const admin = await seedUser(su)
  await su.query('insert into platform_admins (email, user_id, granted_at) select email, id, now() from users where id = $1', [admin])
  await seedMfa(su, admin)
  const adminSession = await seedSession(su, admin, { mfa: true })
  const [done] = await inRequest(runtime, { session: adminSession, ip: IP, requestId: 'req-suspend' }, (sql) =>
    rows(sql, `select outcome, status from app.admin_transition_workspace('suspend', $1, 'abuse report', null)`, [b.workspaceId]))
  t.same(done, { outcome: 'ok', status: 'suspended' }, 'the workspace is suspended')
  const [event] = (await auditChain(su, b.workspaceId)).filter((r) => r.request_id === 'req-suspend')
  t.match(event, {
    kind: 'event', action: 'workspace.suspend', entity_type: 'workspace', entity_id: b.workspaceId, actor_user_id: admin, ip: IP,
    before: { status: 'active', statusReason: null }, after: { status: 'suspended', statusReason: 'abuse report' },
  })
})

t.test('a tenant reads only its own audit rows', async (t) => {
  // Threat: one tenant reads another's history, and with it the other's contacts and members.
  const visible = (req: Request) => inRequest(runtime, req, (sql) =>
    rows<{ workspace_id: string | null; n: number }>(sql, 'select workspace_id, count(*)::int as n from audit_log group by 1'))
  await inRequest(runtime, { session: a.session }, (sql) => sql.query(`select app.audit_event('platform.test', null, null, null, null, true)`))
  t.equal((await rows(su, `select 1 from audit_log where workspace_id is null and action = 'platform.test'`)).length, 1, 'a platform event exists')
  const [own] = await rows<{ n: number }>(su, 'select count(*)::int as n from audit_log where workspace_id = $1', [a.workspaceId])
  t.same(await visible(request(a, 'req-read')), [{ workspace_id: a.workspaceId, n: own!.n }], "A's context: all of A's rows, nothing else")
  t.same(await inRequest(runtime, request(a, 'req-read'), (sql) =>
    rows(sql, 'select id from audit_log where workspace_id = $1 or workspace_id is null', [b.workspaceId])), [],
  "B's rows and the platform event are invisible even when asked for")
  t.same(await visible({ session: a.session, workspaceId: b.workspaceId }), [], "A's session naming B's workspace: nothing")
  t.same(await visible({}), [], 'no context: nothing (and this connection had context a moment ago)')
})

// Tenant isolation as the runtime role (invariant 1): the database, not the handlers, keeps
// tenants apart, and missing context matches nothing. Fixtures are inserted as superuser; every
// request is opened the real way (app.begin_request with a session's token hash), and every
// assertion about what changed is checked as superuser too.
import t from 'tap'
import pg from 'pg'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  inRequest,
  ownerOf,
  permissionDenied,
  pgError,
  rlsViolation,
  rows,
  seedCustomRole,
  seedDepartment,
  seedEmailToken,
  seedMfa,
  seedSession,
  seedInvite,
  seedTenant,
  type Sql,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

const a = await seedTenant(su)
const b = await seedTenant(su)
await seedEmailToken(su, a.ownerId, 'verify_email')
await seedEmailToken(su, b.ownerId, 'reset_password')
await seedMfa(su, a.ownerId)
await seedMfa(su, b.ownerId)
await seedInvite(su, a.workspaceId, a.ownerId)
await seedInvite(su, b.workspaceId, b.ownerId)
const roleOfA = await seedCustomRole(su, a.workspaceId)
const roleOfB = await seedCustomRole(su, b.workspaceId)
const departmentOfA = await seedDepartment(su, a.workspaceId, 'Sales')
const departmentOfB = await seedDepartment(su, b.workspaceId, 'Sales')
for (const tenant of [a, b]) {
  await su.query(`insert into api_tokens (workspace_id, name, token_hash, hint, scopes, created_by)
                  values ($1, 'Integration', sha256(gen_random_uuid()::text::bytea), 'abcd', '{contacts:read}', $2)`, [tenant.workspaceId, tenant.ownerId])
  await su.query(`insert into workspace_keys (workspace_id, kid, data_key_encrypted) values ($1, 'k1', 'v1.k1.iv.body.tag')`, [tenant.workspaceId])
  await su.query(`insert into channel_credentials (workspace_id, type, secrets_encrypted, masked)
                  values ($1, 'telegram', '{"botToken": "v1.w1.iv.body.tag"}', '{"botToken": "••••abcd"}')`, [tenant.workspaceId])
}
const inA = ownerOf(a)
/** A, signed in, naming no workspace. */
const asA = { session: a.session }

const ids = async (sql: Sql, text: string, values?: unknown[]) =>
  (await rows<{ id: string }>(sql, text, values)).map((r) => r.id).sort()
const contactsOf = (workspaceId: string) =>
  rows(su, 'select * from contacts where workspace_id = $1 order by id', [workspaceId])
const membershipsOf = (workspaceId: string) =>
  rows(su, 'select * from memberships where workspace_id = $1 order by user_id', [workspaceId])

t.test('a tenant reads none of another tenant\'s rows', async (t) => {
  // Threat: a query that forgets `where workspace_id = …` returns another tenant's data.
  await inRequest(runtime, inA, async (sql) => {
    t.same(await ids(sql, 'select id from contacts'), [...a.contactIds].sort(), 'an unfiltered select returns only A\'s contacts')
    t.same(await ids(sql, 'select id from contacts where workspace_id = $1', [b.workspaceId]), [], 'B\'s contacts by workspace: none')
    t.same(await ids(sql, 'select id from contacts where id = any($1::uuid[])', [b.contactIds]), [], 'B\'s contacts by id: none')
    t.same(
      await rows(sql, 'select workspace_id, user_id from memberships'),
      [{ workspace_id: a.workspaceId, user_id: a.ownerId }],
      'only A\'s membership',
    )
    t.same(await ids(sql, 'select id from workspaces'), [a.workspaceId], 'only workspace A')
    t.same(await ids(sql, 'select workspace_id as id from workspace_invites'), [a.workspaceId], 'only A\'s invitations')
    t.same(await ids(sql, 'select id from workspace_roles'), [roleOfA], 'only A\'s custom roles')
    t.same(await ids(sql, 'select id from workspace_roles where id = $1', [roleOfB]), [], 'B\'s custom role by id: none')
    t.same(await ids(sql, 'select id from departments'), [departmentOfA], 'only A\'s departments')
    t.same(await ids(sql, 'select id from departments where id = $1', [departmentOfB]), [], 'B\'s department by id: none')
  })
})

t.test('a tenant cannot change or delete another tenant\'s rows', async (t) => {
  // Threat: an UPDATE or DELETE keyed only by id reaches into another tenant.
  const contactsBefore = await contactsOf(b.workspaceId)
  const membershipsBefore = await membershipsOf(b.workspaceId)
  await inRequest(runtime, inA, async (sql) => {
    const updated = await sql.query(`update contacts set name = 'hijacked' where id = any($1::uuid[])`, [b.contactIds])
    t.equal(updated.rowCount, 0, 'update of B\'s contacts: 0 rows')
    t.equal((await sql.query('delete from contacts where workspace_id = $1', [b.workspaceId])).rowCount, 0, 'delete of B\'s contacts: 0 rows')
  })
  // Memberships are not the runtime's to write at all (app.change_member_role, sql/130).
  for (const text of ['update memberships set role = \'admin\' where workspace_id = $1', 'delete from memberships where workspace_id = $1']) {
    t.same(await pgError(inRequest(runtime, inA, (sql) => sql.query(text, [b.workspaceId]))), permissionDenied('table', 'memberships'), text)
  }
  // Nor custom roles and departments (app.update_role, app.update_department and their kin, sql/125, sql/127).
  const rolesBefore = await rows(su, 'select * from workspace_roles where workspace_id = $1 order by id', [b.workspaceId])
  const departmentsBefore = await rows(su, 'select * from departments where workspace_id = $1 order by id', [b.workspaceId])
  for (const table of ['workspace_roles', 'departments']) {
    for (const text of [`update ${table} set name = 'hijacked' where workspace_id = $1`, `delete from ${table} where workspace_id = $1`]) {
      t.same(await pgError(inRequest(runtime, inA, (sql) => sql.query(text, [b.workspaceId]))), permissionDenied('table', table), text)
    }
  }
  t.same(await rows(su, 'select * from workspace_roles where workspace_id = $1 order by id', [b.workspaceId]), rolesBefore, 'B\'s custom roles are unchanged')
  t.same(await rows(su, 'select * from departments where workspace_id = $1 order by id', [b.workspaceId]), departmentsBefore, 'B\'s departments are unchanged')
  t.same(await contactsOf(b.workspaceId), contactsBefore, 'B\'s contacts are unchanged')
  t.same(await membershipsOf(b.workspaceId), membershipsBefore, 'B\'s memberships are unchanged')
})

t.test('a tenant cannot insert into another tenant', async (t) => {
  // Threat: a client-supplied workspace_id plants rows in another tenant.
  const before = await contactsOf(b.workspaceId)
  const membersBefore = await membershipsOf(b.workspaceId)
  t.same(
    await pgError(inRequest(runtime, inA, (sql) => sql.query(`insert into contacts (workspace_id, name) values ($1, 'planted')`, [b.workspaceId]))),
    rlsViolation('contacts'),
  )
  t.same(
    await pgError(inRequest(runtime, inA, (sql) =>
      sql.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'owner')`, [b.workspaceId, a.ownerId]))),
    permissionDenied('table', 'memberships'),
    'nor join it',
  )
  t.same(await contactsOf(b.workspaceId), before, 'B\'s contacts are unchanged')
  t.same(await membershipsOf(b.workspaceId), membersBefore, 'B\'s memberships are unchanged')
})

t.test('a tenant cannot move its row into another tenant', async (t) => {
  // Threat: UPDATE … SET workspace_id hands a row (and its data) to another tenant.
  const [moved] = a.contactIds
  t.same(
    await pgError(inRequest(runtime, inA, (sql) => sql.query('update contacts set workspace_id = $1 where id = $2', [b.workspaceId, moved]))),
    rlsViolation('contacts'),
  )
  t.same(await ids(su, 'select id from contacts where workspace_id = $1', [a.workspaceId]), [...a.contactIds].sort(), 'the row is still A\'s')
})

t.test('a member naming another tenant\'s workspace gets no workspace at all', async (t) => {
  // Threat: the X-Workspace-Id header of a request names a workspace its user is not a member of.
  await inRequest(runtime, { session: a.session, workspaceId: b.workspaceId }, async (sql) => {
    t.same(await rows(sql, 'select app.current_workspace_id() as ws, app.current_user_id() as usr'), [{ ws: null, usr: a.ownerId }], 'signed in, no workspace')
    t.same(await ids(sql, 'select id from contacts'), [], 'neither A\'s nor B\'s contacts')
  })
})

t.test('without context nothing is visible and nothing can be written', async (t) => {
  // Threat: a code path that never set the context sees every tenant (fail open).
  const { rows: tables } = await runtime.query<{ name: string }>(
    `select c.oid::regclass::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p') and has_any_column_privilege(c.oid, 'SELECT') order by 1`,
  )
  t.ok(tables.some((r) => r.name === 'contacts'), 'the readable tables include contacts')
  t.ok(tables.some((r) => r.name === 'users'), '… and users, readable by column')
  for (const { name } of tables) {
    if (name === 'request_contexts') continue // a connection's own context row, below
    const [stored] = await rows<{ n: number }>(su, `select count(*)::int as n from ${name}`)
    t.ok(stored!.n > 0, `${name} has rows to hide`)
    const seen = await inRequest(runtime, {}, (sql) => rows<{ n: number }>(sql, `select count(*)::int as n from ${name}`))
    t.equal(seen[0]!.n, 0, `${name}: no context reads no row`)
  }
  const own = await inRequest(runtime, {}, (sql) =>
    rows(sql, 'select pid = pg_backend_pid() as mine, kind, user_id, workspace_id from request_contexts'))
  t.same(own, [{ mine: true, kind: 'request', user_id: null, workspace_id: null }], 'request_contexts: only this connection\'s own row, naming nobody')

  // Business tables refuse a write with no actor before RLS is consulted (the audit trail's
  // actor check); with an actor but no workspace, RLS refuses it. The rest are not the
  // runtime's to write.
  const unattributed = { code: '42501', message: 'unattributed change to contacts: no actor in this transaction' }
  const insertContact = (sql: Sql) => sql.query(`insert into contacts (workspace_id, name) values ($1, 'x')`, [a.workspaceId])
  t.same(await pgError(inRequest(runtime, {}, insertContact)), unattributed, 'contacts: no context inserts nothing')
  t.same(await pgError(inRequest(runtime, asA, insertContact)), rlsViolation('contacts'), 'contacts: a user but no workspace inserts nothing')
  const denied: Array<[string, string, unknown[]]> = [
    ['memberships', `insert into memberships (workspace_id, user_id, role) values ($1, $2, 'owner')`, [a.workspaceId, b.ownerId]],
    ['users', `insert into users (id, email, name, password_hash) values (gen_random_uuid(), 'nobody@rls.test', 'x', 'x')`, []],
    ['sessions', `insert into sessions (user_id, token_hash, expires_at, idle_timeout_seconds) values ($1, $2, now(), 60)`, [a.ownerId, a.session]],
    ['workspace_roles', `insert into workspace_roles (workspace_id, name, permissions) values ($1, 'Boss', '{members:manage}')`, [a.workspaceId]],
    ['departments', `insert into departments (workspace_id, name) values ($1, 'Planted')`, [a.workspaceId]],
  ]
  for (const [table, text, values] of denied) {
    t.same(await pgError(inRequest(runtime, {}, (sql) => sql.query(text, values))), permissionDenied('table', table), `${table}: not the runtime's to insert`)
  }
  await inRequest(runtime, {}, async (sql) => {
    t.equal((await sql.query(`update contacts set name = 'x'`)).rowCount, 0, 'no context updates nothing')
    t.equal((await sql.query('delete from contacts')).rowCount, 0, 'no context deletes nothing')
  })
  t.equal((await contactsOf(a.workspaceId)).length, a.contactIds.length, 'A\'s contacts are all there')
})

t.test('a pooled backend carries no context into its next transaction', async (t) => {
  // Threat: a connection reused from the pool ("dirty backend") still acts as the previous
  // tenant, in a transaction that forgot app.begin_request.
  const pool = new pg.Pool({ connectionString: db.appUrl, max: 1 })
  t.teardown(() => pool.end())
  const first = await pool.connect()
  const firstPid = await inRequest(first, inA, async (sql) => {
    const [seen] = await rows<{ n: number }>(sql, 'select count(*)::int as n from contacts')
    t.equal(seen!.n, a.contactIds.length, 'the first transaction reads A\'s contacts')
    return (await rows<{ pid: number }>(sql, 'select pg_backend_pid() as pid'))[0]!.pid
  })
  first.release()
  const second = await pool.connect()
  try {
    const state = async () => (await rows<{ pid: number; ws: string | null; usr: string | null; n: number; left: number }>(
      second,
      `select pg_backend_pid() as pid, app.current_workspace_id() as ws, app.current_user_id() as usr,
              (select count(*)::int from contacts) as n,
              (select count(*)::int from request_contexts where user_id is not null) as left`,
    ))[0]!
    t.match(await state(), { pid: firstPid, ws: null, usr: null, n: 0, left: 1 }, 'same backend, its old row still there, but no context and no rows')
    await second.query('begin')
    // A write gives this transaction an id of its own; the old row's stamp is not it.
    await second.query(`insert into email_outbox (to_address, template) values ('x@rls.test', 'probe')`)
    t.match(await state(), { ws: null, usr: null, n: 0 }, 'nor inside a new transaction that has an id')
    await second.query('rollback')
  } finally {
    second.release()
  }
})

t.test('a user reads only their own user row and sessions, and no email token at all', async (t) => {
  // Threat: one signed-in user lists or edits other users' accounts or sessions, or reads a link's hash.
  await inRequest(runtime, asA, async (sql) => {
    t.same(await ids(sql, 'select id from users'), [a.ownerId], 'only their own users row')
    t.same(await ids(sql, 'select user_id as id from sessions'), [a.ownerId], 'only their own session')
    t.equal((await sql.query(`update users set name = 'hijacked' where id = $1`, [b.ownerId])).rowCount, 0, 'cannot rename B')
    t.equal((await sql.query('update sessions set revoked_at = now() where user_id = $1', [b.ownerId])).rowCount, 0, 'cannot revoke B\'s sessions')
  })
  for (const [table, text] of [
    ['users', 'select password_hash from users'],
    ['sessions', 'select token_hash from sessions'],
    ['email_tokens', 'select * from email_tokens'],
  ] as const) {
    t.same(await pgError(inRequest(runtime, asA, (sql) => sql.query(text))), permissionDenied('table', table), `${text}: not even one's own`)
  }
  t.same(
    await pgError(inRequest(runtime, asA, (sql) => sql.query(`update users set password_hash = 'x' where id = $1`, [a.ownerId]))),
    permissionDenied('table', 'users'),
    'not even one\'s own password hash: only app.change_password and app.reset_password write it',
  )
  t.same(
    await rows(su, 'select name, (select count(*)::int from sessions s where s.user_id = u.id and s.revoked_at is not null) as revoked from users u where id = $1', [b.ownerId]),
    [{ name: 'RLS test user', revoked: 0 }],
    'B is unchanged',
  )
})

t.test('the service queues emails it cannot read back', async (t) => {
  // Threat: a compromised handler reads queued emails (which carry other users' tokens).
  const to = `outbox-${a.workspaceId}@rls.test`
  const queued = await inRequest(runtime, {}, (sql) =>
    sql.query(`insert into email_outbox (to_address, template, body_encrypted) values ($1, 'verify_email', 'sealed')`, [to]))
  t.equal(queued.rowCount, 1, 'a pending email is queued')
  t.same(await pgError(inRequest(runtime, inA, (sql) => sql.query('select * from email_outbox'))), permissionDenied('table', 'email_outbox'), 'cannot select')
  t.same(
    await pgError(inRequest(runtime, {}, (sql) =>
      sql.query(`insert into email_outbox (to_address, template) values ($1, 'verify_email') returning body_encrypted`, [to]))),
    permissionDenied('table', 'email_outbox'),
    'cannot read back through RETURNING',
  )
  t.same(
    await pgError(inRequest(runtime, {}, (sql) =>
      sql.query(`insert into email_outbox (to_address, template, status) values ($1, 'verify_email', 'sent')`, [to]))),
    rlsViolation('email_outbox'),
    'cannot queue an email as already sent',
  )
  t.same(await rows(su, 'select status, body_encrypted from email_outbox where to_address = $1', [to]), [{ status: 'pending', body_encrypted: 'sealed' }], 'exactly the pending email is stored')
})

t.test('a revoked session cannot be brought back', async (t) => {
  // Threat: a compromised handler un-revokes a session the user signed out of (or an admin revoked).
  const user = await seedTenant(su)
  await seedSession(su, user.ownerId, { revoked: true })
  t.same(
    await pgError(inRequest(runtime, { session: user.session }, (sql) => sql.query('update sessions set revoked_at = null where user_id = $1', [user.ownerId]))),
    rlsViolation('sessions'),
    'setting revoked_at back to NULL violates the policy',
  )
  t.same(
    await rows(su, 'select count(*)::int as n from sessions where user_id = $1 and revoked_at is not null', [user.ownerId]),
    [{ n: 1 }],
    'the session is still revoked',
  )
})

t.test('a user reads their own MFA settings, and changes no one\'s directly', async (t) => {
  // Threat: a query keyed by another user's id reads their TOTP envelope or disables their MFA;
  // or one riding on the user's own session deletes their MFA or plants a secret.
  await inRequest(runtime, asA, async (sql) => {
    t.same(await rows(sql, 'select user_id from user_mfa'), [{ user_id: a.ownerId }], 'only A\'s MFA row')
    t.same(await rows(sql, 'select user_id, used_at from mfa_backup_codes'), [{ user_id: a.ownerId, used_at: null }], 'only A\'s backup codes, and whether they are used')
  })
  const denied: Array<[string, string, unknown[]]> = [
    ['user_mfa', 'update user_mfa set last_used_step = 1 where user_id = $1', [a.ownerId]],
    ['user_mfa', 'delete from user_mfa where user_id = $1', [a.ownerId]],
    ['user_mfa', `insert into user_mfa (user_id, secret_encrypted) values ($1, 'x')`, [b.ownerId]],
    ['mfa_backup_codes', 'select code_hash from mfa_backup_codes where user_id = $1', [a.ownerId]],
    ['mfa_backup_codes', 'update mfa_backup_codes set used_at = now() where user_id = $1', [a.ownerId]],
    ['mfa_backup_codes', 'delete from mfa_backup_codes where user_id = $1', [a.ownerId]],
    ['mfa_challenges', `insert into mfa_challenges (user_id, token_hash, expires_at) values ($1, $2, now())`, [a.ownerId, Buffer.alloc(32)]],
    ['mfa_challenges', 'select * from mfa_challenges', []],
  ]
  for (const [table, text, values] of denied) {
    t.same(await pgError(inRequest(runtime, asA, (sql) => sql.query(text, values))), permissionDenied('table', table), text)
  }
  const mfa = await rows(su, 'select user_id, enabled_at is not null as enabled, last_used_step as step from user_mfa order by user_id')
  t.same(mfa.map((r) => ({ ...r })), [a.ownerId, b.ownerId].sort().map((id) => ({ user_id: id, enabled: true, step: null })), 'both users\' MFA is unchanged')
  t.same(await rows(su, 'select count(*)::int as n from mfa_backup_codes where used_at is null'), [{ n: 2 }], 'every backup code unused')
})

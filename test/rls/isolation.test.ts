// Tenant isolation as the runtime role (invariant 1): the database, not the handlers, keeps
// tenants apart, and missing context matches nothing. Fixtures are inserted as superuser; every
// assertion about what changed is checked as superuser too.
import t from 'tap'
import pg from 'pg'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  asTenant,
  permissionDenied,
  pgError,
  rlsViolation,
  rows,
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
const sessionA = await seedSession(su, a.ownerId)
await seedSession(su, b.ownerId)
await seedEmailToken(su, a.ownerId, 'verify_email')
await seedEmailToken(su, b.ownerId, 'reset_password')
await seedMfa(su, a.ownerId)
await seedMfa(su, b.ownerId)
await seedInvite(su, a.workspaceId, a.ownerId)
await seedInvite(su, b.workspaceId, b.ownerId)
const inA = { workspaceId: a.workspaceId, userId: a.ownerId }

const ids = async (sql: Sql, text: string, values?: unknown[]) =>
  (await rows<{ id: string }>(sql, text, values)).map((r) => r.id).sort()
const contactsOf = (workspaceId: string) =>
  rows(su, 'select * from contacts where workspace_id = $1 order by id', [workspaceId])
const membershipsOf = (workspaceId: string) =>
  rows(su, 'select * from memberships where workspace_id = $1 order by user_id', [workspaceId])

t.test('a tenant reads none of another tenant\'s rows', async (t) => {
  // Threat: a query that forgets `where workspace_id = …` returns another tenant's data.
  await asTenant(runtime, inA, async (sql) => {
    t.same(await ids(sql, 'select id from contacts'), [...a.contactIds].sort(), 'an unfiltered select returns only A\'s contacts')
    t.same(await ids(sql, 'select id from contacts where workspace_id = $1', [b.workspaceId]), [], 'B\'s contacts by workspace: none')
    t.same(await ids(sql, 'select id from contacts where id = any($1::uuid[])', [b.contactIds]), [], 'B\'s contacts by id: none')
    t.same(
      await rows(sql, 'select workspace_id, user_id from memberships'),
      [{ workspace_id: a.workspaceId, user_id: a.ownerId }],
      'only A\'s membership',
    )
    t.same(await ids(sql, 'select id from workspaces'), [a.workspaceId], 'only workspace A')
  })
})

t.test('a tenant cannot change or delete another tenant\'s rows', async (t) => {
  // Threat: an UPDATE or DELETE keyed only by id reaches into another tenant.
  const contactsBefore = await contactsOf(b.workspaceId)
  const membershipsBefore = await membershipsOf(b.workspaceId)
  await asTenant(runtime, inA, async (sql) => {
    const updated = await sql.query(`update contacts set name = 'hijacked' where id = any($1::uuid[])`, [b.contactIds])
    t.equal(updated.rowCount, 0, 'update of B\'s contacts: 0 rows')
    const moved = await sql.query('update memberships set role = $1 where workspace_id = $2', ['admin', b.workspaceId])
    t.equal(moved.rowCount, 0, 'update of B\'s memberships: 0 rows')
    t.equal((await sql.query('delete from contacts where workspace_id = $1', [b.workspaceId])).rowCount, 0, 'delete of B\'s contacts: 0 rows')
    t.equal((await sql.query('delete from memberships where workspace_id = $1', [b.workspaceId])).rowCount, 0, 'delete of B\'s memberships: 0 rows')
  })
  t.same(await contactsOf(b.workspaceId), contactsBefore, 'B\'s contacts are unchanged')
  t.same(await membershipsOf(b.workspaceId), membershipsBefore, 'B\'s memberships are unchanged')
})

t.test('a tenant cannot insert into another tenant', async (t) => {
  // Threat: a client-supplied workspace_id plants rows in another tenant.
  const before = await contactsOf(b.workspaceId)
  const membersBefore = await membershipsOf(b.workspaceId)
  t.same(
    await pgError(asTenant(runtime, inA, (sql) => sql.query(`insert into contacts (workspace_id, name) values ($1, 'planted')`, [b.workspaceId]))),
    rlsViolation('contacts'),
  )
  t.same(
    await pgError(asTenant(runtime, inA, (sql) =>
      sql.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'owner')`, [b.workspaceId, a.ownerId]))),
    rlsViolation('memberships'),
    'nor join it',
  )
  t.same(await contactsOf(b.workspaceId), before, 'B\'s contacts are unchanged')
  t.same(await membershipsOf(b.workspaceId), membersBefore, 'B\'s memberships are unchanged')
})

t.test('a tenant cannot move its row into another tenant', async (t) => {
  // Threat: UPDATE … SET workspace_id hands a row (and its data) to another tenant.
  const [moved] = a.contactIds
  t.same(
    await pgError(asTenant(runtime, inA, (sql) => sql.query('update contacts set workspace_id = $1 where id = $2', [b.workspaceId, moved]))),
    rlsViolation('contacts'),
  )
  t.same(await ids(su, 'select id from contacts where workspace_id = $1', [a.workspaceId]), [...a.contactIds].sort(), 'the row is still A\'s')
})

t.test('without context nothing is visible and nothing can be written', async (t) => {
  // Threat: a code path that never set the context sees every tenant (fail open).
  const { rows: tables } = await runtime.query<{ name: string }>(
    `select c.oid::regclass::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p') and has_table_privilege(c.oid, 'SELECT') order by 1`,
  )
  t.ok(tables.some((r) => r.name === 'contacts'), 'the readable tables include contacts')
  for (const { name } of tables) {
    const [stored] = await rows<{ n: number }>(su, `select count(*)::int as n from ${name}`)
    t.ok(stored!.n > 0, `${name} has rows to hide`)
    const seen = await asTenant(runtime, {}, (sql) => rows<{ n: number }>(sql, `select count(*)::int as n from ${name}`))
    t.equal(seen[0]!.n, 0, `${name}: no context reads no row`)
  }
  const writes: Array<[string, string, unknown[]]> = [
    ['contacts', `insert into contacts (workspace_id, name) values ($1, 'x')`, [a.workspaceId]],
    ['memberships', `insert into memberships (workspace_id, user_id, role) values ($1, $2, 'owner')`, [a.workspaceId, b.ownerId]],
    ['users', `insert into users (id, email, name, password_hash) values (gen_random_uuid(), 'nobody@rls.test', 'x', 'x')`, []],
    ['sessions', `insert into sessions (user_id, token_hash, expires_at, idle_timeout_seconds) values ($1, $2, now(), 60)`, [a.ownerId, sessionA]],
  ]
  // Business tables refuse a write with no actor before RLS is consulted (the audit trail's
  // actor check); with an actor but no workspace, RLS refuses it.
  const unattributed = (table: string) => ({ code: '42501', message: `unattributed change to ${table}: no actor in this transaction` })
  for (const [table, text, values] of writes) {
    const business = table === 'contacts' || table === 'memberships'
    t.same(
      await pgError(asTenant(runtime, {}, (sql) => sql.query(text, values))),
      business ? unattributed(table) : rlsViolation(table),
      `${table}: no context inserts nothing`,
    )
    if (business) {
      t.same(
        await pgError(asTenant(runtime, { userId: a.ownerId }, (sql) => sql.query(text, values))),
        rlsViolation(table),
        `${table}: a user but no workspace context inserts nothing`,
      )
    }
  }
  await asTenant(runtime, {}, async (sql) => {
    t.equal((await sql.query(`update contacts set name = 'x'`)).rowCount, 0, 'no context updates nothing')
    t.equal((await sql.query('delete from contacts')).rowCount, 0, 'no context deletes nothing')
  })
  t.equal((await contactsOf(a.workspaceId)).length, a.contactIds.length, 'A\'s contacts are all there')
})

t.test('a pooled backend carries no context into its next transaction', async (t) => {
  // Threat: a connection reused from the pool ("dirty backend") still acts as the previous tenant.
  const pool = new pg.Pool({ connectionString: db.appUrl, max: 1 })
  t.teardown(() => pool.end())
  const first = await pool.connect()
  const firstPid = await asTenant(first, inA, async (sql) => {
    const [seen] = await rows<{ n: number }>(sql, 'select count(*)::int as n from contacts')
    t.equal(seen!.n, a.contactIds.length, 'the first transaction reads A\'s contacts')
    return (await rows<{ pid: number }>(sql, 'select pg_backend_pid() as pid'))[0]!.pid
  })
  first.release()
  const second = await pool.connect()
  try {
    const [state] = await rows<{ pid: number; setting: string | null; ws: string | null; n: number }>(
      second,
      `select pg_backend_pid() as pid, current_setting('app.workspace_id', true) as setting,
              app.current_workspace_id() as ws, (select count(*)::int from contacts) as n`,
    )
    t.equal(state!.pid, firstPid, 'same backend')
    t.equal(state!.setting, '', 'the setting reads as the empty string')
    t.equal(state!.ws, null, 'no current workspace')
    t.equal(state!.n, 0, 'no rows')
  } finally {
    second.release()
  }
})

t.test('an unset and an emptied setting both mean no context', async (t) => {
  // Threat: '' (left behind by an earlier transaction) is read as a value rather than as "none".
  const fresh = await connect(t, db.appUrl)
  const helpers = `select current_setting('app.workspace_id', true) as setting, app.current_workspace_id() as ws,
                          app.current_user_id() as usr, app.current_session_id() as sess`
  t.same(await rows(fresh, helpers), [{ setting: null, ws: null, usr: null, sess: null }], 'fresh backend: NULL')
  await asTenant(fresh, inA, async () => {})
  t.same(await rows(fresh, helpers), [{ setting: '', ws: null, usr: null, sess: null }], 'after a committed context: \'\', still NULL')
  const explicit = await asTenant(fresh, { workspaceId: '', userId: '' }, (sql) =>
    rows(sql, `${helpers}, (select count(*)::int from contacts) as n`))
  t.same(explicit, [{ setting: '', ws: null, usr: null, sess: null, n: 0 }], 'set to \'\' inside the transaction: no context, no rows')
})

t.test('a user reads only their own user row, sessions and email tokens', async (t) => {
  // Threat: one signed-in user lists or edits other users' accounts or sessions.
  const asA = { userId: a.ownerId }
  await asTenant(runtime, asA, async (sql) => {
    t.same(await ids(sql, 'select id from users'), [a.ownerId], 'only their own users row')
    t.same(await ids(sql, 'select user_id as id from sessions'), [a.ownerId], 'only their own session')
    t.same(await ids(sql, 'select user_id as id from email_tokens'), [a.ownerId], 'only their own email token')
    t.equal((await sql.query(`update users set name = 'hijacked' where id = $1`, [b.ownerId])).rowCount, 0, 'cannot rename B')
    t.equal((await sql.query('update sessions set revoked_at = now() where user_id = $1', [b.ownerId])).rowCount, 0, 'cannot revoke B\'s sessions')
  })
  t.same(
    await pgError(asTenant(runtime, asA, (sql) =>
      sql.query(`insert into sessions (user_id, token_hash, expires_at, idle_timeout_seconds) values ($1, $2, now(), 60)`, [b.ownerId, sessionA]))),
    rlsViolation('sessions'),
    'cannot open a session for B',
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
  const queued = await asTenant(runtime, {}, (sql) =>
    sql.query(`insert into email_outbox (to_address, template, body_encrypted) values ($1, 'verify_email', 'sealed')`, [to]))
  t.equal(queued.rowCount, 1, 'a pending email is queued')
  t.same(await pgError(asTenant(runtime, inA, (sql) => sql.query('select * from email_outbox'))), permissionDenied('table', 'email_outbox'), 'cannot select')
  t.same(
    await pgError(asTenant(runtime, {}, (sql) =>
      sql.query(`insert into email_outbox (to_address, template) values ($1, 'verify_email') returning body_encrypted`, [to]))),
    permissionDenied('table', 'email_outbox'),
    'cannot read back through RETURNING',
  )
  t.same(
    await pgError(asTenant(runtime, {}, (sql) =>
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
  const asUser = { userId: user.ownerId }
  t.same(
    await pgError(asTenant(runtime, asUser, (sql) => sql.query('update sessions set revoked_at = null where user_id = $1', [user.ownerId]))),
    rlsViolation('sessions'),
    'setting revoked_at back to NULL violates the policy',
  )
  t.same(
    await rows(su, 'select count(*)::int as n from sessions where user_id = $1 and revoked_at is not null', [user.ownerId]),
    [{ n: 1 }],
    'the session is still revoked',
  )
})

t.test('a user reads and changes only their own MFA settings and backup codes', async (t) => {
  // Threat: a query keyed by another user's id reads their TOTP envelope or disables their MFA.
  await asTenant(runtime, { userId: a.ownerId }, async (sql) => {
    t.same(await rows(sql, 'select user_id from user_mfa'), [{ user_id: a.ownerId }], 'only A\'s MFA row')
    t.same(await rows(sql, 'select user_id from mfa_backup_codes'), [{ user_id: a.ownerId }], 'only A\'s backup codes')
    t.equal((await sql.query('update user_mfa set last_used_step = 1 where user_id = $1', [b.ownerId])).rowCount, 0, 'B\'s replay guard: untouched')
    t.equal((await sql.query('update mfa_backup_codes set used_at = now() where user_id = $1', [b.ownerId])).rowCount, 0, 'B\'s codes: not used up')
    t.equal((await sql.query('delete from user_mfa where user_id = $1', [b.ownerId])).rowCount, 0, 'B\'s MFA: not removed')
    t.equal((await sql.query('delete from mfa_backup_codes where user_id = $1', [b.ownerId])).rowCount, 0, 'B\'s codes: not removed')
  })
  t.same(
    await pgError(asTenant(runtime, { userId: a.ownerId }, (sql) =>
      sql.query(`insert into user_mfa (user_id, secret_encrypted) values ($1, 'x')`, [b.ownerId]))),
    rlsViolation('user_mfa'),
    'nor set MFA up for B',
  )
  t.same(
    await pgError(asTenant(runtime, { userId: a.ownerId }, (sql) =>
      sql.query(`insert into mfa_challenges (user_id, token_hash, expires_at) values ($1, $2, now())`, [b.ownerId, Buffer.alloc(32)]))),
    rlsViolation('mfa_challenges'),
    'nor issue B a challenge',
  )
  t.same(
    await pgError(asTenant(runtime, { userId: a.ownerId }, (sql) => sql.query('select * from mfa_challenges'))),
    permissionDenied('table', 'mfa_challenges'),
    'challenges are not readable at all',
  )
  const [row] = await rows<{ enabled: boolean; step: string | null }>(su, 'select enabled_at is not null as enabled, last_used_step as step from user_mfa where user_id = $1', [b.ownerId])
  t.same(row, { enabled: true, step: null }, 'B\'s MFA is unchanged')
})

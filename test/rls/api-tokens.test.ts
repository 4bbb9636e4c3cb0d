// sql/210 (API tokens), as an attacker holding the runtime login with arbitrary SQL and no HTTP
// in between: the runtime never reads a token hash, writes no token itself, and through
// app.create_api_token makes a token only in its sealed workspace, for itself, with scopes it
// holds; a token context is sealed only by app.begin_token_request for a live token's hash, and
// then carries the token, its creator and no more than the creator's current permissions
// within the token's scopes, which the privileged functions (app.caller_role) respect too.
// Fixtures are inserted as superuser, every request is opened the real way, every "nothing
// changed" checked as superuser.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  inRequest,
  ownerOf,
  permissionDenied,
  pgError,
  refusal,
  refusedUnchanged,
  rows,
  seedMember,
  seedTenant,
  tokenHash,
  type Request,
  type Sql,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

const a = await seedTenant(su, { contacts: 1 })
const b = await seedTenant(su, { contacts: 1 })
const admin = await seedMember(su, a.workspaceId, 'admin')
const agent = await seedMember(su, a.workspaceId, 'agent')

interface SeededToken {
  id: string
  hash: Buffer
}

/** A token of `workspaceId` made by `createdBy` (RLS bypassed). */
async function seedToken(workspaceId: string, createdBy: string, scopes: string[], opts: { expiresIn?: number; revoked?: boolean } = {}): Promise<SeededToken> {
  const hash = tokenHash()
  const [row] = await rows<{ id: string }>(su,
    `insert into api_tokens (workspace_id, name, token_hash, hint, scopes, created_by, expires_at, revoked_at)
     values ($1, 'Seeded', $2, 'abcd', $3, $4, case when $5::int is not null then now() + make_interval(secs => $5::int) end,
             case when $6 then now() end) returning id`,
    [workspaceId, hash, scopes, createdBy, opts.expiresIn ?? null, opts.revoked ?? false])
  return { id: row!.id, hash }
}

const bToken = await seedToken(b.workspaceId, b.ownerId, ['contacts:read', 'contacts:create'])
const tokensOf = (workspaceId: string) =>
  rows(su, 'select id, name, token_hash, scopes, created_by, expires_at, last_used_at, revoked_at from api_tokens where workspace_id = $1 order by created_at, id', [workspaceId])

/** The context this transaction runs under, as the helpers read it. */
const CONTEXT = `select app.current_user_id() as user_id, app.current_session_id() as session_id, app.current_workspace_id() as workspace_id,
                        app.current_permissions() as permissions,
                        (select c.token_id from request_contexts c where c.pid = pg_backend_pid() and c.xact = pg_current_xact_id_if_assigned()) as token_id`

/** Runs `fn` in one transaction opened as a bearer request: app.begin_token_request. Commits. */
async function inTokenRequest<T>(client: Sql, hash: Buffer | null, workspaceId: string | null, fn: (sql: Sql, row: Record<string, unknown> | undefined) => Promise<T>): Promise<T> {
  await client.query('begin')
  try {
    const { rows: answered } = await client.query('select * from app.begin_token_request($1, $2, $3, $4, $5)',
      [hash, workspaceId, '192.0.2.9', 'rls-test', 'req-token'])
    const result = await fn(client, answered[0])
    await client.query('commit')
    return result
  } catch (err) {
    await client.query('rollback')
    throw err
  }
}

const call = (req: Request, text: string, values: unknown[] = []) => inRequest(runtime, req, (sql) => sql.query(text, values))
const create = (req: Request, scopes: string[], expires: string | null = null) =>
  call(req, `select id, workspace_id, created_by, scopes from app.create_api_token('Mine', $1, $2, 'wxyz', $3::timestamptz)`,
    [scopes, tokenHash(), expires])

t.test('the runtime reads no token hash, and only its own workspace\'s tokens, with api_tokens:manage', async (t) => {
  const mine = await seedToken(a.workspaceId, a.ownerId, ['contacts:read'])
  t.same(await pgError(call(ownerOf(a), 'select token_hash from api_tokens')), permissionDenied('table', 'api_tokens'), 'the hash column: not even its own')
  t.same(await pgError(call(ownerOf(a), 'select * from api_tokens')), permissionDenied('table', 'api_tokens'), 'nor through select *')
  t.same(await pgError(call(ownerOf(a), 'select id from api_tokens where token_hash = $1', [bToken.hash])), permissionDenied('table', 'api_tokens'),
    'nor as a condition (no oracle for a stolen hash)')
  const seen = await call(ownerOf(a), 'select id, workspace_id from api_tokens')
  t.same(seen.rows, [{ id: mine.id, workspace_id: a.workspaceId }], "the owner sees their workspace's token, not B's")
  t.same((await call({ ...ownerOf(a), workspaceId: b.workspaceId }, 'select id from api_tokens')).rows, [], "naming B's workspace: nothing")
  t.same((await call(agent, 'select id from api_tokens')).rows, [], 'an agent (no api_tokens:manage) sees none')
  t.same((await call({}, 'select id from api_tokens')).rows, [], 'no context: none')
})

t.test('the runtime writes no token itself', async (t) => {
  for (const [text, values] of [
    [`insert into api_tokens (workspace_id, name, token_hash, hint, scopes, created_by) values ($1, 'Planted', $2, 'abcd', '{contacts:read}', $3)`, [a.workspaceId, tokenHash(), a.ownerId]],
    [`insert into api_tokens (workspace_id, name, token_hash, hint, scopes, created_by) values ($1, 'Planted', $2, 'abcd', '{contacts:read}', $3)`, [b.workspaceId, tokenHash(), b.ownerId]],
    [`update api_tokens set scopes = '{billing:read}', revoked_at = null`, []],
    [`update api_tokens set expires_at = null where id = $1`, [bToken.id]],
    ['delete from api_tokens', []],
  ] as const) {
    await refusedUnchanged(t, () => Promise.all([tokensOf(a.workspaceId), tokensOf(b.workspaceId)]),
      () => call(ownerOf(a), text, [...values]), permissionDenied('table', 'api_tokens'), text.split(' ').slice(0, 3).join(' '))
  }
})

t.test('app.create_api_token: api_tokens:manage, the catalogue, scopes the caller holds, only in the sealed workspace', async (t) => {
  const snapshot = () => Promise.all([tokensOf(a.workspaceId), tokensOf(b.workspaceId)])
  await refusedUnchanged(t, snapshot, () => create(agent, ['contacts:read']), refusal('GHFBD', 'Your role lacks the permission api_tokens:manage'), 'an agent')
  await refusedUnchanged(t, snapshot, () => create(admin, ['contacts:read', 'billing:read']),
    refusal('GHFBD', 'Your role lacks the permission billing:read, so a token of yours cannot carry it'), 'an admin, with a scope beyond admin')
  await refusedUnchanged(t, snapshot, () => create(ownerOf(a), ['contacts:read', 'contacts:fly']), refusal('GHINV', 'Unknown permission: contacts:fly'), 'an unknown scope')
  await refusedUnchanged(t, snapshot, () => create(ownerOf(a), ['contacts:read'], '2000-01-01T00:00:00Z'), refusal('GHINV', 'expiresAt must be in the future'), 'a past expiry')
  await refusedUnchanged(t, snapshot, () => create({ ...ownerOf(a), workspaceId: b.workspaceId }, ['contacts:read']),
    refusal('GHMEM', 'You are not a member of this workspace'), "naming B's workspace")
  await refusedUnchanged(t, snapshot, () => create({}, ['contacts:read']), refusal('GHMEM', 'You are not a member of this workspace'), 'no context')
  await refusedUnchanged(t, snapshot, () => call(ownerOf(a), `select id from app.create_api_token('Short', '{contacts:read}', $1, 'wxyz', null)`, [Buffer.alloc(16)]),
    refusal('GHINV', 'a token hash is 32 bytes'), 'a hash that is no SHA-256')

  const made = await create(admin, ['members:read', 'contacts:read', 'contacts:read'])
  t.same(made.rows, [{ id: made.rows[0]!.id, workspace_id: a.workspaceId, created_by: admin.id, scopes: ['contacts:read', 'members:read'] }],
    'made by the sealed member in the sealed workspace, scopes deduplicated and sorted; the answer has no hash')
  t.notOk('token_hash' in (await call(admin, `select * from app.create_api_token('Again', '{contacts:read}', $1, 'wxyz', null)`, [tokenHash()])).rows[0]!,
    'the function answers no hash')
})

t.test('app.revoke_api_token: api_tokens:manage, and only the sealed workspace\'s tokens', async (t) => {
  const mine = await seedToken(a.workspaceId, a.ownerId, ['contacts:read'])
  const snapshot = () => Promise.all([tokensOf(a.workspaceId), tokensOf(b.workspaceId)])
  await refusedUnchanged(t, snapshot, () => call(agent, 'select app.revoke_api_token($1)', [mine.id]),
    refusal('GHFBD', 'Your role lacks the permission api_tokens:manage'), 'an agent')
  const before = await tokensOf(b.workspaceId)
  t.same((await call(ownerOf(a), 'select app.revoke_api_token($1) as revoked', [bToken.id])).rows, [{ revoked: false }], "B's token id: no such token here")
  t.same(await tokensOf(b.workspaceId), before, "B's token is untouched")
  t.same((await call(ownerOf(a), 'select app.revoke_api_token($1) as revoked', [mine.id])).rows, [{ revoked: true }], 'its own')
  const [revoked] = await rows<{ revoked_at: Date | null }>(su, 'select revoked_at from api_tokens where id = $1', [mine.id])
  t.ok(revoked!.revoked_at, 'revoked')
})

t.test('a token context is sealed only for a live token hash, and carries the token, its creator and its workspace', async (t) => {
  const token = await seedToken(a.workspaceId, a.ownerId, ['contacts:read', 'contacts:create', 'members:read'])
  const anonymous = { user_id: null, session_id: null, workspace_id: null, permissions: null, token_id: null }
  for (const [label, hash] of [['an unknown hash', tokenHash()], ['no hash', null], ['a session token hash', a.session]] as const) {
    const [ctx] = await inTokenRequest(runtime, hash, null, async (sql, row) => {
      t.equal(row, undefined, `${label}: no row (401)`)
      return (await sql.query(CONTEXT)).rows
    })
    t.same(ctx, anonymous, `${label}: nobody is sealed`)
  }
  const revoked = await seedToken(a.workspaceId, a.ownerId, ['contacts:read'], { revoked: true })
  const expired = await seedToken(a.workspaceId, a.ownerId, ['contacts:read'], { expiresIn: -1 })
  for (const [label, dead] of [['a revoked token', revoked], ['an expired token', expired]] as const) {
    t.same(await inTokenRequest(runtime, dead.hash, null, async (sql, row) => [row, (await sql.query(CONTEXT)).rows[0]]), [undefined, anonymous], `${label}: nobody`)
  }

  const [row, ctx, seen] = await inTokenRequest(runtime, token.hash, null, async (sql, row) =>
    [row, (await sql.query(CONTEXT)).rows[0], (await sql.query('select workspace_id from contacts')).rows] as const)
  t.match(row, { session_id: null, user_id: a.ownerId, workspace_id: a.workspaceId, role: 'owner', token_id: token.id, is_platform_admin: false, mfa: false })
  t.same(ctx, { user_id: a.ownerId, session_id: null, workspace_id: a.workspaceId, permissions: ['contacts:create', 'contacts:read', 'members:read'], token_id: token.id },
    'the creator, no session, the token, and the owner\'s permissions cut down to the scopes')
  t.same(seen, [{ workspace_id: a.workspaceId }], "its workspace's contacts only")

  const named = await inTokenRequest(runtime, token.hash, a.workspaceId, async (_sql, row) => row)
  t.match(named, { workspace_id: a.workspaceId, token_id: token.id }, 'naming its own workspace')
  const [other, otherCtx] = await inTokenRequest(runtime, token.hash, b.workspaceId, async (sql, row) => [row, (await sql.query(CONTEXT)).rows[0]])
  t.match(other, { user_id: a.ownerId, workspace_id: null, permissions: null, token_id: token.id }, "naming B's workspace: a row with no workspace (403 not_a_member)")
  t.same(otherCtx, anonymous, '… and nobody is sealed')

  t.same(await pgError(inRequest(runtime, ownerOf(a), (sql) => sql.query(
    `select app.seal_context('request', $1, null, $2, null, null, null, '{contacts:read}', 'all', null, $3)`, [a.ownerId, a.workspaceId, token.id]))),
  permissionDenied('function', 'seal_context'), 'the runtime cannot seal a token context itself')
})

t.test('a removed creator\'s token, or a deleted workspace\'s, authenticates nobody', async (t) => {
  const leaver = await seedMember(su, a.workspaceId, 'admin')
  const token = await seedToken(a.workspaceId, leaver.id, ['contacts:read'])
  t.match(await inTokenRequest(runtime, token.hash, null, async (_sql, row) => row), { user_id: leaver.id }, 'while the creator is a member')
  await su.query('delete from memberships where workspace_id = $1 and user_id = $2', [a.workspaceId, leaver.id])
  t.same(await inTokenRequest(runtime, token.hash, null, async (sql, row) => [row, (await sql.query(CONTEXT)).rows[0]!.user_id]), [undefined, null],
    'the creator left: no row, nobody sealed')

  const gone = await seedTenant(su, { contacts: 0 })
  const goneToken = await seedToken(gone.workspaceId, gone.ownerId, ['contacts:read'])
  await su.query('update workspaces set deleted_at = now() where id = $1', [gone.workspaceId])
  t.same(await inTokenRequest(runtime, goneToken.hash, null, async (_sql, row) => row), undefined, 'a deleted workspace: no row')
})

t.test('a token holds its scopes only as far as its creator\'s role holds them now, in the policies and the functions', async (t) => {
  const creator = await seedMember(su, a.workspaceId, 'admin')
  const token = await seedToken(a.workspaceId, creator.id, ['contacts:read', 'members:manage', 'roles:manage'])
  const perms = () => inTokenRequest(runtime, token.hash, null, async (sql) => (await sql.query(CONTEXT)).rows[0]!.permissions as string[])
  t.same(await perms(), ['contacts:read', 'members:manage', 'roles:manage'], 'an admin creator: every scope')

  // A scope the creator holds but the token lacks: the functions refuse it too (app.caller_role).
  const rolesOfA = () => rows(su, 'select name from workspace_roles where workspace_id = $1', [a.workspaceId])
  await refusedUnchanged(t, rolesOfA, () => inTokenRequest(runtime, token.hash, null, (sql) => sql.query(`select id from app.create_department('Via token', null)`)),
    refusal('GHFBD', 'Your role lacks the permission departments:manage'), 'departments:manage: the creator has it, the token does not')
  await refusedUnchanged(t, () => tokensOf(a.workspaceId), () => inTokenRequest(runtime, token.hash, null, (sql) =>
    sql.query(`select id from app.create_api_token('Wider', '{contacts:read}', $1, 'wxyz', null)`, [tokenHash()])),
  refusal('GHFBD', 'Your role lacks the permission api_tokens:manage'), 'nor can it make a token without api_tokens:manage in its scope')
  await refusedUnchanged(t, rolesOfA, () => inTokenRequest(runtime, token.hash, null, (sql) => sql.query(`select id from app.create_role('Via token', '{contacts:read,billing:read}')`)),
    refusal('GHFBD', 'Your role cannot grant the permission billing:read, which it lacks'), 'nor grant what the creator lacks')
  const made = await inTokenRequest(runtime, token.hash, null, (sql) => sql.query(`select id from app.create_role('Via token', '{contacts:read}')`))
  t.equal(made.rowCount, 1, 'within its scopes it acts')

  await su.query(`update memberships set role = 'agent' where workspace_id = $1 and user_id = $2`, [a.workspaceId, creator.id])
  t.same(await perms(), ['contacts:read'], 'the creator demoted to agent: the next request holds only what an agent holds of the scopes')
  await refusedUnchanged(t, rolesOfA, () => inTokenRequest(runtime, token.hash, null, (sql) => sql.query(`select id from app.create_role('After demotion', '{contacts:read}')`)),
    refusal('GHFBD', 'Your role lacks the permission roles:manage'), 'roles:manage is gone at once')
})

t.test("a write made with a token is attributed to the token and its creator; the first use of a day is recorded once", async (t) => {
  const token = await seedToken(a.workspaceId, a.ownerId, ['contacts:create', 'contacts:read'])
  await inTokenRequest(runtime, token.hash, null, (sql) =>
    sql.query(`insert into contacts (workspace_id, name, owner_id, created_by) values ($1, 'Via token', $2, $2)`, [a.workspaceId, a.ownerId]))
  const audit = await rows(su, `select action, actor_user_id, actor_token_id, ip, request_id from audit_log
                                 where workspace_id = $1 and actor_token_id = $2 order by chain_seq`, [a.workspaceId, token.id])
  t.same(audit, [
    { action: 'api_token.used', actor_user_id: a.ownerId, actor_token_id: token.id, ip: '192.0.2.9', request_id: 'req-token' },
    { action: 'contact.create', actor_user_id: a.ownerId, actor_token_id: token.id, ip: '192.0.2.9', request_id: 'req-token' },
  ], 'the first use, then the write, both by the creator through the token')

  await inTokenRequest(runtime, token.hash, null, (sql) => sql.query('select 1'))
  t.equal((await rows(su, `select 1 from audit_log where action = 'api_token.used' and entity_id = $1`, [token.id])).length, 1, 'a second use that day: no record')
  t.same((await rows(su, `select 1 from audit_log where action = 'api_token.update' and entity_id = $1`, [token.id])), [], 'the use stamp is no recorded change')
})

t.test("a token context never acts on its creator's account, even by SQL on the runtime login", async (t) => {
  // Threat: someone holding the runtime login and a live token changes the creator's password,
  // MFA or sessions, or creates a workspace or accepts an invitation as them.
  const token = await seedToken(a.workspaceId, a.ownerId, ['contacts:read'])
  const attempts: Array<[string, unknown[]]> = [
    [`select app.create_workspace('Squatted')`, []],
    ['select * from app.accept_invite($1)', [tokenHash()]],
    ['select app.verify_email($1)', [tokenHash()]],
    ['select app.mfa_disable($1, 1, null, $2, 3600, 3600)', [tokenHash(), tokenHash()]],
    ["select app.mfa_setup($1, 'v1.x')", [tokenHash()]],
    ["select app.change_password($1, 'x', $2, 3600, 3600)", [tokenHash(), tokenHash()]],
  ]
  for (const [text, values] of attempts) {
    await runtime.query('begin')
    try {
      await runtime.query('select * from app.begin_token_request($1, null)', [token.hash])
      const err = await runtime.query(text, values).then(() => null, (e: { code?: string; message?: string }) => e)
      t.match(err, { code: 'GHAUT', message: /cannot act on its creator's account/ }, `${text.split('(')[0]}: refused`)
    } finally {
      await runtime.query('rollback')
    }
  }
})

t.test("nor may a token context touch its creator's own rows through the runtime's policies", async (t) => {
  const token = await seedToken(a.workspaceId, a.ownerId, ['contacts:read'])
  const seen = await inTokenRequest(runtime, token.hash, null, async (sql) => ({
    users: (await sql.query('select id from users')).rowCount,
    sessions: (await sql.query('select id from sessions')).rowCount,
    renamed: (await sql.query(`update users set name = 'Hijacked' where id = $1`, [a.ownerId])).rowCount,
    revoked: (await sql.query('update sessions set revoked_at = now() where user_id = $1', [a.ownerId])).rowCount,
  }))
  t.same(seen, { users: 0, sessions: 0, renamed: 0, revoked: 0 })
  await t.rejects(inTokenRequest(runtime, token.hash, null, (sql) => sql.query(
    `insert into email_tokens (user_id, purpose, token_hash, expires_at) values ($1, 'verify_email', $2, now() + interval '1 day')`, [a.ownerId, tokenHash()])),
  /row-level security/)
})

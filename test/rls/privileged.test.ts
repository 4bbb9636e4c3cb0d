// The SECURITY DEFINER functions of sql/040, called as the runtime role: the short list of paths
// that cross tenants must hand out exactly what they promise and nothing more.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  asTenant,
  createLogin,
  permissionDenied,
  pgError,
  rlsViolation,
  rows,
  seedEmailToken,
  seedMfa,
  seedSession,
  seedTenant,
  seedUser,
  tokenHash,
  type Sql,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

const a = await seedTenant(su)
const b = await seedTenant(su)
const sessionA = await seedSession(su, a.ownerId)

const SETTINGS = `select current_setting('app.workspace_id', true) as workspace_id,
                         current_setting('app.user_id', true) as user_id,
                         current_setting('app.session_id', true) as session_id,
                         (select count(*)::int from contacts) as contacts`
const NO_CONTEXT = { workspace_id: '', user_id: '', session_id: '', contacts: 0 }

const beginRequest = (sql: Sql, hash: Buffer | null, workspaceId: string | null) =>
  rows(sql, 'select * from app.begin_request($1, $2)', [hash, workspaceId])

t.test('begin_request sets the workspace only for its members', async (t) => {
  // Threat: naming another tenant's workspace id in a request header grants its context.
  await asTenant(runtime, {}, async (sql) => {
    const [row] = await beginRequest(sql, sessionA, a.workspaceId)
    t.match(row, { user_id: a.ownerId, email_verified: true, workspace_id: a.workspaceId, role: 'owner', workspace_status: 'active' }, 'a member gets the workspace row')
    const [settings] = await rows(sql, SETTINGS)
    t.match(settings, { workspace_id: a.workspaceId, user_id: a.ownerId, contacts: a.contactIds.length }, 'and its context')
    t.equal((settings as { session_id: string }).session_id, (row as { session_id: string }).session_id, 'the session is in the context')
  })
  await asTenant(runtime, {}, async (sql) => {
    const [row] = await beginRequest(sql, sessionA, b.workspaceId)
    t.match(row, { user_id: a.ownerId, workspace_id: null, role: null, workspace_status: null }, 'a non-member gets no workspace')
    t.same(await rows(sql, `${SETTINGS}, (select count(*)::int from workspaces) as workspaces`), [
      { ...NO_CONTEXT, user_id: a.ownerId, session_id: (row as { session_id: string }).session_id, workspaces: 0 },
    ], 'no app.workspace_id, so neither A\'s nor B\'s rows')
  })
})

t.test('begin_request finds no session for a bad token', async (t) => {
  // Threat: an unknown, revoked or timed-out session token still authenticates.
  const cases: Array<[string, Buffer | null]> = [
    ['an unknown token hash', tokenHash()],
    ['no token hash', null],
    ['a revoked session', await seedSession(su, a.ownerId, { revoked: true })],
    ['an expired session', await seedSession(su, a.ownerId, { expiresIn: -1 })],
    ['an idle-expired session', await seedSession(su, a.ownerId, { idleTimeoutSeconds: 600, lastSeenAgo: 601 })],
  ]
  for (const [label, hash] of cases) {
    await asTenant(runtime, {}, async (sql) => {
      t.same(await beginRequest(sql, hash, a.workspaceId), [], `${label}: no row`)
      t.same(await rows(sql, SETTINGS), [NO_CONTEXT], `${label}: no context`)
    })
  }
})

t.test('begin_request starts from no context on a dirty backend', async (t) => {
  // Threat: context left on a connection (session-level SET, or set earlier in the transaction) survives into the request.
  const dirty = await connect(t, db.appUrl)
  await dirty.query(`select set_config('app.workspace_id', $1, false), set_config('app.user_id', $2, false), set_config('app.session_id', $2, false)`, [b.workspaceId, b.ownerId])
  await asTenant(dirty, { workspaceId: b.workspaceId, userId: b.ownerId }, async (sql) => {
    t.same(await beginRequest(sql, tokenHash(), b.workspaceId), [], 'an unknown token: no row')
    t.same(await rows(sql, SETTINGS), [NO_CONTEXT], 'and the leftover context is gone')
    const [row] = await beginRequest(sql, sessionA, b.workspaceId)
    t.match(row, { user_id: a.ownerId, workspace_id: null }, 'A naming B on the dirty backend')
    t.match((await rows(sql, SETTINGS))[0], { workspace_id: '', user_id: a.ownerId, contacts: 0 }, 'gets no workspace, not the leftover one')
  })
})

t.test('consume_email_token is single-use', async (t) => {
  // Threat: a verification or reset link is replayed.
  const user = await seedUser(su, { verified: false })
  const hash = await seedEmailToken(su, user, 'verify_email')
  const consume = () => rows<{ user_id: string | null }>(runtime, `select app.consume_email_token($1, 'verify_email') as user_id`, [hash])
  t.same(await consume(), [{ user_id: user }], 'the first use returns the user')
  t.same(await consume(), [{ user_id: null }], 'the second returns NULL')
  t.same(
    await rows(su, `select (u.email_verified_at is not null) as verified, (e.used_at is not null) as used
                      from users u join email_tokens e on e.user_id = u.id where u.id = $1`, [user]),
    [{ verified: true, used: true }],
    'the address is verified and the token used',
  )
})

t.test('consume_email_token refuses an expired token or another purpose', async (t) => {
  // Threat: an old link, or a verification link used as a password reset, still works.
  const user = await seedUser(su, { verified: false })
  const expired = await seedEmailToken(su, user, 'verify_email', -1)
  const reset = await seedEmailToken(su, user, 'reset_password')
  const consume = (hash: Buffer, purpose: string) =>
    rows(runtime, 'select app.consume_email_token($1, $2) as user_id', [hash, purpose])
  t.same(await consume(expired, 'verify_email'), [{ user_id: null }], 'expired: NULL')
  t.same(await consume(reset, 'verify_email'), [{ user_id: null }], 'wrong purpose: NULL')
  t.same(
    await rows(su, `select (select email_verified_at from users where id = $1) as verified,
                           array_agg(used_at) as used from email_tokens where user_id = $1`, [user]),
    [{ verified: null, used: [null, null] }],
    'nothing was used or verified',
  )
})

t.test('of two concurrent uses of a token exactly one wins', async (t) => {
  // Threat: two requests racing with the same link both succeed (double spend).
  const user = await seedUser(su)
  const hash = await seedEmailToken(su, user, 'reset_password')
  const first = await connect(t, db.appUrl)
  const second = await connect(t, db.appUrl)
  const consume = `select app.consume_email_token($1, 'reset_password') as user_id`
  const secondPid = (await rows<{ pid: number }>(second, 'select pg_backend_pid() as pid'))[0]!.pid

  await first.query('begin')
  const won = await rows(first, consume, [hash])
  const racing = rows(second, consume, [hash])
  // Commit only once the second consumer is provably waiting on the first one's row lock.
  let blocked = false
  for (let i = 0; i < 10_000 && !blocked; i++) {
    const [w] = await rows<{ n: number }>(su, 'select cardinality(pg_blocking_pids($1)) as n', [secondPid])
    blocked = w!.n > 0
  }
  t.ok(blocked, 'the second consumer waits for the first')
  await first.query('commit')
  t.same(won, [{ user_id: user }], 'the first wins')
  t.same(await racing, [{ user_id: null }], 'the second gets NULL')
})

t.test('create_workspace requires a verified user and allows one workspace per owner', async (t) => {
  // Threat: unverified or repeat sign-ups create workspaces (spam, trial farming).
  const unverified = await seedUser(su, { verified: false })
  const create = (userId?: string) =>
    asTenant(runtime, userId ? { userId } : {}, (sql) => rows<{ id: string }>(sql, `select app.create_workspace('Acme') as id`))
  t.same(await pgError(create()), { code: '42501', message: 'no authenticated user in this transaction' }, 'no user: refused')
  t.same(await pgError(create(unverified)), { code: '42501', message: 'a verified email is required to create a workspace' }, 'unverified: refused')

  const owner = await seedUser(su)
  const [created] = await create(owner)
  t.same(
    await rows(su, `select w.status, w.owner_id, m.user_id, m.role from workspaces w join memberships m on m.workspace_id = w.id where w.id = $1`, [created!.id]),
    [{ status: 'pending_approval', owner_id: owner, user_id: owner, role: 'owner' }],
    'a pending workspace with its owner\'s membership',
  )
  t.same(
    await pgError(create(owner)),
    { code: '23505', message: 'duplicate key value violates unique constraint "workspaces_one_per_owner"', constraint: 'workspaces_one_per_owner' },
    'a second workspace: refused',
  )
  t.same(await rows(su, 'select count(*)::int as n from workspaces where owner_id = any($1::uuid[])', [[owner, unverified]]), [{ n: 1 }], 'one workspace in all')
})

t.test('the runtime cannot verify emails nor write workspaces itself', async (t) => {
  // Threat: a handler bug marks an address verified or approves a workspace without the privileged path.
  const user = await seedUser(su, { verified: false })
  const asUser = (text: string, values: unknown[]) => asTenant(runtime, { userId: user }, (sql) => sql.query(text, values))
  t.same(await pgError(asUser('update users set email_verified_at = now() where id = $1', [user])), permissionDenied('table', 'users'), 'email_verified_at: denied')
  t.equal((await asUser(`update users set name = 'Renamed' where id = $1`, [user])).rowCount, 1, 'while the name may be changed')
  t.same(await rows(su, 'select name, email_verified_at from users where id = $1', [user]), [{ name: 'Renamed', email_verified_at: null }], 'still unverified')
  const preverified = `insert into users (id, email, name, password_hash, email_verified_at) values ($1, $2, 'x', 'x', now())`
  const newId = randomUUID()
  t.same(
    await pgError(asTenant(runtime, { userId: newId }, (sql) => sql.query(preverified, [newId, `${newId}@rls.test`]))),
    rlsViolation('users'),
    'nor can it register an already-verified user',
  )

  const inA = { workspaceId: a.workspaceId, userId: a.ownerId }
  const writes = [
    [`insert into workspaces (name, owner_id) values ('Mine', $1)`, [user]],
    [`update workspaces set status = 'active', billing_status = 'active' where id = $1`, [a.workspaceId]],
    ['delete from workspaces where id = $1', [a.workspaceId]],
  ] as const
  for (const [text, values] of writes) {
    t.same(await pgError(asTenant(runtime, inA, (sql) => sql.query(text, [...values]))), permissionDenied('table', 'workspaces'), text.split(' ')[0]!)
  }
  t.same(await rows(su, 'select status, billing_status from workspaces where id = $1', [a.workspaceId]), [{ status: 'active', billing_status: 'none' }], 'A is unchanged')
})

t.test('only the outbox worker issues reset tokens for an address', async (t) => {
  // Threat: a handler (or an injected query) mints a reset token for any address it names.
  const user = await seedUser(su)
  const [email] = await rows<{ email: string }>(su, 'select email from users where id = $1', [user])
  const call = 'select * from app.issue_password_reset($1, $2, 3600, null, null, null)'
  t.same(await pgError(asTenant(runtime, {}, (sql) => sql.query(call, [email!.email, tokenHash()]))), permissionDenied('function', 'issue_password_reset'), 'not the runtime')
  const owner = await connect(t, db.ownerUrl)
  const hash = tokenHash()
  t.match(await rows(owner, call, [email!.email, hash]), [{ user_id: user }], 'the owner (the worker) may')
  t.same(await rows(owner, call, ['nobody@rls.test', tokenHash()]), [], 'and gets nothing for an unknown address')
  t.same(await rows(su, 'select purpose, user_id from email_tokens where token_hash = $1', [hash]), [{ purpose: 'reset_password', user_id: user }])
})

t.test('a role outside app_runtime cannot execute the privileged functions', async (t) => {
  // Threat: any other login in the cluster (PUBLIC) calls the functions that cross tenants.
  const login = await createLogin(t, su, db.appUrl)
  const outsider = await connect(t, login.url)
  t.same(await pgError(beginRequest(outsider, sessionA, a.workspaceId)), permissionDenied('schema', 'app'), 'the app schema is closed to it')

  await su.query(`grant usage on schema app to ${login.name}`)
  const functions = await rows<{ name: string; call: string; allowed: boolean }>(
    su,
    `select p.proname as name,
            format('select %s(%s)', p.oid::regproc,
                   (select string_agg('null::' || format_type(a, null), ', ') from unnest(p.proargtypes) a)) as call,
            has_function_privilege($1, p.oid, 'EXECUTE') as allowed
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'app' and p.prosecdef order by 1`,
    [login.name],
  )
  t.ok(functions.some((f) => f.name === 'begin_request'), 'the privileged functions are found in the catalogue')
  for (const f of functions) {
    t.equal(f.allowed, false, `${f.name}: no EXECUTE privilege`)
    t.same(await pgError(outsider.query(f.call)), permissionDenied('function', f.name), `${f.name}: calling it is denied`)
  }
})

t.test('consume_mfa_challenge is single-use and refuses expired challenges; mfa_challenge_user only peeks', async (t) => {
  // Threat: an MFA challenge token is replayed, or used after its 5 minutes.
  const user = await seedUser(su)
  const hash = await seedMfa(su, user)
  const peek = (h: Buffer) => rows(runtime, 'select app.mfa_challenge_user($1) as user_id', [h])
  const consume = (h: Buffer) => rows(runtime, 'select app.consume_mfa_challenge($1) as user_id', [h])
  t.same(await peek(hash), [{ user_id: user }], 'peek: the user')
  t.same(await peek(hash), [{ user_id: user }], 'peeking consumes nothing')
  t.same(await consume(hash), [{ user_id: user }], 'the first use returns the user')
  t.same(await consume(hash), [{ user_id: null }], 'the second returns NULL')
  t.same(await peek(hash), [{ user_id: null }], 'a used challenge: no user')
  t.same(await consume(tokenHash()), [{ user_id: null }], 'unknown: NULL')
  const other = await seedUser(su)
  const expired = await seedMfa(su, other, { challengeExpiresIn: -1 })
  t.same(await peek(expired), [{ user_id: null }], 'expired: no user')
  t.same(await consume(expired), [{ user_id: null }], 'expired: NULL')
  t.same(await rows(su, 'select used_at from mfa_challenges where token_hash = $1', [expired]), [{ used_at: null }], 'and not marked used')
})

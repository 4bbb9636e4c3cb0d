// The SECURITY DEFINER functions of sql/050–170 called as the runtime role: the short list of
// paths that cross tenants hands out exactly what it promises, and authorises from what it
// verified itself — a session token, the sealed context, a key or ticket the database issued —
// never from an argument naming someone. (Accounts: accounts.test.ts; members and invitations:
// members.test.ts, invites.test.ts; every function under forged contexts: forgery.test.ts.)
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  beginRequest, createLogin, inRequest, ownerOf, permissionDenied, pgError, plantSettings, rows, seedMfa, seedSession, seedTenant, seedUser, tokenHash,
  refusal,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)
const owner = await connect(t, db.ownerUrl)

const a = await seedTenant(su)
const b = await seedTenant(su)

const CONTEXT = `select app.current_workspace_id() as workspace_id, app.current_user_id() as user_id,
                        app.current_session_id() as session_id, (select count(*)::int from contacts) as contacts`
const NO_CONTEXT = { workspace_id: null, user_id: null, session_id: null, contacts: 0 }

t.test('begin_request seals the workspace only for its members', async (t) => {
  // Threat: naming another tenant's workspace id in a request header grants its context.
  await inRequest(runtime, {}, async (sql) => {
    const row = await beginRequest(sql, ownerOf(a))
    t.match(row, { user_id: a.ownerId, email_verified: true, is_platform_admin: false, workspace_id: a.workspaceId, role: 'owner', workspace_status: 'active' }, 'a member gets the workspace row')
    const [ctx] = await rows(sql, CONTEXT)
    t.same(ctx, { workspace_id: a.workspaceId, user_id: a.ownerId, session_id: row!.session_id, contacts: a.contactIds.length }, 'and its context')
  })
  await inRequest(runtime, {}, async (sql) => {
    const row = await beginRequest(sql, { session: a.session, workspaceId: b.workspaceId })
    t.match(row, { user_id: a.ownerId, workspace_id: null, role: null, workspace_status: null }, 'a non-member gets no workspace')
    t.same(await rows(sql, `${CONTEXT}, (select count(*)::int from workspaces) as workspaces`), [
      { ...NO_CONTEXT, user_id: a.ownerId, session_id: row!.session_id, workspaces: 0 },
    ], 'so neither A\'s nor B\'s rows')
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
    await inRequest(runtime, {}, async (sql) => {
      t.same(await beginRequest(sql, { session: hash, workspaceId: a.workspaceId }), undefined, `${label}: no row`)
      t.same(await rows(sql, CONTEXT), [NO_CONTEXT], `${label}: no context`)
    })
  }
})

t.test('begin_request ignores whatever settings a dirty backend carries', async (t) => {
  // Threat: settings left on a connection (session-level SET, or set earlier in the transaction) become the request's context.
  const dirty = await connect(t, db.appUrl)
  const forged = { 'app.workspace_id': b.workspaceId, 'app.user_id': b.ownerId, 'app.session_id': b.ownerId }
  await plantSettings(dirty, forged, true)
  await dirty.query('begin')
  await plantSettings(dirty, forged)
  t.same(await rows(dirty, CONTEXT), [NO_CONTEXT], 'planted settings are no context')
  t.same(await beginRequest(dirty, { session: tokenHash(), workspaceId: b.workspaceId }), undefined, 'an unknown token: no row')
  t.same(await rows(dirty, CONTEXT), [NO_CONTEXT], 'and still no context')
  const row = await beginRequest(dirty, { session: a.session, workspaceId: b.workspaceId })
  t.match(row, { user_id: a.ownerId, workspace_id: null }, 'A naming B on the dirty backend')
  t.match((await rows(dirty, CONTEXT))[0], { workspace_id: null, user_id: a.ownerId, contacts: 0 }, 'gets A and no workspace, not the planted B')
  await dirty.query('commit')
})

t.test('create_workspace requires a verified user and allows one workspace per owner', async (t) => {
  // Threat: unverified or repeat sign-ups create workspaces (spam, trial farming).
  const unverified = await seedUser(su, { verified: false })
  const create = (session?: Buffer) =>
    inRequest(runtime, session ? { session } : {}, (sql) => rows<{ id: string }>(sql, `select app.create_workspace('Acme') as id`))
  t.same(await pgError(create()), refusal('GHAUT', 'Sign in first'), 'no user: refused')
  t.same(await pgError(create(await seedSession(su, unverified))), refusal('GHUNV', 'Verify your email address first'), 'unverified: refused')

  const creator = await seedUser(su)
  const session = await seedSession(su, creator)
  const [created] = await create(session)
  t.same(
    await rows(su, `select w.status, w.owner_id, m.user_id, m.role from workspaces w join memberships m on m.workspace_id = w.id where w.id = $1`, [created!.id]),
    [{ status: 'pending_approval', owner_id: creator, user_id: creator, role: 'owner' }],
    'a pending workspace with its owner\'s membership',
  )
  t.same(await pgError(create(session)), refusal('GHWLR', 'You already own a workspace'), 'a second workspace: refused')
  t.same(await rows(su, 'select count(*)::int as n from workspaces where owner_id = any($1::uuid[])', [[creator, unverified]]), [{ n: 1 }], 'one workspace in all')
})

t.test('the runtime cannot verify emails nor write workspaces itself', async (t) => {
  // Threat: a handler bug marks an address verified or approves a workspace without the privileged path.
  const user = await seedUser(su, { verified: false })
  const asUser = (text: string, values: unknown[]) => inRequest(runtime, { session: a.session }, (sql) => sql.query(text, values))
  t.same(await pgError(asUser('update users set email_verified_at = now() where id = $1', [a.ownerId])), permissionDenied('table', 'users'), 'email_verified_at: denied')
  t.equal((await asUser(`update users set name = 'Renamed' where id = $1`, [a.ownerId])).rowCount, 1, 'while one\'s own name may be changed')
  t.same(await rows(su, 'select name from users where id = $1', [a.ownerId]), [{ name: 'Renamed' }])
  const writes = [
    [`insert into workspaces (name, owner_id) values ('Mine', $1)`, [user]],
    [`update workspaces set status = 'active', billing_status = 'active' where id = $1`, [a.workspaceId]],
    ['delete from workspaces where id = $1', [a.workspaceId]],
  ] as const
  for (const [text, values] of writes) {
    t.same(await pgError(inRequest(runtime, ownerOf(a), (sql) => sql.query(text, [...values]))), permissionDenied('table', 'workspaces'), text.split(' ')[0]!)
  }
  t.same(await rows(su, 'select status, billing_status from workspaces where id = $1', [a.workspaceId]), [{ status: 'active', billing_status: 'none' }], 'A is unchanged')
})

t.test('platform administration: only a recorded, verified administrator', async (t) => {
  // Threat: app.admin_* called by anyone lists every tenant with owner emails, or approves /
  // suspends workspaces at will (the platform-admin check used to exist only in TypeScript).
  const adminUser = await seedUser(su)
  const [{ email }] = await rows<{ email: string }>(su, 'select email from users where id = $1', [adminUser]) as [{ email: string }]
  await seedMfa(su, adminUser)
  const adminSession = await seedSession(su, adminUser, { mfa: true })
  const passwordOnly = await seedSession(su, adminUser)
  const pending = await seedTenant(su, { status: 'pending_approval', trialDays: null })
  const calls: Array<[string, string, unknown[]]> = [
    ['admin_list_workspaces', 'select * from app.admin_list_workspaces(null)', []],
    ['admin_transition_workspace', `select * from app.admin_transition_workspace('approve', $1, null, now() + interval '100 years')`, [pending.workspaceId]],
    ['admin_transition_workspace', `select * from app.admin_transition_workspace('suspend', $1, 'competitor', null)`, [a.workspaceId]],
    ['admin_audit_log', 'select * from app.admin_audit_log(null, null, 100)', []],
  ]
  for (const session of [null, a.session, adminSession]) {
    for (const [name, text, values] of calls) {
      t.same(await pgError(inRequest(runtime, { session }, (sql) => sql.query(text, values))), refusal('GHFBD', 'Platform administrators only'), `${name}: ${session === adminSession ? 'an admin not yet listed' : session ? 'a tenant owner' : 'nobody'}`)
    }
  }
  t.same(await rows(su, 'select status from workspaces where id = any($1::uuid[]) order by status', [[pending.workspaceId, a.workspaceId]]), [{ status: 'active' }, { status: 'pending_approval' }], 'nothing changed')

  // The runtime cannot make anyone an administrator; the schema owner's start-up sync can.
  t.same(await pgError(runtime.query('select * from app.sync_platform_admins($1)', [[email]])), permissionDenied('function', 'sync_platform_admins'), 'the runtime cannot sync the list')
  t.same(await pgError(inRequest(runtime, { session: adminSession }, (sql) => sql.query(`insert into platform_admins (email, user_id, granted_at) values ($1, $2, now())`, [email, adminUser]))), permissionDenied('table', 'platform_admins'), 'nor write it')
  const synced = await rows<{ change: string; email: string }>(owner, 'select * from app.sync_platform_admins($1)', [[email.toUpperCase(), ' ', 'later@rls.test']])
  t.same(synced.sort((x, y) => `${x.change}${x.email}`.localeCompare(`${y.change}${y.email}`)),
    [{ change: 'granted', email }, { change: 'listed', email: 'later@rls.test' }, { change: 'listed', email }].sort((x, y) => `${x.change}${x.email}`.localeCompare(`${y.change}${y.email}`)),
    'the sync lists both (normalised) and grants the verified account')
  const [listed] = await inRequest(runtime, { session: adminSession }, (sql) => rows<{ id: string }>(sql, 'select id from app.admin_list_workspaces($1)', ['pending_approval']))
  t.ok(listed, 'now the administrator reviews workspaces')
  // A stolen password alone does not administer: the session must have been signed in with a
  // second factor, one the administrator still has.
  const mfaRefusal = refusal('GHMFR', 'Platform administration needs a session signed in with a second factor: enable MFA and sign in again')
  for (const [name, text, values] of calls) {
    t.same(await pgError(inRequest(runtime, { session: passwordOnly }, (sql) => sql.query(text, values))), mfaRefusal, `${name}: a password-only session of the administrator`)
  }
  t.same(await rows(su, 'select status from workspaces where id = $1', [pending.workspaceId]), [{ status: 'pending_approval' }], 'nothing changed')
  await su.query('update user_mfa set enabled_at = null where user_id = $1', [adminUser])
  t.same(await pgError(inRequest(runtime, { session: adminSession }, (sql) => sql.query('select * from app.admin_list_workspaces(null)'))), mfaRefusal, 'an MFA session whose second factor is no longer enabled')
  await su.query('update user_mfa set enabled_at = now() where user_id = $1', [adminUser])
  const [approved] = await inRequest(runtime, { session: adminSession }, (sql) =>
    rows(sql, `select outcome, status from app.admin_transition_workspace('approve', $1, null, now() + interval '14 days')`, [pending.workspaceId]))
  t.same(approved, { outcome: 'ok', status: 'active' })
  t.same(await pgError(inRequest(runtime, { session: adminSession }, (sql) => sql.query(`select * from app.admin_transition_workspace('delete', $1, null, null)`, [pending.workspaceId]))), refusal('GHINV', 'unknown workspace action "delete"'), 'only the state machine\'s actions')
  t.same(await rows(owner, 'select * from app.sync_platform_admins($1)', [['later@rls.test']]), [{ change: 'unlisted', email }], 'unlisting removes the grant')
  t.same(await pgError(inRequest(runtime, { session: adminSession }, (sql) => sql.query('select * from app.admin_list_workspaces(null)'))), refusal('GHFBD', 'Platform administrators only'), 'at once')
  t.same(
    (await rows<{ action: string; entity_id: string; actor_user_id: string | null; db_role: string }>(su,
      `select action, entity_id, actor_user_id, db_role from audit_log where action like 'platform.admin_%' order by chain_seq`)),
    [
      { action: 'platform.admin_granted', entity_id: adminUser, actor_user_id: null, db_role: 'gatehouse_owner' },
      { action: 'platform.admin_revoked', entity_id: adminUser, actor_user_id: null, db_role: 'gatehouse_owner' },
    ],
    'the grant and the removal are audited',
  )
  const later = await seedUser(su, { verified: false })
  await su.query(`update users set email = 'later@rls.test' where id = $1`, [later])
  t.same(await rows(owner, 'select * from app.sync_platform_admins($1)', [['later@rls.test']]), [], 'an unverified holder of a listed address is granted nothing')
})

t.test('the outbox is the worker\'s, and only with the key the database issued', async (t) => {
  // Threat: an injected statement reads the queue (addresses, sealed bodies), marks emails sent,
  // or mints a reset token for any address it names.
  const user = await seedUser(su)
  const [{ email }] = await rows<{ email: string }>(su, 'select email from users where id = $1', [user]) as [{ email: string }]
  const [{ secret: key }] = await rows<{ secret: Buffer }>(su, `select secret from database_secrets where name = 'outbox_worker'`) as [{ secret: Buffer }]
  await su.query(`insert into email_outbox (to_address, template, body_encrypted) values ($1, 'verify_email', 'sealed')`, [email])
  const worker = [
    ['outbox_claim', 'select * from app.outbox_claim(10)', []],
    ['outbox_settle', `select app.outbox_settle(gen_random_uuid(), 'sent', 'x', null, null, null, null)`, []],
    ['issue_password_reset', 'select * from app.issue_password_reset($1, $2, 3600, null, null, null)', [email, tokenHash()]],
  ] as const
  for (const [label, wrongKey] of [['no key', null], ['a wrong key', Buffer.alloc(32)]] as const) {
    t.same(await pgError(inRequest(runtime, {}, (sql) => sql.query('select app.begin_worker($1)', [wrongKey]))), refusal('GHFBD', 'only the outbox worker may drain the outbox'), `begin_worker: ${label}`)
  }
  for (const [name, text, values] of worker) {
    t.same(await pgError(inRequest(runtime, ownerOf(a), (sql) => sql.query(text, [...values]))), refusal('GHFBD', 'only the outbox worker may drain the outbox'), `${name}: not for a request`)
  }
  t.same(await rows(su, 'select count(*)::int as n from email_tokens where user_id = $1', [user]), [{ n: 0 }], 'no token was minted')

  t.same(
    await pgError(inRequest(runtime, {}, async (sql) => {
      await sql.query('select app.begin_worker($1)', [key])
      return sql.query('select * from email_outbox')
    })),
    permissionDenied('table', 'email_outbox'),
    'even as the worker, the runtime cannot read the queue itself',
  )
  await runtime.query('begin')
  await runtime.query('select app.begin_worker($1)', [key])
  t.same(await rows(runtime, CONTEXT), [NO_CONTEXT], 'a worker context names no user and no workspace')
  const claimed = await rows<{ to_address: string }>(runtime, 'select to_address from app.outbox_claim(10)')
  t.ok(claimed.some((r) => r.to_address === email), 'the worker claims due emails')
  const [issued] = await rows<{ user_id: string }>(runtime, 'select * from app.issue_password_reset($1, $2, 86400, $3, $4, $5)', [email, tokenHash(), '198.51.100.7', 'Probe', 'req-1'])
  t.same(issued, { user_id: user, name: 'RLS test user' }, 'and issues a reset link for an account')
  t.same(await rows(runtime, 'select * from app.issue_password_reset($1, $2, 3600, null, null, null)', ['nobody@rls.test', tokenHash()]), [], 'nothing for an unknown address')
  await runtime.query('commit')
  t.same(
    await rows(su, `select (expires_at - created_at) <= interval '1 hour' as capped from email_tokens where user_id = $1`, [user]),
    [{ capped: true }],
    'a reset link lives an hour at most, whatever the worker asks',
  )
  t.same(
    await rows(su, `select actor_user_id, ip, user_agent, request_id from audit_log where action = 'auth.password_reset_requested' and entity_id = $1`, [user]),
    [{ actor_user_id: null, ip: '198.51.100.7', user_agent: 'Probe', request_id: 'req-1' }],
    'audited about the user, with no actor and the original request\'s metadata',
  )
})

t.test('a rate-limit unit comes back only with its own hit\'s ticket, once', async (t) => {
  // Threat: an injected call resets another account's lockout (the refund used to take any key).
  const key = `login_account:${tokenHash().toString('hex')}`
  const hit = (refundable: boolean) => rows<{ count: number; ticket: string | null }>(runtime, `select count, ticket from app.rate_limit_hit($1, 1, now() + interval '1 hour', $2)`, [key, refundable])
  for (let i = 0; i < 3; i++) await hit(false)
  const [mine] = await hit(true)
  t.equal(mine!.count, 4)
  t.equal((await hit(false))[0]!.ticket, null, 'a plain hit has no ticket')
  const refund = (ticket: string) => rows<{ ok: boolean }>(runtime, 'select app.rate_limit_refund($1) as ok', [ticket])
  t.same(await refund('00000000-0000-4000-8000-000000000000'), [{ ok: false }], 'a made-up ticket refunds nothing')
  t.same(await rows(su, 'select count from rate_limits where key = $1', [key]), [{ count: 5 }])
  t.same(await refund(mine!.ticket!), [{ ok: true }], 'the hit\'s own ticket refunds its unit')
  t.same(await refund(mine!.ticket!), [{ ok: false }], 'once')
  t.same(await rows(su, 'select count from rate_limits where key = $1', [key]), [{ count: 4 }])
  t.same(await rows(su, `select count(*)::int as n from rate_limit_refunds where key = $1`, [key]), [{ n: 0 }], 'and the ticket is gone')
  const [swept] = await rows<{ n: number }>(runtime, `select app.rate_limit_sweep(now() + interval '100 years') as n`)
  t.same(await rows(su, 'select count from rate_limits where key = $1', [key]), [{ count: 4 }], `a sweep with a future time deletes no live counter (${swept!.n} expired ones went)`)
})

t.test('a role outside app_runtime cannot execute the privileged functions', async (t) => {
  // Threat: any other login in the cluster (PUBLIC) calls the functions that cross tenants.
  const login = await createLogin(t, su, db.appUrl)
  const outsider = await connect(t, login.url)
  t.same(await pgError(outsider.query('select * from app.begin_request(null, null)')), permissionDenied('schema', 'app'), 'the app schema is closed to it')

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

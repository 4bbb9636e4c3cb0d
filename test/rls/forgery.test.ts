// A statement injected as the runtime login stays inside the verified session it rides on. Each
// scenario below is one way an attacker holding the runtime login (psql "$APP_DATABASE_URL", or
// a statement smuggled into a request) might pose as tenant B's owner: no context, custom
// settings forged inside the transaction or planted on the connection beforehand, a context
// B's own request left on this pooled connection, and the attacker's own real session with
// forged settings on top. In every one, table by table and function by function: nothing of B's
// is visible, nothing of B's changes, and no audit row is attributed to B.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  CONTEXT_SETTINGS, beginRequest, inRequest, ownerOf, plantSettings, rows, seedCustomRole, seedDepartment, seedEmailToken, seedInvite, seedMfa, seedSession,
  seedTenant, tokenHash, type Sql,
} from '../helpers/rls.js'
import { DECOY, setPassword, storedPassword } from '../helpers/passwords.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)

// The victim: tenant B with a bit of everything.
const b = await seedTenant(su)
await setPassword(su, b.ownerId)
const bEmail = (await rows<{ email: string }>(su, 'select email from users where id = $1', [b.ownerId]))[0]!.email
const bVerifyLink = await seedEmailToken(su, b.ownerId, 'verify_email')
await seedEmailToken(su, b.ownerId, 'reset_password')
await seedMfa(su, b.ownerId)
const bInvite = await seedInvite(su, b.workspaceId, b.ownerId)
const bRole = await seedCustomRole(su, b.workspaceId)
const bDepartment = await seedDepartment(su, b.workspaceId, 'B sales')
const bApiToken = (await rows<{ id: string }>(su, `insert into api_tokens (workspace_id, name, token_hash, hint, scopes, created_by)
  values ($1, 'B integration', $2, 'abcd', '{contacts:read}', $3) returning id`, [b.workspaceId, tokenHash(), b.ownerId]))[0]!.id
await seedSession(su, b.ownerId)
// B's channel credentials and the data key that seals them (ciphertext only, as the service stores them).
await su.query(`insert into workspace_keys (workspace_id, kid, data_key_encrypted) values ($1, 'k1', 'v1.k1.iv.body.tag')`, [b.workspaceId])
await su.query(`insert into channel_credentials (workspace_id, type, secrets_encrypted, masked)
                values ($1, 'telegram', '{"botToken": "v1.w1.iv.body.tag"}', '{"botToken": "••••abcd"}')`, [b.workspaceId])
// B's own request writes an audited contact, so B's chain and B's user have audit rows.
await inRequest(await connect(t, db.appUrl), { ...ownerOf(b), ip: '192.0.2.1' }, (sql) =>
  sql.query(`insert into contacts (workspace_id, name, owner_id, created_by) values ($1, 'B private', $2, $2)`, [b.workspaceId, b.ownerId]))

// The attacker: a signed-in user with a workspace of their own.
const c = await seedTenant(su)
const newHash = await storedPassword('an attacker password')

/** Every setting that once made a context, pointing at B. */
const FORGED = Object.fromEntries(CONTEXT_SETTINGS.map((name) => [name, name.endsWith('_id') || name.endsWith('acting_as')
  ? (name === 'app.workspace_id' ? b.workspaceId : b.ownerId) : 'forged'])) as Record<(typeof CONTEXT_SETTINGS)[number], string>

interface Scenario {
  name: string
  /** Opens the attacker's transaction on `client` (a fresh runtime connection). */
  open(client: Sql): Promise<void>
  /** Whose verified identity the transaction legitimately has: nobody, or the attacker C. */
  identity: string | null
}

const SCENARIOS: Scenario[] = [
  { name: 'no context at all', identity: null, open: async (sql) => { await sql.query('begin') } },
  {
    name: 'settings forged inside the transaction', identity: null,
    open: async (sql) => { await sql.query('begin'); await plantSettings(sql, FORGED) },
  },
  {
    name: 'settings planted on the pooled connection beforehand', identity: null,
    open: async (sql) => { await plantSettings(sql, FORGED, true); await sql.query('begin') },
  },
  {
    name: 'an anonymous request, then forged settings', identity: null,
    open: async (sql) => { await sql.query('begin'); await beginRequest(sql); await plantSettings(sql, FORGED) },
  },
  {
    name: "B's own request served on this connection, then a transaction without one", identity: null,
    open: async (sql) => {
      await inRequest(sql, ownerOf(b), (s) => s.query('select count(*) from contacts'))
      await sql.query('begin')
      await sql.query(`insert into email_outbox (to_address, template) values ('probe@rls.test', 'probe')`) // a transaction id of its own
      await plantSettings(sql, FORGED)
    },
  },
  {
    name: "the attacker's own session naming B's workspace, then forged settings", identity: c.ownerId,
    open: async (sql) => { await sql.query('begin'); await beginRequest(sql, { session: c.session, workspaceId: b.workspaceId }); await plantSettings(sql, FORGED) },
  },
]

// ---------------------------------------------------------------------------------------------
// B's state, as the superuser sees it: compared before and after every scenario.
// ---------------------------------------------------------------------------------------------
const B_ROWS: Record<string, string> = {
  users: `id = '${b.ownerId}'`,
  sessions: `user_id = '${b.ownerId}'`,
  email_tokens: `user_id = '${b.ownerId}'`,
  user_mfa: `user_id = '${b.ownerId}'`,
  mfa_backup_codes: `user_id = '${b.ownerId}'`,
  mfa_challenges: `user_id = '${b.ownerId}'`,
  workspaces: `id = '${b.workspaceId}'`,
  memberships: `workspace_id = '${b.workspaceId}'`,
  contacts: `workspace_id = '${b.workspaceId}'`,
  workspace_invites: `workspace_id = '${b.workspaceId}'`,
  workspace_roles: `workspace_id = '${b.workspaceId}'`,
  departments: `workspace_id = '${b.workspaceId}'`,
  platform_admins: `user_id = '${b.ownerId}'`,
  audit_log: `workspace_id = '${b.workspaceId}'`,
  audit_chain_heads: `chain_key = '${b.workspaceId}'`,
  api_tokens: `workspace_id = '${b.workspaceId}'`,
  billing_events: `workspace_id = '${b.workspaceId}' or id = 'evt_forged'`,
  workspace_keys: `workspace_id = '${b.workspaceId}'`,
  channel_credentials: `workspace_id = '${b.workspaceId}'`,
  email_outbox: `from_workspace_id = '${b.workspaceId}'`,
}
async function snapshotOfB(): Promise<string> {
  const out: Record<string, unknown> = {}
  for (const [table, where] of Object.entries(B_ROWS)) {
    out[table] = (await rows(su, `select to_jsonb(t)::text as row from ${table} t where ${where} order by 1`)).map((r) => r.row)
  }
  return JSON.stringify(out)
}

// The tables the runtime may read, and the columns it may read of each.
const readable = await rows<{ name: string; columns: string[] }>(
  su,
  `select c.relname as name,
          array(select a.attname::text from pg_attribute a
                 where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                   and has_column_privilege('app_runtime', c.oid, a.attnum, 'SELECT') order by a.attnum) as columns
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and has_any_column_privilege('app_runtime', c.oid, 'SELECT')
    order by 1`,
)

/** B's rows of `table` restricted to the runtime-readable columns, as JSON strings. */
async function bRowsOf(table: string, columns: string[]): Promise<Set<string>> {
  const where = B_ROWS[table]
  if (!where) return new Set()
  const list = columns.map((col) => `"${col}"`).join(', ')
  return new Set((await rows(su, `select ${list} from ${table} where ${where}`)).map((r) => JSON.stringify(r)))
}

t.test('the tables cover every table the runtime can read', async (t) => {
  // Threat: a table added later is readable by the runtime but not in this suite.
  for (const { name } of readable) {
    t.ok(name in B_ROWS || name === 'request_contexts', `${name} is checked for B's rows`)
  }
  // Control: B's own request does see B's rows, so "nothing visible" below means something.
  const control = await connect(t, db.appUrl)
  await inRequest(control, ownerOf(b), async (sql) => {
    for (const table of ['contacts', 'memberships', 'workspaces', 'users', 'sessions', 'user_mfa', 'audit_log', 'workspace_invites', 'workspace_roles', 'departments', 'api_tokens', 'workspace_keys', 'channel_credentials']) {
      const [seen] = await rows<{ n: number }>(sql, `select count(*)::int as n from ${table}`)
      t.ok(seen!.n > 0, `control: B's own request sees B's ${table}`)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Writes the runtime may make at all, aimed at B. A new table the runtime can write must be added.
// ---------------------------------------------------------------------------------------------
const WRITES: Record<string, string[]> = {
  contacts: [
    `insert into contacts (workspace_id, name) values ('${b.workspaceId}', 'planted')`,
    `update contacts set name = 'hijacked' where workspace_id = '${b.workspaceId}'`,
    `delete from contacts where workspace_id = '${b.workspaceId}'`,
  ],
  users: [`update users set name = 'hijacked' where id = '${b.ownerId}'`],
  sessions: [`update sessions set revoked_at = now() where user_id = '${b.ownerId}'`],
  email_tokens: [`insert into email_tokens (user_id, purpose, token_hash, expires_at) values ('${b.ownerId}', 'verify_email', '\\x${tokenHash().toString('hex')}', now() + interval '1 day')`],
  // Anyone may queue an email (forgot-password is anonymous); a queued row touches nobody's data.
  email_outbox: [
    `insert into email_outbox (to_address, template) values ('${bEmail}', 'forged')`,
    // …but never as B's: B's own Resend credential would send it (the worker's fallback).
    `insert into email_outbox (to_address, template, from_workspace_id) values ('victim@rls.test', 'forged', '${b.workspaceId}')`,
  ],
  workspace_keys: [`insert into workspace_keys (workspace_id, kid, data_key_encrypted) values ('${b.workspaceId}', 'k1', 'v1.planted')`],
  channel_credentials: [
    `insert into channel_credentials (workspace_id, type, secrets_encrypted, masked) values ('${b.workspaceId}', 'resend', '{}', '{}')`,
    `update channel_credentials set masked = '{}' where workspace_id = '${b.workspaceId}'`,
    `delete from channel_credentials where workspace_id = '${b.workspaceId}'`,
  ],
}

t.test('the writes cover every table the runtime can write', async (t) => {
  // Threat: a table added later is writable by the runtime but not attacked here.
  const writable = await rows<{ name: string }>(
    su,
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p')
        and (has_any_column_privilege('app_runtime', c.oid, 'INSERT') or has_table_privilege('app_runtime', c.oid, 'DELETE')
             or has_any_column_privilege('app_runtime', c.oid, 'UPDATE'))
      order by 1`,
  )
  t.same(writable.map((r) => r.name).sort(), Object.keys(WRITES).sort(), 'exactly these tables')
})

// ---------------------------------------------------------------------------------------------
// Every SECURITY DEFINER function the runtime may execute, called with arguments aimed at B.
// An outcome is an SQLSTATE, or 'ok' with the result; `allowed` says which are acceptable.
// A new function the runtime can execute must be added here.
// ---------------------------------------------------------------------------------------------
type Outcome = { code: string } | { result: unknown[] }
const refused = (...codes: string[]) => (o: Outcome) => 'code' in o && codes.includes(o.code)
const answered = (check: (rows: unknown[]) => boolean) => (o: Outcome) => 'result' in o && check(o.result)
const nothing = answered((r) => r.length === 0 || r.every((row) => Object.values(row as object).every((v) => v === null || v === false)))
const notB = answered((r) => !JSON.stringify(r).includes(b.ownerId) && !JSON.stringify(r).includes(b.workspaceId))
const step = Math.floor(Date.now() / 30_000)
const tenHashes = Array.from({ length: 10 }, () => tokenHash())

const FUNCTIONS: Record<string, { call: string; values?: unknown[]; allowed: (o: Outcome) => boolean }> = {
  begin_request: { call: 'select * from app.begin_request($1, $2)', values: [tokenHash(), b.workspaceId], allowed: nothing },
  // A token context needs a live token's hash; the attacker has none of B's.
  begin_token_request: { call: 'select * from app.begin_token_request($1, $2)', values: [tokenHash(), b.workspaceId], allowed: nothing },
  create_api_token: {
    call: `select * from app.create_api_token('Planted', '{contacts:read,members:manage}', $1, 'abcd', null)`, values: [tokenHash()], allowed: refused('GHAUT', 'GHMEM'),
  },
  revoke_api_token: { call: 'select app.revoke_api_token($1)', values: [bApiToken], allowed: refused('GHAUT', 'GHMEM') },
  delete_workspace: { call: 'select app.delete_workspace($1)', values: ['Acme'], allowed: refused('GHMEM', 'GHAUT') },
  outbox_sender_credential: { call: 'select * from app.outbox_sender_credential($1)', values: [b.workspaceId], allowed: refused('GHFBD') },
  reissue_session: { call: 'select app.reissue_session($1, $2)', values: [tokenHash(), tokenHash()], allowed: nothing },
  current_user_profile: { call: 'select * from app.current_user_profile()', allowed: notB },
  login_settings: {
    call: 'select app.login_settings($1, $2) as s', values: [bEmail, DECOY],
    // Salt and parameters only: never the stored hash.
    allowed: answered((r) => !(r[0] as { s: string }).s.endsWith((B_HASH ?? '').split('$')[5]!)),
  },
  register: {
    call: 'select * from app.register($1, $2, $3, $4, 3600, 3600)', values: [bEmail, 'Squatter', newHash, tokenHash()],
    allowed: refused('GHETK', '55000'),
  },
  sign_in: {
    call: 'select * from app.sign_in($1, $2, $3, $4, $5, 3600, 3600, 300)', values: [bEmail, tokenHash(), newHash, tokenHash(), tokenHash()],
    allowed: refused('GHCRD'),
  },
  my_password_settings: { call: 'select app.my_password_settings() as s', allowed: answered((r) => (r[0] as { s: string | null }).s !== (B_HASH ?? '').slice(0, (B_HASH ?? '').lastIndexOf('$'))) },
  change_password: { call: 'select app.change_password($1, $2, $3, 3600, 3600)', values: [tokenHash(), newHash, tokenHash()], allowed: refused('GHAUT', 'GHCRD') },
  verify_email: { call: 'select app.verify_email($1)', values: [bVerifyLink], allowed: refused('GHAUT', 'GHFBD') },
  reset_password: { call: 'select app.reset_password($1, $2)', values: [tokenHash(), newHash], allowed: refused('GHTOK') },
  // An event about B's account with no actor (or the attacker as actor): attributes nothing to B.
  record_login_throttled: { call: 'select app.record_login_throttled($1, $2)', values: [bEmail, '{}'], allowed: answered(() => true) },
  create_workspace: { call: `select app.create_workspace('Stolen')`, allowed: refused('GHAUT', 'GHWLR') },
  my_workspaces: { call: 'select * from app.my_workspaces()', allowed: notB },
  admin_list_workspaces: { call: 'select * from app.admin_list_workspaces(null)', allowed: refused('GHFBD') },
  admin_transition_workspace: { call: `select * from app.admin_transition_workspace('suspend', $1, 'x', null)`, values: [b.workspaceId], allowed: refused('GHFBD') },
  admin_audit_log: { call: 'select * from app.admin_audit_log(null, null, 100)', allowed: refused('GHFBD') },
  // Deletes only rows past their retention by the database's clock (sql/190).
  sweep_expired: { call: 'select * from app.sweep_expired(10)', allowed: answered(() => true) },
  admin_reset_mfa: { call: `select * from app.admin_reset_mfa($1, 'forged')`, values: [b.ownerId], allowed: refused('GHFBD') },
  admin_security_events: { call: 'select * from app.admin_security_events(null, null, 100)', allowed: refused('GHFBD') },
  workspace_security_events: { call: 'select * from app.workspace_security_events(null, null, 100)', allowed: (o) => refused('GHMEM', 'GHFBD')(o) || notB(o) },
  // Anyone may record a refusal (the service does, after a request rolled back), naming any
  // workspace as a request's header can; who made it comes only from a live session's token hash.
  record_security_event: {
    call: `select app.record_security_event('forbidden', 'GET', '/forged', $1, $2, $3, null, null, null) as recorded`,
    values: [tokenHash(), bEmail, b.workspaceId], allowed: answered(() => true),
  },
  audit_event: {
    call: `select app.audit_event('auth.login', 'user', $1, null, null, true)`, values: [b.ownerId],
    // Refused without an actor; with the attacker's session, attributed to the attacker.
    allowed: (o) => refused('42501')(o) || answered(() => true)(o),
  },
  begin_worker: { call: 'select app.begin_worker($1)', values: [tokenHash()], allowed: refused('GHFBD') },
  // Without the billing key nothing is recorded and no workspace is marked paid.
  apply_billing_event: {
    call: `select app.apply_billing_event($1, 'evt_forged', 'customer.subscription.updated', $2, 'active', null)`,
    values: [tokenHash(), b.workspaceId], allowed: refused('GHFBD'),
  },
  outbox_claim: { call: 'select * from app.outbox_claim(10)', allowed: refused('GHFBD') },
  outbox_settle: { call: `select app.outbox_settle(gen_random_uuid(), 'sent', 'x', null, null, null, null)`, allowed: refused('GHFBD') },
  issue_password_reset: { call: 'select * from app.issue_password_reset($1, $2, 3600, null, null, null)', values: [bEmail, tokenHash()], allowed: refused('GHFBD') },
  // Counting is open to anyone (it only ever adds); a refund needs the hit's own ticket.
  rate_limit_hit: { call: `select * from app.rate_limit_hit('forgery', 1, now() + interval '1 hour')`, allowed: answered(() => true) },
  rate_limit_refund: { call: 'select app.rate_limit_refund(gen_random_uuid()) as ok', allowed: nothing },
  rate_limit_sweep: { call: `select app.rate_limit_sweep(now() + interval '100 years')`, allowed: answered(() => true) },
  mfa_challenge: { call: 'select * from app.mfa_challenge($1)', values: [tokenHash()], allowed: nothing },
  complete_mfa_sign_in: { call: 'select * from app.complete_mfa_sign_in($1, null, $2, $3, 3600, 3600)', values: [tokenHash(), [tokenHash()], tokenHash()], allowed: refused('GHTOK') },
  mfa_setup: { call: `select app.mfa_setup($1, 'v1.k.a.b.c')`, values: [tokenHash()], allowed: refused('GHAUT', 'GHCRD') },
  mfa_enable: { call: 'select app.mfa_enable($1, $2, $3, 3600, 3600)', values: [step, tenHashes, tokenHash()], allowed: refused('GHAUT', 'GHCFL') },
  mfa_disable: { call: 'select app.mfa_disable($1, $2, null, $3, 3600, 3600)', values: [tokenHash(), step, tokenHash()], allowed: refused('GHAUT', 'GHCFL') },
  mfa_regenerate_backup_codes: {
    call: 'select app.mfa_regenerate_backup_codes($1, $2, $3, 3600, 3600)', values: [step, tenHashes, tokenHash()], allowed: refused('GHAUT', 'GHCFL'),
  },
  workspace_members: { call: 'select * from app.workspace_members()', allowed: nothing },
  change_member_role: { call: 'select app.change_member_role($1, $2)', values: [b.ownerId, bRole], allowed: refused('GHAUT', 'GHMEM') },
  remove_member: { call: 'select app.remove_member($1)', values: [b.ownerId], allowed: refused('GHAUT', 'GHMEM') },
  place_member: {
    call: `select app.place_member($1, true, $2, true, 'all')`, values: [b.ownerId, bDepartment], allowed: refused('GHAUT', 'GHMEM'),
  },
  create_invite: { call: `select * from app.create_invite('friend@rls.test', 'owner', $1, now() + interval '1 day')`, values: [tokenHash()], allowed: refused('GHAUT', 'GHMEM') },
  revoke_invite: { call: 'select app.revoke_invite($1)', values: [bInvite.id], allowed: refused('GHAUT', 'GHMEM') },
  accept_invite: { call: 'select * from app.accept_invite($1)', values: [bInvite.hash], allowed: (o) => refused('GHAUT')(o) || answered((r) => (r[0] as { outcome: string }).outcome !== 'ok')(o) },
  create_role: { call: `select * from app.create_role('Boss', '{members:manage,billing:read}')`, allowed: refused('GHAUT', 'GHMEM') },
  update_role: { call: `select * from app.update_role($1, 'Hijacked', '{members:manage,billing:read}')`, values: [bRole], allowed: refused('GHAUT', 'GHMEM') },
  delete_role: { call: 'select app.delete_role($1)', values: [bRole], allowed: refused('GHAUT', 'GHMEM') },
  create_department: { call: `select * from app.create_department('Planted', $1)`, values: [bDepartment], allowed: refused('GHAUT', 'GHMEM') },
  update_department: {
    call: `select * from app.update_department($1, 'Hijacked', true, null)`, values: [bDepartment], allowed: refused('GHAUT', 'GHMEM'),
  },
  delete_department: { call: 'select app.delete_department($1)', values: [bDepartment], allowed: refused('GHAUT', 'GHMEM') },
}
const B_HASH = (await rows<{ h: string }>(su, 'select password_hash as h from users where id = $1', [b.ownerId]))[0]!.h

t.test('the functions cover every privileged function the runtime can execute', async (t) => {
  // Threat: a privileged function added later is callable by the runtime but never attacked here.
  const executable = await rows<{ name: string }>(
    su,
    `select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'app' and p.prosecdef and has_function_privilege('app_runtime', p.oid, 'EXECUTE') order by 1`,
  )
  t.same(executable.map((r) => r.name).sort(), Object.keys(FUNCTIONS).sort(), 'exactly these functions')
  // The rest of what the runtime may execute reads the sealed context and nothing else.
  const invokers = await rows<{ name: string }>(
    su,
    `select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'app' and not p.prosecdef and has_function_privilege('app_runtime', p.oid, 'EXECUTE') order by 1`,
  )
  t.same(invokers.map((r) => r.name), [
    'audit_require_actor', 'billing_keeps_writes', 'contact_in_scope', 'current_account_id', 'current_contacts_access', 'current_context_kind', 'current_permissions',
    'current_session_id', 'current_user_id', 'current_workspace_id', 'current_workspace_writable',
  ], 'and these helpers')
})

for (const scenario of SCENARIOS) {
  t.test(scenario.name, async (t) => {
    const before = await snapshotOfB()
    const auditBefore = (await rows<{ n: string }>(su, 'select count(*)::text as n from audit_log'))[0]!.n
    const attacker = await connect(t, db.appUrl)
    await scenario.open(attacker)

    const [ctx] = await rows(attacker, 'select app.current_user_id() as user_id, app.current_workspace_id() as workspace_id, app.current_session_id() is not null as session')
    t.same(ctx, { user_id: scenario.identity, workspace_id: null, session: scenario.identity !== null }, 'the context is only what was verified')

    for (const { name, columns } of readable) {
      const seen = (await rows(attacker, `select ${columns.map((col) => `"${col}"`).join(', ')} from ${name}`)).map((r) => JSON.stringify(r))
      const ofB = await bRowsOf(name, columns)
      t.same(seen.filter((row) => ofB.has(row)), [], `${name}: none of B's rows is visible`)
      if (scenario.identity === null && name !== 'request_contexts') t.same(seen, [], `${name}: nothing at all is visible`)
    }

    for (const [table, statements] of Object.entries(WRITES)) {
      for (const statement of statements) {
        await attacker.query('savepoint attempt')
        try {
          const result = await attacker.query(statement)
          if (table !== 'email_outbox') t.equal(result.rowCount, 0, `${statement}: changes nothing`)
          await attacker.query('release savepoint attempt')
        } catch (err) {
          // Queuing an email is allowed (see WRITES); queuing one as B's is not.
          const mayQueue = table === 'email_outbox' && !statement.includes(b.workspaceId)
          t.equal((err as { code?: string }).code, mayQueue ? undefined : '42501', `${statement.split(' ').slice(0, 3).join(' ')} …: refused`)
          await attacker.query('rollback to savepoint attempt')
        }
      }
    }

    for (const [name, spec] of Object.entries(FUNCTIONS)) {
      await attacker.query('savepoint call')
      let outcome: Outcome
      try {
        outcome = { result: (await attacker.query(spec.call, spec.values ?? [])).rows }
        await attacker.query('release savepoint call')
      } catch (err) {
        outcome = { code: String((err as { code?: string }).code) }
        await attacker.query('rollback to savepoint call')
      }
      t.ok(spec.allowed(outcome), `${name}: ${JSON.stringify(outcome).slice(0, 160)}`)
    }

    await attacker.query('commit')
    await attacker.query('discard all') // the next scenario starts from a clean connection
    t.equal(await snapshotOfB(), before, "B's rows are exactly as they were")
    const written = await rows<{ actor_user_id: string | null; workspace_id: string | null; action: string }>(
      su, 'select actor_user_id, workspace_id, action from audit_log where chain_seq > 0 order by created_at desc limit (select count(*) from audit_log) - $1::bigint', [auditBefore])
    for (const row of written) {
      t.ok(row.actor_user_id === null || row.actor_user_id === scenario.identity, `${row.action}: attributed to ${row.actor_user_id ?? 'nobody'}, never to B`)
      t.not(row.workspace_id, b.workspaceId, `${row.action}: not in B's chain`)
    }
  })
}

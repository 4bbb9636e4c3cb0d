// Fixtures and context for the RLS suite (test/rls/): tenants seeded as superuser (which bypasses
// row-level security), then SQL run as the runtime role inside a transaction whose context was
// sealed the real way: app.begin_request with a session's token hash, as the service opens every
// request. Nothing here sets an app.* setting to make a context (that proves nothing: the
// database ignores such settings); the forgery tests set them to show exactly that.
import { createHash, randomBytes } from 'node:crypto'
import pg from 'pg'

/** Anything that can run a parameterised query: a pg.Client or a pooled client. */
export interface Sql {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>
}

interface Teardown {
  teardown(fn: () => unknown): void
}

function unique(prefix: string): string {
  return `${prefix}${randomBytes(6).toString('hex')}`
}

/** A user row; verified unless told otherwise. Returns its id. */
export async function seedUser(sql: Sql, opts: { verified?: boolean } = {}): Promise<string> {
  const { rows } = await sql.query<{ id: string }>(
    `insert into users (email, name, password_hash, email_verified_at)
     values ($1, 'RLS test user', 'not-a-real-hash', case when $2 then now() end) returning id`,
    [`${unique('u')}@rls.test`, opts.verified ?? true],
  )
  return rows[0]!.id
}

export type WorkspaceStatus = 'pending_approval' | 'active' | 'rejected' | 'suspended'

export interface TenantState {
  status?: WorkspaceStatus
  /** Days from now to the end of the trial (negative: expired); null: no trial. Default 14. */
  trialDays?: number | null
  billing?: 'none' | 'trialing' | 'active' | 'past_due' | 'canceled'
  /** How many contacts to create. Default 2. */
  contacts?: number
}

export interface Tenant {
  workspaceId: string
  ownerId: string
  /** The owner's live session (its token hash): what app.begin_request verifies. */
  session: Buffer
  contactIds: string[]
}

/**
 * A workspace (default: active, 14 days of trial, no billing) with its owner's membership and
 * some contacts, inserted as superuser so the state need not be reachable through the API.
 */
export async function seedTenant(sql: Sql, state: TenantState = {}): Promise<Tenant> {
  const ownerId = await seedUser(sql)
  const trialDays = state.trialDays === undefined ? 14 : state.trialDays
  const { rows } = await sql.query<{ id: string }>(
    `insert into workspaces (name, owner_id, status, trial_ends_at, billing_status)
     values ($1, $2, $3, case when $4::int is not null then now() + make_interval(days => $4::int) end, $5)
     returning id`,
    [unique('ws '), ownerId, state.status ?? 'active', trialDays, state.billing ?? 'none'],
  )
  const workspaceId = rows[0]!.id
  await sql.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'owner')`, [workspaceId, ownerId])
  const contacts = await sql.query<{ id: string }>(
    `insert into contacts (workspace_id, name, owner_id, created_by)
     select $1, 'Contact ' || n, $2, $2 from generate_series(1, $3::int) n returning id`,
    [workspaceId, ownerId, state.contacts ?? 2],
  )
  return { workspaceId, ownerId, session: await seedSession(sql, ownerId), contactIds: contacts.rows.map((r) => r.id) }
}

/** A random 32-byte value standing in for SHA-256(token): what the database stores. */
export function tokenHash(): Buffer {
  return createHash('sha256').update(randomBytes(32)).digest()
}

export interface SessionState {
  /** Seconds until the absolute expiry (negative: expired). Default 3600. */
  expiresIn?: number
  idleTimeoutSeconds?: number
  /** Seconds since the last activity. Default 0. */
  lastSeenAgo?: number
  revoked?: boolean
  /** Signed in with a second factor (sessions.mfa_at set). Default false. */
  mfa?: boolean
}

/** A session for `userId`; returns its token hash. */
export async function seedSession(sql: Sql, userId: string, s: SessionState = {}): Promise<Buffer> {
  const hash = tokenHash()
  await sql.query(
    `insert into sessions (user_id, token_hash, expires_at, idle_timeout_seconds, last_seen_at, revoked_at, mfa_at)
     values ($1, $2, now() + make_interval(secs => $3), $4, now() - make_interval(secs => $5), case when $6 then now() end,
             case when $7 then now() end)`,
    [userId, hash, s.expiresIn ?? 3600, s.idleTimeoutSeconds ?? 1800, s.lastSeenAgo ?? 0, s.revoked ?? false, s.mfa ?? false],
  )
  return hash
}

/** An unused emailed token for `userId`; returns its token hash. */
export async function seedEmailToken(
  sql: Sql,
  userId: string,
  purpose: 'verify_email' | 'reset_password',
  expiresIn = 3600,
): Promise<Buffer> {
  const hash = tokenHash()
  await sql.query(
    `insert into email_tokens (user_id, purpose, token_hash, expires_at) values ($1, $2, $3, now() + make_interval(secs => $4))`,
    [userId, purpose, hash, expiresIn],
  )
  return hash
}

/** An open invitation into `workspaceId` (a day to live); returns its id and token hash. */
export async function seedInvite(sql: Sql, workspaceId: string, invitedBy: string, email = `${unique('invitee')}@rls.test`): Promise<{ id: string; hash: Buffer }> {
  const hash = tokenHash()
  const { rows } = await sql.query<{ id: string }>(
    `insert into workspace_invites (workspace_id, email, role, token_hash, invited_by, expires_at)
     values ($1, $2, 'agent', $3, $4, now() + interval '1 day') returning id`,
    [workspaceId, email, hash, invitedBy],
  )
  return { id: rows[0]!.id, hash }
}

export interface Request {
  /** The token hash of the session the request carries (seedSession, seedTenant); none: anonymous. */
  session?: Buffer | null
  /** The workspace the request names (sealed only for a member). */
  workspaceId?: string | null
  /** Request metadata, recorded with every audit row of the transaction. */
  ip?: string
  userAgent?: string
  requestId?: string
}

/** Opens the request's context in the current transaction as the service does: app.begin_request. */
export async function beginRequest(client: Sql, req: Request = {}): Promise<Record<string, unknown> | undefined> {
  const { rows } = await client.query('select * from app.begin_request($1, $2, $3, $4, $5)', [
    req.session ?? null, req.workspaceId ?? null, req.ip ?? null, req.userAgent ?? null, req.requestId ?? null,
  ])
  return rows[0]
}

/**
 * Runs `fn` in one transaction opened like a request: BEGIN, then app.begin_request with
 * `req`'s session token hash and workspace. Commits when `fn` succeeds, so callers can check
 * afterwards, as superuser, that nothing changed; rolls back and rethrows when it fails.
 */
export async function inRequest<T>(client: Sql, req: Request, fn: (sql: Sql) => Promise<T>): Promise<T> {
  await client.query('begin')
  try {
    await beginRequest(client, req)
    const result = await fn(client)
    await client.query('commit')
    return result
  } catch (err) {
    await client.query('rollback')
    throw err
  }
}

/** A tenant's owner, signed in, acting in their workspace. */
export function ownerOf(tenant: Tenant): Request {
  return { session: tenant.session, workspaceId: tenant.workspaceId }
}

/** Every custom setting an attacker might plant to pose as someone (the names Gatehouse once used). */
export const CONTEXT_SETTINGS = [
  'app.workspace_id', 'app.user_id', 'app.session_id', 'app.token_id', 'app.acting_as', 'app.ip', 'app.user_agent', 'app.request_id',
] as const

/** Sets every context setting to `values` (transaction-local unless `sessionLevel`): a forgery. */
export async function plantSettings(client: Sql, values: Partial<Record<(typeof CONTEXT_SETTINGS)[number], string>>, sessionLevel = false): Promise<void> {
  for (const [name, value] of Object.entries(values)) {
    await client.query('select set_config($1, $2, $3)', [name, value, !sessionLevel])
  }
}

/** Rows of `sql` as superuser, for "nothing changed" checks. */
export async function rows<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: Sql, text: string, values?: unknown[]): Promise<R[]> {
  return (await sql.query<R>(text, values)).rows
}

export interface PgError {
  code: string | undefined
  message: string
  /** Only for constraint violations. */
  constraint?: string
}

/**
 * The PostgreSQL error `op` fails with (code, message and, when there is one, the constraint),
 * or null if it succeeds: compare it whole with t.same so both code and message are exact.
 */
export async function pgError(op: Promise<unknown>): Promise<PgError | null> {
  try {
    await op
    return null
  } catch (err) {
    const e = err as { code?: string; message: string; constraint?: string }
    return { code: e.code, message: e.message, ...(e.constraint ? { constraint: e.constraint } : {}) }
  }
}

interface Same {
  same(found: unknown, wanted: unknown, message: string): unknown
}

/** `op` fails with exactly `expected`, and `snapshot` (read as superuser) is the same before and after. */
export async function refusedUnchanged(
  t: Same, snapshot: () => Promise<unknown>, op: () => Promise<unknown>, expected: PgError, label: string,
): Promise<void> {
  const before = await snapshot()
  t.same(await pgError(op()), expected, label)
  t.same(await snapshot(), before, `${label}: nothing changed`)
}

/** A privileged function's refusal: its SQLSTATE (GH…, sql/020_context.sql) and message. */
export function refusal(code: string, message: string): PgError {
  return { code, message }
}

/** The error of a row rejected by the permissive policies (no policy is named). */
export function rlsViolation(table: string): PgError {
  return { code: '42501', message: `new row violates row-level security policy for table "${table}"` }
}

/** The error of a row rejected by one restrictive policy (PostgreSQL names it). */
export function restrictiveViolation(policy: string, table: string): PgError {
  return { code: '42501', message: `new row violates row-level security policy "${policy}" for table "${table}"` }
}

/** The error of a missing privilege, e.g. permissionDenied('table', 'users'). */
export function permissionDenied(kind: 'table' | 'function' | 'schema', name: string): PgError {
  return { code: '42501', message: `permission denied for ${kind} ${name}` }
}

export interface Login {
  name: string
  url: string
}

/**
 * A throwaway login role with `attributes` (e.g. 'superuser', 'bypassrls', 'in role app_runtime'),
 * created as superuser under a random name (roles are cluster-wide and test files run in
 * parallel); it and everything it owns are dropped when the test ends. `url` is `appUrl` with
 * the user and password swapped.
 */
export async function createLogin(t: Teardown, superSql: Sql, appUrl: string, attributes = ''): Promise<Login> {
  const name = unique('gh_rls_login_')
  const password = randomBytes(16).toString('hex')
  await superSql.query(`create role ${name} login password '${password}' ${attributes}`)
  t.teardown(async () => {
    await superSql.query(`drop owned by ${name}`)
    await superSql.query(`drop role ${name}`)
  })
  const url = new URL(appUrl)
  url.username = name
  url.password = password
  return { name, url: url.toString() }
}

/** A random identifier for throwaway schemas and tables. */
export function randomName(prefix: string): string {
  return unique(prefix)
}

/**
 * A SQL condition on `rel` (a pg_class row): the table is append-only, i.e. a BEFORE UPDATE or
 * DELETE row trigger executes app.audit_reject(). The catalogue lint holds such tables to the
 * audit rules instead of the tenant-table rules; tgtype bits: 1 row, 2 before, 8 delete, 16 update.
 */
export function appendOnly(rel: string): string {
  return `exists (select 1 from pg_trigger tg
                   where tg.tgrelid = ${rel}.oid and tg.tgfoid = 'app.audit_reject()'::regprocedure
                     and tg.tgtype & 3 = 3 and tg.tgtype & 24 <> 0)`
}

export interface AuditRow {
  id: string
  workspace_id: string | null
  chain_key: string
  chain_seq: number
  kind: 'event' | 'change'
  actor_user_id: string | null
  action: string
  entity_type: string | null
  entity_id: string | null
  before: Record<string, unknown> | null
  after: Record<string, unknown> | null
  ip: string | null
  user_agent: string | null
  request_id: string | null
  db_role: string
  prev_hash: Buffer | null
  hash: Buffer
}

/** One audit chain (a workspace's, or the platform's under the nil UUID) in order, read as superuser. */
export async function auditChain(superSql: Sql, chainKey: string): Promise<AuditRow[]> {
  return rows<AuditRow>(
    superSql,
    `select id, workspace_id, chain_key, chain_seq::int as chain_seq, kind, actor_user_id, action, entity_type, entity_id,
            before, after, ip, user_agent, request_id, db_role, prev_hash, hash
       from audit_log where chain_key = $1 order by chain_seq`,
    [chainKey],
  )
}

/** A chain's head in audit_chain_heads, read as superuser. */
export async function auditChainHead(superSql: Sql, chainKey: string): Promise<{ seq: number; hash: Buffer } | undefined> {
  const [head] = await rows<{ seq: number; hash: Buffer }>(
    superSql, 'select seq::int as seq, hash from audit_chain_heads where chain_key = $1', [chainKey])
  return head
}

/**
 * What a superuser intent on rewriting history does: switches the append-only guard off (ENABLE
 * ALWAYS triggers survive session_replication_role, but not DISABLE TRIGGER), runs `statements`,
 * and switches it back on ALWAYS, all in one transaction.
 */
export async function tamperAsSuperuser(superSql: Sql, ...statements: string[]): Promise<void> {
  await superSql.query('begin')
  try {
    await superSql.query('alter table audit_log disable trigger audit_log_is_append_only')
    for (const statement of statements) await superSql.query(statement)
    await superSql.query('alter table audit_log enable always trigger audit_log_is_append_only')
    await superSql.query('commit')
  } catch (err) {
    await superSql.query('rollback')
    throw err
  }
}

/** A user's MFA row (enabled), one backup code and one live challenge (sql/180 tables); the challenge's hash. */
export async function seedMfa(sql: Sql, userId: string, opts: { challengeExpiresIn?: number } = {}): Promise<Buffer> {
  await sql.query(`insert into user_mfa (user_id, secret_encrypted, enabled_at) values ($1, 'v1.k1.x.y.z', now())`, [userId])
  await sql.query(`insert into mfa_backup_codes (user_id, code_hash) values ($1, $2)`, [userId, tokenHash()])
  const hash = tokenHash()
  await sql.query(
    `insert into mfa_challenges (user_id, token_hash, expires_at) values ($1, $2, now() + make_interval(secs => $3))`,
    [userId, hash, opts.challengeExpiresIn ?? 300],
  )
  return hash
}

/** The former built-in "viewer" role's permissions: what a custom "Viewer" role holds in tests. */
export const VIEWER_PERMISSIONS = ['workspace:read', 'members:read', 'contacts:read']

/**
 * The id of `workspaceId`'s custom role `name` (RLS bypassed), created with `permissions` if the
 * workspace has none of that name yet.
 */
export async function seedCustomRole(sql: Sql, workspaceId: string, name = 'Viewer', permissions: string[] = VIEWER_PERMISSIONS): Promise<string> {
  const { rows: found } = await sql.query<{ id: string }>(
    'select id from workspace_roles where workspace_id = $1 and lower(name) = lower($2)', [workspaceId, name])
  if (found[0]) return found[0].id
  const { rows } = await sql.query<{ id: string }>(
    'insert into workspace_roles (workspace_id, name, permissions) values ($1, $2, $3) returning id', [workspaceId, name, permissions])
  return rows[0]!.id
}

/** Where a seeded member stands: their contacts scope (null: the role's default) and department. */
export interface Placement {
  contactsScope?: string | null
  departmentId?: string | null
}

/**
 * Inserts a membership (RLS bypassed) with `role`: a built-in name, or "viewer" for the
 * workspace's custom "Viewer" role (seedCustomRole).
 */
export async function seedMembership(sql: Sql, workspaceId: string, userId: string, role: string, placement: Placement = {}): Promise<void> {
  const roleId = role === 'viewer' ? await seedCustomRole(sql, workspaceId) : null
  await sql.query('insert into memberships (workspace_id, user_id, role, role_id, contacts_scope, department_id) values ($1, $2, $3, $4, $5, $6)',
    [workspaceId, userId, roleId ? 'custom' : role, roleId, placement.contactsScope ?? null, placement.departmentId ?? null])
}

/** A new verified user made a member of `workspaceId` with `role` (seedMembership), signed in: the request acting as them there. */
export async function seedMember(sql: Sql, workspaceId: string, role: string, placement: Placement = {}): Promise<Request & { id: string; session: Buffer }> {
  const id = await seedUser(sql)
  await seedMembership(sql, workspaceId, id, role, placement)
  return { id, session: await seedSession(sql, id), workspaceId }
}

/** A department of `workspaceId` (RLS bypassed), under `parentId`; returns its id. */
export async function seedDepartment(sql: Sql, workspaceId: string, name: string, parentId: string | null = null): Promise<string> {
  const { rows } = await sql.query<{ id: string }>('insert into departments (workspace_id, name, parent_id) values ($1, $2, $3) returning id',
    [workspaceId, name, parentId])
  return rows[0]!.id
}

/** SQL for a membership's role as tests compare it: a built-in name, or the custom role's name. */
export const ROLE_LABEL_SQL =
  "case when m.role = 'custom' then (select r.name from workspace_roles r where r.workspace_id = m.workspace_id and r.id = m.role_id) else m.role end"

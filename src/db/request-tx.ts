// The request transaction (invariants 3 and 4) and its context.
//
// One round trip opens it: BEGIN and `SELECT * FROM app.begin_request($1, …)` go out together
// (the runtime pool runs in pipeline mode, src/db/pool.ts), the second as a prepared statement
// with every value bound: the token hash never appears in query text, where pg_stat_activity
// would show it to every other runtime connection. app.begin_request verifies the session and
// seals the transaction's context in the database (sql/020, sql/110) and returns the row the
// gates decide on; nothing here or anywhere else in the service sets a context itself. Handlers
// then run their queries on the same connection, the response is sent only after COMMIT
// succeeds, any error rolls back, and a connection whose transaction is not idle afterwards is
// destroyed rather than returned to the pool.
import pg from 'pg'
import { DrizzleQueryError } from 'drizzle-orm'
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres'
import * as schema from './schema/index.js'
import type { BillingStatus, ContactScope, WorkspaceStatus } from './schema/index.js'
import { AppError } from '../errors.js'
import { isUuid } from '../schemas/common.js'

export type Db = NodePgDatabase<typeof schema>

/** The row app.begin_request (or app.begin_token_request) returns (absent: no valid session or token). */
interface ContextRow {
  session_id: string | null
  user_id: string
  email: string
  name: string
  email_verified: boolean
  is_platform_admin: boolean
  workspace_id: string | null
  role: string | null
  workspace_name: string | null
  workspace_status: string | null
  status_reason: string | null
  trial_ends_at: Date | null
  billing_status: string | null
  billing_grace_ends_at: Date | null
  db_now: Date
  reissue: boolean
  mfa: boolean
  permissions: string[] | null
  contacts_scope: string | null
  department_ids: string[] | null
  /** An API token's request only (sql/210). */
  token_id: string | null
}

/**
 * Who a request is, as the database verified it: a session's user (app.begin_request), or, for
 * an `Authorization: Bearer` request on a workspace route, an API token acting for its creator
 * (app.begin_token_request: `userId` is the creator, `sessionId` null, `tokenId` the token).
 */
export interface Principal {
  userId: string
  /** The verified session; null for an API token's request. */
  sessionId: string | null
  /** The API token that authenticated the request; null for a session. */
  tokenId: string | null
  email: string
  name: string
  emailVerified: boolean
  /** A platform administrator (public.platform_admins: a listed address, verified). */
  isPlatformAdmin: boolean
  /** The session is marked for a new token (a role change of its user, sql/130). */
  sessionNeedsNewToken: boolean
  /** The session was signed in, or has since been confirmed, with a second factor. */
  mfaAuthenticated: boolean
}

/** A session's user: the only principal of 'user', 'verified' and 'admin' routes (plugins/identity.ts). */
export interface SessionPrincipal extends Principal {
  sessionId: string
  tokenId: null
}

/** The workspace a request names, when the principal is a member of it. */
export interface RequestWorkspace {
  id: string
  name: string
  /** As the API names it: a built-in role's name, or the custom role's id. */
  role: string
  /** The role's permissions as the database resolved them for this request. */
  permissions: ReadonlySet<string>
  /** Which contacts the member sees (the database's policies enforce it; lists use it to pick an index). */
  contactsScope: ContactScope
  /** Scope 'department': the member's department and every one below it. */
  departmentIds: readonly string[]
  status: WorkspaceStatus
  statusReason: string | null
  trialEndsAt: Date | null
  billingStatus: BillingStatus
  /** A past_due subscription keeps writes until then (sql/220_billing.sql). */
  billingGraceEndsAt: Date | null
}

/** What app.begin_request resolved and sealed for the transaction. */
export interface Resolved {
  principal: Principal | null
  workspace: RequestWorkspace | null
  /** The transaction's database time: what the database's own gates compare with. */
  now: Date
}

function resolved(row: ContextRow | undefined): Resolved {
  if (!row) return { principal: null, workspace: null, now: new Date() }
  const principal: Principal = {
    userId: row.user_id,
    sessionId: row.session_id,
    tokenId: row.token_id,
    email: row.email,
    name: row.name,
    emailVerified: row.email_verified,
    isPlatformAdmin: row.is_platform_admin,
    sessionNeedsNewToken: row.reissue,
    mfaAuthenticated: row.mfa,
  }
  const workspace: RequestWorkspace | null = row.workspace_id && row.role && row.workspace_status
    ? {
        id: row.workspace_id,
        name: row.workspace_name ?? '',
        role: row.role,
        permissions: new Set(row.permissions ?? []),
        contactsScope: (row.contacts_scope ?? 'own') as ContactScope,
        departmentIds: row.department_ids ?? [],
        status: row.workspace_status as WorkspaceStatus,
        statusReason: row.status_reason,
        trialEndsAt: row.trial_ends_at,
        billingStatus: (row.billing_status ?? 'none') as BillingStatus,
        billingGraceEndsAt: row.billing_grace_ends_at,
      }
    : null
  return { principal, workspace, now: row.db_now }
}

// One drizzle instance per pooled connection, made once: pooled clients are long-lived.
const drizzles = new WeakMap<pg.PoolClient, Db>()
function drizzleFor(client: pg.PoolClient): Db {
  let db = drizzles.get(client)
  if (!db) {
    db = drizzle(client, { schema })
    drizzles.set(client, db)
  }
  return db
}

/**
 * The driver's error behind `err`. Drizzle wraps a failed query's node-postgres error (with its
 * SQLSTATE `code` and `constraint`) as the `cause` of a DrizzleQueryError; anything else is
 * returned as it is.
 */
export function driverError(err: unknown): { code?: string; constraint?: string; message?: string } | undefined {
  const e = err instanceof DrizzleQueryError && err.cause ? err.cause : err
  return e as { code?: string; constraint?: string; message?: string } | undefined
}

/** Errors that mean the database is unreachable or went away: the request did nothing. */
export function isUnavailableError(err: unknown): boolean {
  const e = driverError(err)
  if (!e) return false
  const code = e.code ?? ''
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code) ||
    code.startsWith('08') || // connection exceptions
    code === '57P01' || code === '57P02' || code === '57P03' || // admin/crash shutdown, cannot connect now
    code === '53300' || // too many connections
    code === '40001' || code === '40P01' || // serialization failure, deadlock: retryable
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e.message ?? '')
  )
}

export class RequestTx {
  readonly db: Db
  private done = false
  private saved = false

  constructor(readonly client: pg.PoolClient) {
    this.db = drizzleFor(client)
  }

  get finished(): boolean {
    return this.done
  }

  /** Whether COMMIT succeeded (and not merely whether the transaction ended). */
  get committed(): boolean {
    return this.saved
  }

  /** Commits; a COMMIT that did not commit (failed, or an aborted transaction) throws 503. */
  async commit(): Promise<void> {
    if (this.done) return
    this.done = true
    await this.settleCommit(this.client.query('COMMIT'))
  }

  /**
   * The request's last statement and its COMMIT in one round trip: `statement` has just been
   * sent (a query started on this transaction's connection, not yet awaited), and COMMIT goes
   * out right behind it, in the same write (the runtime pool pipelines). Answers the statement's
   * result once both are back. If the statement fails, its error is thrown and the COMMIT, which
   * PostgreSQL then answers as a ROLLBACK, saves nothing; if the COMMIT fails, 503 as for
   * commit(). Should `statement` not have reached the connection yet (nothing in flight), it is
   * awaited first and COMMIT follows it, one round trip later: never out of order.
   */
  async commitWith<T>(statement: Promise<T>): Promise<T> {
    if (this.done) throw new Error('the request transaction has ended')
    if (!this.inFlight()) {
      const value = await statement
      await this.commit()
      return value
    }
    this.done = true
    const commit = this.client.query('COMMIT')
    let value: T
    try {
      value = await statement
    } catch (err) {
      // The transaction is aborted; its COMMIT answers ROLLBACK. The statement's error is the answer.
      await commit.then(() => this.release(), (e: unknown) => this.client.release(e as Error))
      throw err
    }
    await this.settleCommit(commit)
    return value
  }

  /** Whether a query is on its way on this connection (pg's pipeline queues, read defensively). */
  private inFlight(): boolean {
    const c = this.client as unknown as { _activeQuery?: unknown; _sentQueryQueue?: unknown[]; _queryQueue?: unknown[] }
    return !!c._activeQuery || (c._sentQueryQueue?.length ?? 0) > 0 || (c._queryQueue?.length ?? 0) > 0
  }

  private async settleCommit(commit: Promise<pg.QueryResult>): Promise<void> {
    try {
      const result = await commit
      // COMMIT in an aborted transaction "succeeds" as ROLLBACK: nothing was saved.
      if (result.command !== 'COMMIT') throw new Error(`COMMIT answered ${result.command}`)
    } catch (err) {
      this.client.release(err as Error)
      throw new AppError('unavailable', 'The change could not be saved; nothing was changed. Please retry.', { cause: err })
    }
    this.saved = true
    this.release()
  }

  /** Rolls back and releases; never throws (a failure destroys the connection). */
  async rollback(): Promise<void> {
    if (this.done) return
    this.done = true
    try {
      await this.client.query('ROLLBACK')
    } catch (err) {
      this.client.release(err as Error)
      return
    }
    this.release()
  }

  // Back to the pool only when the connection is idle with no transaction; destroyed otherwise.
  private release(): void {
    const status = this.client.getTransactionStatus()
    this.client.release(status === 'I' ? undefined : new Error(`connection not idle (${status}) after the request`))
  }
}

export interface BeginOptions {
  /** SHA-256 of the session token, if the request carried one. */
  tokenHash?: Buffer
  /**
   * SHA-256 of the API token of an `Authorization: Bearer` request (workspace routes only; never
   * with `tokenHash`): the context is then app.begin_token_request's (sql/210).
   */
  apiTokenHash?: Buffer
  /** The workspace the request names (already validated as a UUID by the caller). */
  workspaceId?: string
  /** Request metadata, recorded with every audit row the transaction writes. */
  ip?: string | null
  userAgent?: string | null
  requestId?: string | null
}

/** How much of each piece of request metadata is kept (sessions, audit rows). */
export const METADATA_MAX = { ip: 64, userAgent: 512, requestId: 64 } as const

/**
 * Request metadata as it is stored: the user agent is the client's own text, so control
 * characters are dropped (a NUL byte is not valid PostgreSQL text) and every value is capped.
 */
export function cleanMetadata(value: string | null | undefined, max: number): string | null {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are dropped
  return value ? value.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, max) || null : null
}

// A prepared statement, parsed once per pooled connection; every value is a bind parameter.
const BEGIN_REQUEST = 'SELECT * FROM app.begin_request($1, $2, $3, $4, $5)'
const BEGIN_TOKEN_REQUEST = 'SELECT * FROM app.begin_token_request($1, $2, $3, $4, $5)'

/** Opens the request transaction and resolves its context in one round trip. */
export async function beginRequest(pool: pg.Pool, opts: BeginOptions = {}): Promise<{ tx: RequestTx } & Resolved> {
  if (opts.tokenHash && opts.tokenHash.length !== 32) throw new Error('token hash must be 32 bytes')
  if (opts.apiTokenHash && (opts.apiTokenHash.length !== 32 || opts.tokenHash)) throw new Error('an API token hash is 32 bytes, and comes without a session')
  if (opts.workspaceId && !isUuid(opts.workspaceId)) throw new Error('workspace id must be a UUID')
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (err) {
    throw new AppError('unavailable', 'The database is unavailable; please retry.', { cause: err })
  }
  try {
    // Both are written before either answer is read (pipeline mode). A failed BEGIN leaves the
    // second query failing too, and a failed begin_request an aborted transaction: the catch
    // below destroys the connection either way.
    const begin = client.query('BEGIN')
    const context = client.query<ContextRow>({
      name: opts.apiTokenHash ? 'gh_begin_token_request' : 'gh_begin_request',
      text: opts.apiTokenHash ? BEGIN_TOKEN_REQUEST : BEGIN_REQUEST,
      values: [
        opts.apiTokenHash ?? opts.tokenHash ?? null,
        opts.workspaceId?.toLowerCase() ?? null,
        cleanMetadata(opts.ip, METADATA_MAX.ip),
        cleanMetadata(opts.userAgent, METADATA_MAX.userAgent),
        cleanMetadata(opts.requestId, METADATA_MAX.requestId),
      ],
    })
    const [, result] = await Promise.all([begin, context])
    return { tx: new RequestTx(client), ...resolved(result.rows[0]) }
  } catch (err) {
    client.release(err as Error)
    if (isUnavailableError(err)) throw new AppError('unavailable', 'The database is unavailable; please retry.', { cause: err })
    throw err
  }
}

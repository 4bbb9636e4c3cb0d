// Who is calling: opens the request transaction for every route that declares `access`, with
// the session cookie's token hash and the X-Workspace-Id header, and exposes what
// app.begin_request resolved as request.principal and request.workspace. The gate chain
// (plugins/gates.ts) decides from these; this plugin only identifies.
//
// It also commits: every route with `access` has its handler wrapped so that COMMIT happens after
// the handler returns and before the reply is sent (invariant 4). Handlers return their payload;
// they never send it themselves.
//
// And it re-issues: a session marked by a role change (sql/130) gets a new token on its next
// request, whatever that request's outcome (see reissue below).
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { METADATA_MAX, beginRequest, cleanMetadata, type ContextRow, type RequestTx } from '../db/request-tx.js'
import { hashToken, isWellFormedToken, newToken } from '../crypto/tokens.js'
import type { Permission } from '../rbac/permissions.js'
import type { WorkspaceStatus, BillingStatus } from '../db/schema/index.js'
import { isUuid } from '../schemas/common.js'

export type Access =
  | 'public' // anyone; a valid session is still resolved when present
  | 'user' // a signed-in user
  | 'admin' // a signed-in, verified platform admin
  | 'workspace' // the whole gate chain, in the workspace named by the request

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
    /** workspace routes: the permission the gate chain checks last. */
    permission?: Permission
    /** workspace routes: reads answer in every approval state (GET /api/workspace). */
    anyState?: boolean
  }
  interface FastifyRequest {
    tx?: RequestTx
    principal: Principal | null
    workspace: WorkspaceContext | null
    /** Set when the request named a workspace that is not a well-formed UUID. */
    workspaceHeaderInvalid: boolean
    /** Database time of the request transaction: what the database's own gates compare with. */
    dbNow: Date
    /** SHA-256 of the session token the request carried, if well-formed. */
    sessionTokenHash: Buffer | null
    /** Answer with a new session token (app.begin_request found the session marked for it). */
    reissueSession: boolean
    /** Set once a handler wrote or cleared the session cookie itself (sign-in, sign-out…). */
    sessionCookieWritten: boolean
  }
}

export interface Principal {
  userId: string
  sessionId: string
  email: string
  name: string
  emailVerified: boolean
  isPlatformAdmin: boolean
}

export interface WorkspaceContext {
  id: string
  name: string
  role: string
  status: WorkspaceStatus
  statusReason: string | null
  trialEndsAt: Date | null
  billingStatus: BillingStatus
}


export function sessionCookieName(production: boolean): string {
  // Browsers accept a __Host- cookie only with Secure, which plain-HTTP development cannot set.
  return production ? '__Host-sid' : 'sid'
}

/** Who is asking, as sessions and audit rows record it (cleaned and capped). */
export function requestMetadata(request: FastifyRequest): { ip: string | null; userAgent: string | null; requestId: string | null } {
  return {
    ip: cleanMetadata(request.ip, METADATA_MAX.ip),
    userAgent: cleanMetadata(request.headers['user-agent'], METADATA_MAX.userAgent),
    requestId: cleanMetadata(request.id, METADATA_MAX.requestId),
  }
}

/** Sets the session cookie to `token` (only its hash is ever stored). */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  const { config } = request.server
  request.sessionCookieWritten = true
  reply.setCookie(request.server.sessionCookieName, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: config.nodeEnv === 'production',
    signed: true,
    maxAge: config.sessionAbsoluteSeconds,
  })
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  request.sessionCookieWritten = true
  reply.clearCookie(request.server.sessionCookieName, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: request.server.config.nodeEnv === 'production',
  })
}

export default fp(
  async (app) => {
    const production = app.config.nodeEnv === 'production'
    const cookieName = sessionCookieName(production)
    app.decorate('sessionCookieName', cookieName)
    app.decorateRequest('tx', undefined)
    app.decorateRequest('principal', null)
    app.decorateRequest('workspace', null)
    app.decorateRequest('workspaceHeaderInvalid', false)
    app.decorateRequest('dbNow', null as unknown as Date)
    app.decorateRequest('sessionTokenHash', null)
    app.decorateRequest('reissueSession', false)
    app.decorateRequest('sessionCookieWritten', false)

    // Every /api route must say who may call it: a forgotten `access` would otherwise be a
    // route with no transaction and no gate.
    app.addHook('onRoute', (route: RouteOptions) => {
      const access = route.config?.access
      if (!access) {
        if (route.url.startsWith('/api/')) throw new Error(`${String(route.method)} ${route.url} declares no config.access`)
        return
      }
      const handler = route.handler
      route.handler = async function (this: unknown, request: FastifyRequest, reply: FastifyReply) {
        const payload = await (handler as (this: unknown, req: FastifyRequest, rep: FastifyReply) => unknown).call(this, request, reply)
        await request.tx?.commit()
        return payload
      } as RouteOptions['handler']
    })

    app.addHook('preValidation', async (request) => {
      const access = request.routeOptions.config.access
      if (!access) return
      const tokenHash = readSessionToken(request, cookieName)
      let workspaceId: string | undefined
      if (access === 'workspace') {
        const header = request.headers['x-workspace-id']
        if (typeof header === 'string' && isUuid(header.trim())) workspaceId = header.trim()
        else request.workspaceHeaderInvalid = true
      }
      const { tx, context } = await beginRequest(app.pools.runtime, {
        tokenHash,
        workspaceId,
        // Raw: beginRequest cleans and caps them itself (once per request).
        ip: request.ip,
        userAgent: request.headers['user-agent'],
        requestId: request.id,
      })
      request.tx = tx
      applyContext(request, context)
      request.sessionTokenHash = tokenHash ?? null
      request.reissueSession = !!context?.reissue
    })

    app.addHook('onSend', async (request, reply) => {
      if (request.reissueSession && request.sessionTokenHash && !request.sessionCookieWritten) await reissue(request, reply)
    })

    // Whatever happened (an aborted request, a reply sent by a hook), the transaction ends.
    const finish = async (request: FastifyRequest) => {
      await request.tx?.rollback()
    }
    app.addHook('onResponse', finish)
    app.addHook('onRequestAbort', finish)
  },
  { name: 'auth', dependencies: ['errors'] },
)

/**
 * A new token for a session marked for re-issue (API.md: a new token on role change). It runs
 * as the reply goes out, after the request transaction has ended, in a statement of its own: a
 * re-issue must not depend on the request's outcome (a rolled-back one would leave the client
 * holding a token that was never saved), and the transaction's row lock on the session (the
 * activity stamp) is gone by then. Of concurrent requests with the same old token one re-issues;
 * the others find the session already replaced and send no cookie, and their old token keeps
 * working for a few seconds as the new session (app.begin_request). A failure is logged and
 * leaves the session marked, so the next request tries again.
 */
async function reissue(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await request.tx?.rollback() // only if a hook replied without the handler: nothing was committed
  const token = newToken()
  try {
    const { ip, userAgent, requestId } = requestMetadata(request)
    const { rows } = await request.server.pools.runtime.query<{ id: string | null }>(
      'select app.reissue_session($1, $2, $3, $4, $5) as id',
      [request.sessionTokenHash, hashToken(token), ip, userAgent, requestId],
    )
    if (rows[0]?.id) setSessionCookie(request, reply, token)
  } catch (err) {
    request.log.error({ err }, 'session re-issue failed; the session stays marked for the next request')
  }
}

function readSessionToken(request: FastifyRequest, cookieName: string): Buffer | undefined {
  const raw = request.cookies[cookieName]
  if (!raw) return undefined
  const unsigned = request.unsignCookie(raw)
  if (!unsigned.valid || !unsigned.value || !isWellFormedToken(unsigned.value)) return undefined
  return hashToken(unsigned.value)
}

function applyContext(request: FastifyRequest, row: ContextRow | null): void {
  request.dbNow = row?.db_now ?? new Date()
  if (!row) return
  request.principal = {
    userId: row.user_id,
    sessionId: row.session_id,
    email: row.email,
    name: row.name,
    emailVerified: row.email_verified,
    // Recorded in the database (a listed address, verified), where the admin functions check it too.
    isPlatformAdmin: row.is_platform_admin,
  }
  if (row.workspace_id && row.role && row.workspace_status) {
    request.workspace = {
      id: row.workspace_id,
      name: row.workspace_name ?? '',
      role: row.role,
      status: row.workspace_status as WorkspaceStatus,
      statusReason: row.status_reason,
      trialEndsAt: row.trial_ends_at,
      billingStatus: (row.billing_status ?? 'none') as BillingStatus,
    }
  }
}

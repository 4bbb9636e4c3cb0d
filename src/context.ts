// What a handler, and the services it calls, receive instead of the Fastify request: the request
// transaction, what app.begin_request verified (who, in which workspace, at what database time),
// the request's metadata and the service's configuration. Built once per request by
// plugins/request-tx.ts; typed by the route's `access`, so that a signed-in user or a workspace
// is present (not `| null`) exactly on the routes whose gate chain guarantees it.
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.js'
import type { Db, Principal, RequestTx, RequestWorkspace, SessionPrincipal } from './db/request-tx.js'

export type Access =
  | 'public' // anyone; a valid session is still resolved when present
  | 'user' // a signed-in user
  | 'verified' // a signed-in user whose address is verified
  | 'admin' // a signed-in, verified platform admin
  | 'workspace' // the whole gate chain, in the workspace named by the request

/** Who is asking, as sessions and audit rows record it (cleaned and capped). */
export interface RequestMeta {
  ip: string | null
  userAgent: string | null
  requestId: string | null
}

export interface Ctx {
  /** Drizzle on the request transaction: every query of the request goes through it. */
  db: Db
  /** The transaction itself, for statements sent with their COMMIT (RequestTx.commitWith). */
  tx: RequestTx
  /** The transaction's database time: the clock of the database's own gates. */
  now: Date
  principal: Principal | null
  workspace: RequestWorkspace | null
  meta: RequestMeta
  log: FastifyBaseLogger
  config: Config
  /** The service's clock (epoch ms): TOTP time steps read it. */
  clock: () => number
}

/** 'user', 'verified' and 'admin' routes: a session's user (an API token reaches workspace routes only). */
export interface UserCtx extends Ctx {
  principal: SessionPrincipal
}

/** 'workspace' routes: a session's user, or an API token acting for its creator (principal.tokenId). */
export interface WorkspaceCtx extends Ctx {
  principal: Principal
  workspace: RequestWorkspace
}

export type CtxFor<A extends Access> = A extends 'public' ? Ctx : A extends 'workspace' ? WorkspaceCtx : UserCtx

// Who the request says it is, read before any database work: the signed session cookie's token
// (kept only as its SHA-256) and the workspace the X-Workspace-Id header names. Nothing here is
// trusted yet: the request transaction (plugins/request-tx.ts) hands both to
// app.begin_request, which verifies the session and the membership in the database and seals
// what it found. Also the session cookie's writers, for the handlers that sign in and out.
//
// One refusal happens here, the first gate's cheapest case: a route that needs a signed-in user,
// called with no session token that could possibly be valid (none, unsigned, malformed), is
// answered 401 before its body is parsed or a connection is taken. A caller who is nobody costs
// nothing; a token that is well-formed but unknown or expired is the database's to judge.
//
// A request with an `Authorization` header is never authenticated by its cookie: it asks to be
// judged by that header alone (an integration's bearer token, API.md). Were the cookie read too, a
// header could ride along with a browser's ambient session, and the CSRF rules
// (plugins/security.ts) could not tell which credential a write used. On a workspace route
// (/api/workspace/**, /api/crm/**) `Authorization: Bearer gate_…_…` carries an API token: its
// hash goes to app.begin_token_request (sql/210), which binds the request to the token's
// workspace, so X-Workspace-Id is optional there. Anything else with the header — another scheme,
// a malformed token, or a token on a route that is not a workspace route (tokens are for
// workspace routes only) — is nobody: 401 on a route that needs a user.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { hashToken, isWellFormedApiToken, isWellFormedToken } from '../crypto/tokens.js'
import { isUuid } from '../schemas/common.js'
import { AppError } from '../errors.js'

export interface Credentials {
  /** SHA-256 of the session token the request carried, when it is signed and well-formed. */
  tokenHash: Buffer | null
  /** SHA-256 of the API token of a well-formed `Authorization: Bearer` header (workspace routes only). */
  apiTokenHash: Buffer | null
  /** The workspace the request names (workspace routes only), lower-case. */
  workspaceId: string | null
  /** The request named a workspace that is not a UUID (or none): the gate chain answers 400. */
  workspaceHeaderInvalid: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    sessionCookieName: string
  }
  interface FastifyRequest {
    /** Read in onRequest for every route that declares `access`; null elsewhere. */
    credentials: Credentials | null
    /** Set once a handler wrote or cleared the session cookie itself (sign-in, sign-out…). */
    sessionCookieWritten: boolean
  }
}

export function sessionCookieName(production: boolean): string {
  // Browsers accept a __Host- cookie only with Secure, which plain-HTTP development cannot set.
  return production ? '__Host-sid' : 'sid'
}

/** Sets the session cookie to `token` (only its hash is ever stored). */
export function setSessionCookie(reply: FastifyReply, token: string): void {
  const { server } = reply
  reply.request.sessionCookieWritten = true
  reply.setCookie(server.sessionCookieName, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: server.config.nodeEnv === 'production',
    signed: true,
    maxAge: server.config.sessionAbsoluteSeconds,
  })
}

export function clearSessionCookie(reply: FastifyReply): void {
  const { server } = reply
  reply.request.sessionCookieWritten = true
  reply.clearCookie(server.sessionCookieName, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: server.config.nodeEnv === 'production',
  })
}

/** SHA-256 of the request's session token, when its cookie is signed and well-formed. */
function readSessionToken(request: FastifyRequest, cookieName: string): Buffer | null {
  const raw = request.cookies[cookieName]
  if (!raw) return null
  const unsigned = request.unsignCookie(raw)
  if (!unsigned.valid || !unsigned.value || !isWellFormedToken(unsigned.value)) return null
  return hashToken(unsigned.value)
}

/** SHA-256 of the API token in `Authorization: Bearer <token>`, when the header is exactly that. */
function readApiToken(authorization: string): Buffer | null {
  const match = /^Bearer +(\S+) *$/i.exec(authorization)
  return match && isWellFormedApiToken(match[1]!) ? hashToken(match[1]!) : null
}

/**
 * What the request says it is: its session token's hash (none when it carries an Authorization
 * header: such a request is judged by that header alone) or, when `workspaceRoute`, its API
 * token's hash, and, when `workspaceRoute`, the workspace its X-Workspace-Id header names
 * (optional with an API token, which implies its workspace; required otherwise).
 */
export function readCredentials(request: FastifyRequest, workspaceRoute: boolean, workspaceOptional = false): Credentials {
  const authorization = request.headers.authorization
  const apiTokenHash = workspaceRoute && authorization !== undefined ? readApiToken(authorization) : null
  let workspaceId: string | null = null
  let workspaceHeaderInvalid = false
  const header = request.headers['x-workspace-id']
  if (workspaceRoute || (workspaceOptional && header !== undefined)) {
    if (typeof header === 'string' && isUuid(header.trim())) workspaceId = header.trim().toLowerCase()
    else workspaceHeaderInvalid = !(apiTokenHash && header === undefined)
  }
  const tokenHash = authorization !== undefined ? null : readSessionToken(request, request.server.sessionCookieName)
  return { tokenHash, apiTokenHash, workspaceId, workspaceHeaderInvalid }
}

export default fp(
  async (app) => {
    const cookieName = sessionCookieName(app.config.nodeEnv === 'production')
    app.decorate('sessionCookieName', cookieName)
    app.decorateRequest('credentials', null)
    app.decorateRequest('sessionCookieWritten', false)

    app.addHook('onRequest', async (request) => {
      const access = request.routeOptions.config.access
      if (!access) return
      const credentials = readCredentials(request, access === 'workspace', request.routeOptions.config.workspaceOptional)
      if (!credentials.tokenHash && !credentials.apiTokenHash && access !== 'public') {
        const bearer = request.headers.authorization !== undefined
        throw new AppError('unauthenticated', !bearer ? undefined : access === 'workspace'
          ? 'The Authorization header holds no API token (Bearer gate_…); a request with the header is not signed in by its cookie'
          : 'API tokens work on workspace routes only; a request with an Authorization header is not signed in by its cookie')
      }
      request.credentials = credentials
    })
  },
  // After @fastify/cookie, whose onRequest hook parses the cookies read here.
  { name: 'identity', dependencies: ['@fastify/cookie'] },
)

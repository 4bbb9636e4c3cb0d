// Browser-facing defences: helmet's headers, `Cache-Control: no-store` on every /api answer, the
// CORS allow-list, and two CSRF rules (API.md), plus a warning when X-Forwarded-For arrives with
// no proxy trusted:
//  1. A body, or any Content-Type, must be application/json (else 415), so no "simple"
//     cross-site form or text/plain request can reach a handler.
//  2. An unsafe request that carries the session cookie must come from an allowed origin:
//     Origin, when present, must be CORS_ORIGINS or our own; Sec-Fetch-Site, when present, must
//     not be cross-site unless the origin is allowed. Else 403 csrf_rejected. An API token's
//     request (`Authorization: Bearer`, plugins/identity.ts) carries no ambient credential, and an
//     integration sends no cookie, so the rule never applies to it: whatever its Origin, it is
//     judged by its token alone. An Authorization header's mere presence exempts nothing, though:
//     a write that also carries the session cookie is still judged by its origin, so a forged
//     write that manages to add a bogus header is refused here (and plugins/identity.ts never
//     signs such a request in by its cookie).
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import cors from '@fastify/cors'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import { isWrite } from './gates.js'
import { sessionCookieName } from './identity.js'

function mediaType(header: string): string {
  return header.split(';')[0]!.trim().toLowerCase()
}

/** Whether a request's URL (path and query, as received) is under /api. */
export function isApiUrl(url: string): boolean {
  return url === '/api' || url.startsWith('/api/') || url.startsWith('/api?')
}

/** At most one X-Forwarded-For warning per this long (the service's clock). */
const FORWARDED_WARNING_INTERVAL_MS = 60_000

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined
}

export default fp(
  async (app) => {
    const allowed = new Set(app.config.corsOrigins)
    const ownOrigin = new URL(app.config.publicUrl).origin
    const cookieName = sessionCookieName(app.config.nodeEnv === 'production')

    await app.register(helmet, {
      // The API serves JSON, which a browser should never render or run anything from: nothing may
      // load (default-src), no <base> may re-point relative URLs, no form may submit from it and
      // no page may frame it. Helmet's defaults (script-src, style-src, img-src, fonts,
      // upgrade-insecure-requests…) are for HTML pages and are left out (useDefaults: false). The
      // /docs UI, the only HTML served, sets its own policy (plugins/openapi.ts).
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] },
      },
      hsts: app.config.nodeEnv === 'production',
    })
    await app.register(cors, {
      origin: [...allowed],
      credentials: true,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Content-Type', 'Authorization', 'X-Workspace-Id'],
      maxAge: 600,
    })

    // Every /api answer is about someone (a session, a workspace's records, MFA secrets and backup
    // codes shown once): no browser or shared cache may keep one, errors included (a cached 401 or
    // 404 is as wrong as a cached 200). Set as the reply goes out, so it is on every answer,
    // whichever hook or handler produced it; errors keep the headers set before them.
    app.addHook('onSend', async (request, reply, payload) => {
      if (isApiUrl(request.url)) reply.header('cache-control', 'no-store')
      return payload
    })

    // With no TRUST_PROXY, X-Forwarded-For is ignored and the client IP (rate limits, sessions, the
    // audit trail) is the connection's peer: right when clients connect directly, since anyone can
    // write the header; wrong behind a proxy that TRUST_PROXY does not name, where every client
    // would share the proxy's IP, and its rate-limit budgets. Said in the log, but at most once a
    // minute, so a client sending the header on every request cannot flood it.
    if (app.config.trustProxy.length === 0) {
      let warnedAt: number | undefined
      app.addHook('onRequest', async (request) => {
        if (request.headers['x-forwarded-for'] === undefined) return
        const now = app.clock()
        if (warnedAt !== undefined && now >= warnedAt && now - warnedAt < FORWARDED_WARNING_INTERVAL_MS) return
        warnedAt = now
        request.log.warn(
          { peer: request.socket.remoteAddress },
          'X-Forwarded-For ignored: TRUST_PROXY names no proxy, so the client IP is the connection\'s peer. ' +
            'Behind a proxy, set TRUST_PROXY to its addresses (repeats are not logged for a minute)',
        )
      })
    }

    const originAllowed = (origin: string, request: FastifyRequest) =>
      allowed.has(origin) || origin === ownOrigin || origin === `${request.protocol}://${request.host}`

    app.addHook('onRequest', async (request) => {
      const contentType = request.headers['content-type']
      if (contentType !== undefined ? mediaType(contentType) !== 'application/json' : hasBody(request)) {
        throw new AppError('unsupported_media_type', 'Requests with a body must be application/json')
      }
      if (!isWrite(request.method)) return
      if (!request.headers.cookie?.includes(cookieName)) return
      const origin = request.headers.origin
      const okOrigin = origin !== undefined && originAllowed(origin, request)
      if (origin !== undefined && !okOrigin) throw new AppError('csrf_rejected', 'Cross-origin request refused')
      if (request.headers['sec-fetch-site'] === 'cross-site' && !okOrigin) {
        throw new AppError('csrf_rejected', 'Cross-site request refused')
      }
    })
  },
  { name: 'security', dependencies: ['errors'] },
)

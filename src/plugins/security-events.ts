// Refused attempts leave a record (sql/060_security_events.sql). A wrong password or code, a bad
// token, a request into someone else's workspace, a forbidden action, a CSRF refusal or a rate
// limit rolls its request's transaction back, audit rows included; once the reply is sent, this
// hook records the refusal in a statement of its own through app.record_security_event, which
// works out who made the attempt (the live session behind the cookie's token hash) and against
// which account (a sign-in's address, or the user an MFA challenge was issued to) in the database.
//
// A flood must not cost a statement per refused request: each client address (/64 for IPv6) gets
// PER_ADDRESS_PER_MINUTE records a minute from this process, counted in memory by the service's
// clock, and the database caps what it stores again (60 a minute per address, 1,000 in all).
// Recording never changes the answer: a failure is logged, and close() waits for what is in flight.
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import type { ErrorCode } from '../errors.js'
import { clientKey } from '../rate-limit/window.js'
import { requestMetadata } from './request-tx.js'
import { readCredentials, type Credentials } from './identity.js'
import { hashToken, isWellFormedToken } from '../crypto/tokens.js'

/**
 * The refusals worth a record: each is someone trying something they may not. `unauthenticated`
 * only when the request carried a signed session cookie that is not live (a stolen cookie
 * replayed after a sign-out, a password change or a reset), or a well-formed API token that is
 * not live: a signed-out visitor is not news.
 */
export const RECORDED_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'unauthenticated', 'invalid_credentials', 'invalid_mfa_code', 'invalid_token', 'not_a_member', 'forbidden', 'mfa_required', 'csrf_rejected', 'rate_limited',
  // A billing webhook delivery whose signature does not verify: someone forging the provider.
  'invalid_signature',
])

const PER_ADDRESS_PER_MINUTE = 60
/** Addresses tracked at once; past it the minute's counts start afresh (bounded memory under a spray). */
const MAX_ADDRESSES = 10_000

declare module 'fastify' {
  interface FastifyInstance {
    securityEvents: {
      /** Resolves once every record started so far is written (or failed): for tests and shutdown. */
      settled(): Promise<void>
    }
  }
}

/**
 * The session token hash and workspace the request carried: what plugins/identity.ts read, or,
 * for a refusal that came before it (a CSRF refusal, an IP rate limit), read the same way now.
 * Nothing is trusted: the database resolves the token to a user only if its session is live.
 */
function carried(request: FastifyRequest): Credentials {
  return request.credentials ?? readCredentials(request, true)
}

/** The account an attempt was against, as the body names it: a sign-in's address, or an MFA challenge. */
function attempted(request: FastifyRequest): { email: string | null; challengeHash: Buffer | null } {
  const body = request.body as { email?: unknown; mfaToken?: unknown } | null | undefined
  const email = typeof body?.email === 'string' && body.email.length <= 320 ? body.email : null
  const challengeHash = typeof body?.mfaToken === 'string' && isWellFormedToken(body.mfaToken) ? hashToken(body.mfaToken) : null
  return { email, challengeHash }
}

export default fp(
  async (app) => {
    const pending = new Set<Promise<void>>()
    let minute = -1
    const counts = new Map<string, number>()

    /** Whether this address may have one more record this minute. */
    function withinBudget(ip: string): boolean {
      const now = Math.floor(app.clock() / 60_000)
      if (now !== minute || counts.size >= MAX_ADDRESSES) {
        minute = now
        counts.clear()
      }
      const key = clientKey(ip)
      const n = (counts.get(key) ?? 0) + 1
      counts.set(key, n)
      return n <= PER_ADDRESS_PER_MINUTE
    }

    async function record(request: FastifyRequest, code: ErrorCode, { tokenHash, workspaceId }: Credentials): Promise<void> {
      const meta = requestMetadata(request)
      const target = attempted(request)
      try {
        await app.pools.runtime.query(
          'select app.record_security_event($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
          [code, request.method, request.routeOptions.url ?? 'unknown route', tokenHash,
            target.email, workspaceId, meta.ip, meta.userAgent, meta.requestId, target.challengeHash],
        )
      } catch (err) {
        request.log.error({ err, code }, 'a refused attempt was not recorded as a security event')
      }
    }

    const settled = async () => {
      await Promise.allSettled([...pending])
    }
    app.decorate('securityEvents', { settled })

    app.addHook('onResponse', async (request) => {
      const code = request.errorCode
      if (!code || !RECORDED_REFUSALS.has(code)) return
      const credentials = carried(request)
      // An API token that is unknown, revoked or expired is news too (a leaked one being replayed).
      if (code === 'unauthenticated' && !credentials.tokenHash && !credentials.apiTokenHash) return
      if (!withinBudget(request.ip)) return
      const done = record(request, code, credentials).finally(() => pending.delete(done))
      pending.add(done)
    })

    app.addHook('onClose', settled)
  },
  { name: 'security-events', dependencies: ['errors'] },
)

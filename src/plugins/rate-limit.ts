// Rate limiting: @fastify/rate-limit with the PostgreSQL store (src/rate-limit/store.ts), only on
// the routes that ask for it (config.rateLimit = rateLimit(name)), plus the account limiter for
// config.accountRateLimit, which the plugin cannot express: a key taken from the body, and a
// unit given back when the attempt succeeds. Refusals are 429 `rate_limited` with Retry-After.
//
// Its preValidation hook runs before request-tx's preHandler takes the request transaction's
// connection: a request never holds one pooled connection while waiting for another.
import fp from 'fastify-plugin'
import rateLimitPlugin from '@fastify/rate-limit'
import type pg from 'pg'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import { PgRateLimitStore, type Hit } from '../rate-limit/store.js'
import { retryAfterMs } from '../rate-limit/window.js'
import { subjectHash } from '../rate-limit/route-config.js'
import { repeatInBackground } from './background.js'

declare module 'fastify' {
  interface FastifyInstance {
    rateLimits: {
      store: PgRateLimitStore
      /** Deletes expired counters now (the interval does it too); returns how many. */
      sweep(): Promise<number>
    }
  }
  interface FastifyRequest {
    /** This request's account-limit hit, and the subject it counted (in memory only). */
    accountHit: { hit: Hit; subject: string } | null
  }
}

export interface RateLimitPluginOptions {
  /** The runtime pool; the store runs outside the request transaction. */
  pool: pg.Pool
  clock: () => number
  /** How often expired counters are deleted; 0 disables the interval (tests sweep by hand). */
  sweepIntervalMs: number
}

function rateLimited(retryAfterMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return new AppError('rate_limited', `Too many attempts; try again in ${seconds} s`, { headers: { 'retry-after': String(seconds) } })
}

export default fp<RateLimitPluginOptions>(
  async (app, opts) => {
    const store = new PgRateLimitStore({ pool: opts.pool, clock: opts.clock, log: app.log })

    await app.register(rateLimitPlugin, {
      global: false,
      store: store.pluginStore(),
      // Refused requests go through the error handler like every other error: the API.md shape.
      errorResponseBuilder: (_request, context) => rateLimited(context.ttl),
    })

    const sweep = () => store.sweep()
    repeatInBackground(app, opts.sweepIntervalMs, 'rate-limit sweep', sweep)
    app.decorate('rateLimits', { store, sweep })
    app.decorateRequest('accountHit', null)

    // Account limits: one atomic hit per attempt, before the attempt runs. Counting first and
    // refunding successes (rather than checking, then counting failures afterwards) is what keeps
    // the budget exact under concurrency: 100 parallel guesses all hit the counter before any
    // password check, so only `max` of them get through.
    app.addHook('preValidation', async (request) => {
      const spec = request.routeOptions.config.accountRateLimit
      if (!spec) return
      const subject = await spec.subject(request)
      if (!subject) return
      const { max, windowMs } = app.config.rateLimits[spec.limit]
      let hit: Hit
      try {
        // Every account hit may be given back (a refusal below, a success when only failures count).
        hit = await store.hit(spec.limit, subjectHash(subject), windowMs, max, true)
      } catch (err) {
        const refusal = store.failure(spec.limit, err)
        if (refusal) throw refusal
        return
      }
      if (hit.estimate > max) {
        // A refused attempt checked nothing: it does not count, or a flood would keep the real
        // owner locked out for ever. Its wait is computed without it.
        await store.refund(hit).catch((err: unknown) => request.log.warn({ err }, 'rate-limit refund failed'))
        throw rateLimited(retryAfterMs(hit.current - 1, hit.previous, opts.clock(), windowMs, max))
      }
      request.accountHit = { hit, subject }
    })

    app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
      const spec = request.routeOptions.config.accountRateLimit
      if (!request.accountHit || !spec) return payload
      const { hit, subject } = request.accountHit
      request.accountHit = null
      const { max } = app.config.rateLimits[spec.limit]
      if (spec.failuresOnly && reply.statusCode < 400) {
        // A successful sign-in does not use up the account's budget.
        await store.refund(hit).catch((err: unknown) => request.log.warn({ err }, 'rate-limit refund failed'))
      } else if (spec.onExhausted && hit.estimate + 1 > max) {
        // This attempt used up the budget: the next one will be refused. Best effort: the
        // refusal stands even when the hook (an audit row) fails.
        await spec.onExhausted(request, subject).catch((err: unknown) => request.log.warn({ err, limit: spec.limit }, 'rate-limit exhaustion hook failed'))
      }
      return payload
    })
  },
  { name: 'rate-limit', dependencies: ['errors'] },
)

/**
 * The per-token limit (RATE_LIMIT_API_TOKEN, src/rate-limit/limits.ts): every request an API
 * token authenticated counts against that token's own budget, keyed by its id. The token is known
 * only once app.begin_token_request verified it, so this preHandler runs right after the request
 * transaction opened (registered after plugins/request-tx.ts) and before the gate chain: a
 * refused request goes no further, and an unknown token (401 before the transaction) counts for
 * nothing. Refusals are counted too, as for the per-IP limits. Fails open (see LIMITS).
 */
export const apiTokenRateLimit = fp(
  async (app) => {
    app.addHook('preHandler', async (request) => {
      const tokenId = request.ctx?.principal?.tokenId
      if (!tokenId) return
      const { store } = app.rateLimits
      const { max, windowMs } = app.config.rateLimits.api_token
      let hit: Hit
      try {
        hit = await store.hit('api_token', tokenId, windowMs, max)
      } catch (err) {
        const refusal = store.failure('api_token', err)
        if (refusal) throw refusal
        return
      }
      if (hit.estimate > max) throw rateLimited(hit.retryAfterMs)
    })
  },
  { name: 'api-token-rate-limit', dependencies: ['rate-limit', 'request-tx'] },
)

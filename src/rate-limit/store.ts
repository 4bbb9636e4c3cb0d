// The PostgreSQL store behind @fastify/rate-limit (and the account limiter): counters in the
// UNLOGGED rate_limits table, shared by every instance on the database. It runs on the runtime
// pool but outside the request transaction, on purpose: a hit must count even when the request
// later fails and its transaction rolls back (a failed login is exactly the hit that matters).
import type pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'
import type { FastifyRateLimitStore } from '@fastify/rate-limit'
import { AppError } from '../errors.js'
import { LIMITS, type LimitName } from './limits.js'
import { bucketOf, retryAfterMs, slidingEstimate } from './window.js'

export interface StoreDeps {
  pool: pg.Pool
  clock: () => number
  log: FastifyBaseLogger
}

export interface Hit {
  key: string
  bucket: number
  /** The refund ticket the database issued with this hit (refundable hits only). */
  ticket: string | null
  /** Raw count of the current bucket, this hit included. */
  current: number
  previous: number
  /** The sliding-window estimate, this hit included. */
  estimate: number
  /** Until one more request fits (meaningful when the estimate is over the limit). */
  retryAfterMs: number
}

// Each is one statement through a SECURITY DEFINER function (sql/170_rate_limits.sql): the
// runtime role has no privilege on the table itself. A hit is an atomic upsert that also reads
// the previous bucket, one round trip; expires_at is the end of the window after this one,
// until when the row still weighs on the estimate. A refundable hit comes with a ticket, the
// only way to give its unit back (once): nobody can refund someone else's hits.
const HIT = `select count, previous, ticket from app.rate_limit_hit($1, $2::bigint, $3, $4)`
const REFUND = `select app.rate_limit_refund($1)`
const SWEEP = `select app.rate_limit_sweep($1) as deleted`

export class PgRateLimitStore {
  constructor(readonly deps: StoreDeps) {}

  /**
   * Counts one request against `limit`'s budget for `subject` (with a refund ticket when
   * `refundable`). Throws the database's error.
   */
  async hit(limit: LimitName, subject: string, windowMs: number, max: number, refundable = false): Promise<Hit> {
    const now = this.deps.clock()
    const key = `${limit}:${subject}`
    const bucket = bucketOf(now, windowMs)
    const { rows } = await this.deps.pool.query<{ count: number; previous: number; ticket: string | null }>(
      HIT,
      [key, bucket, new Date((bucket + 2) * windowMs), refundable],
    )
    const current = Number(rows[0]!.count)
    const previous = Number(rows[0]!.previous)
    return {
      key,
      bucket,
      ticket: rows[0]!.ticket,
      current,
      previous,
      estimate: slidingEstimate(current, previous, now, windowMs),
      retryAfterMs: retryAfterMs(current, previous, now, windowMs, max),
    }
  }

  /** Gives the unit of a refundable hit back, once; a hit without a ticket cannot be refunded. */
  async refund(hit: Pick<Hit, 'ticket'>): Promise<void> {
    if (!hit.ticket) throw new Error('this hit was not counted as refundable')
    await this.deps.pool.query(REFUND, [hit.ticket])
  }

  /** Deletes every expired counter; returns how many. */
  async sweep(): Promise<number> {
    const { rows } = await this.deps.pool.query<{ deleted: number }>(SWEEP, [new Date(this.deps.clock())])
    return Number(rows[0]?.deleted ?? 0)
  }

  /**
   * A limiter failure under `limit`'s policy: closed → the 503 to throw; open → undefined, after
   * logging an error, so a request let through is never let through unnoticed.
   */
  failure(limit: LimitName, err: unknown): AppError | undefined {
    if (LIMITS[limit].failure === 'closed') {
      return new AppError('unavailable', 'Rate limiting is unavailable; please retry shortly.', { cause: err })
    }
    this.deps.log.error({ err, limit }, 'rate limiter failed; request let through (fail-open limit)')
    return undefined
  }

  /** The adapter @fastify/rate-limit constructs (`new Store(options)`), bound to this store. */
  pluginStore(): new () => FastifyRateLimitStore {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the class below has its own `this`; its methods reach this store through `store`
    const store = this
    return class {
      constructor() {
        return new RouteStore(store, undefined)
      }
    } as unknown as new () => FastifyRateLimitStore
  }
}

/** Route options @fastify/rate-limit hands to child(): the route's rateLimit config, merged. */
interface ChildOptions {
  limitName?: LimitName
}

// One per limited route (the plugin calls child() with the route's merged options): it knows its
// limit's name, which prefixes the key and selects the failure policy.
class RouteStore implements FastifyRateLimitStore {
  constructor(private readonly store: PgRateLimitStore, private readonly limit: LimitName | undefined) {}

  incr(key: string, cb: (err: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void {
    const limit = this.limit
    if (!limit) {
      cb(new Error('rate limit route config without a limit name: use rateLimit(name)'))
      return
    }
    this.store.hit(limit, key, timeWindow, max).then(
      // The plugin refuses when current > max: the estimate rounded up keeps that exact.
      (hit) => cb(null, { current: Math.ceil(hit.estimate - 1e-9), ttl: hit.retryAfterMs }),
      (err: unknown) => {
        const refusal = this.store.failure(limit, err)
        if (refusal) cb(refusal)
        else cb(null, { current: 0, ttl: timeWindow })
      },
    )
  }

  child(routeOptions: unknown): FastifyRateLimitStore {
    return new RouteStore(this.store, (routeOptions as ChildOptions).limitName)
  }
}

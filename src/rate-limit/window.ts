// Sliding-window arithmetic, kept pure so it is unit-tested without a database. Counters live in
// fixed windows ("buckets", floor(time / window)); the rate over the last full window is
// estimated from two of them (the approach Cloudflare describes in "How we built rate limiting
// capable of scaling to millions of domains"): the current bucket's count plus the previous
// bucket's count weighted by how much of the previous window still overlaps the sliding one.
// Two rows per key instead of one row per request, at the cost of assuming the previous
// window's requests were evenly spread.
import { isIPv6 } from 'node:net'
import { normalizeIP } from '@fastify/rate-limit'

export function bucketOf(now: number, windowMs: number): number {
  return Math.floor(now / windowMs)
}

/** current + previous × (1 − elapsed fraction of the current window). */
export function slidingEstimate(current: number, previous: number, now: number, windowMs: number): number {
  const elapsed = (now - bucketOf(now, windowMs) * windowMs) / windowMs
  return current + previous * (1 - elapsed)
}

/**
 * Milliseconds until one more request would fit under `max`, given the counts after this one
 * (≥ 1, since Retry-After is whole seconds and 0 would invite an immediate retry). Within the
 * current window the previous bucket's weight decays: (current + 1) + previous × (1 − f) ≤ max
 * once f ≥ 1 − (max − current − 1) / previous. When the current bucket alone is full, the wait
 * runs into the next window, where this window's count becomes the decaying one:
 * 1 + current × (1 − f) ≤ max once f ≥ 1 − (max − 1) / current.
 */
export function retryAfterMs(current: number, previous: number, now: number, windowMs: number, max: number): number {
  const start = bucketOf(now, windowMs) * windowMs
  let at: number
  if (current + 1 <= max) {
    const f = previous > 0 ? Math.max(0, 1 - (max - current - 1) / previous) : 0
    at = start + f * windowMs
  } else {
    const f = Math.max(0, 1 - (max - 1) / current)
    at = start + windowMs + f * windowMs
  }
  return Math.max(1, Math.ceil(at - now))
}

/**
 * The client's budget key: its IP, with IPv6 folded to its /64 (one customer's allocation; an
 * attacker holding a /64 must not get 2^64 budgets) and IPv4-mapped IPv6 written as IPv4.
 */
export function clientKey(ip: string): string {
  return isIPv6(ip) ? normalizeIP(ip, 64) : ip.toLowerCase()
}

// The rate limiter's pure parts: sliding-window arithmetic, Retry-After, IPv6 /64 folding, and
// the RATE_LIMIT_* configuration.
import t from 'tap'
import { bucketOf, clientKey, retryAfterMs, slidingEstimate } from '../../src/rate-limit/window.js'
import { parseLimit } from '../../src/rate-limit/limits.js'
import { loadConfig } from '../../src/config.js'
import { generateDevSecrets } from '../../src/dev-secrets.js'

const W = 60_000
const start = 1000 * W // a window boundary

t.test('the estimate weighs the previous window by its remaining overlap', async (t) => {
  t.equal(bucketOf(start, W), 1000)
  t.equal(bucketOf(start + W - 1, W), 1000)
  t.equal(bucketOf(start + W, W), 1001)
  t.equal(slidingEstimate(3, 0, start, W), 3, 'no previous window: the count itself')
  t.equal(slidingEstimate(1, 10, start, W), 11, 'at the boundary the previous window counts in full')
  t.equal(slidingEstimate(1, 10, start + W / 4, W), 8.5, 'a quarter in: three quarters of it')
  t.equal(slidingEstimate(2, 10, start + W / 2, W), 7)
  t.ok(Math.abs(slidingEstimate(0, 10, start + W - 1, W)) < 0.01, 'it fades to nothing by the window end')
})

t.test('Retry-After names when one more request fits', async (t) => {
  // max 3, 4 requests in this window: in the next one 1 + 4(1 − f) ≤ 3 once f ≥ ½.
  t.equal(retryAfterMs(4, 0, start, W, 3), 90_000)
  t.equal(retryAfterMs(4, 0, start + 30_000, W, 3), 60_000, 'measured from now')
  // Room in this window, but the previous one still weighs: 2 + 4(1 − f) ≤ 3 once f ≥ ¾.
  t.equal(retryAfterMs(1, 4, start, W, 3), 45_000)
  t.equal(retryAfterMs(0, 0, start, W, 3), 1, 'never less than a millisecond (Retry-After ≥ 1 s)')
  // The answer is consistent with the estimate: one more request fits at that time, and not a
  // second sooner. The wait ends in this window, the next (where this one's count decays) or, when
  // even one request is too many against this window's count, the one after.
  const now = start + 7_000
  const nextEstimate = (c: number, p: number, at: number) => {
    const ahead = bucketOf(at, W) - bucketOf(now, W)
    return ahead === 0 ? slidingEstimate(c + 1, p, at, W) : ahead === 1 ? slidingEstimate(1, c, at, W) : 1
  }
  for (const [c, p, max] of [[5, 3, 5], [10, 0, 3], [2, 9, 4], [1, 1, 1]] as const) {
    const wait = retryAfterMs(c, p, now, W, max)
    t.ok(nextEstimate(c, p, now + wait) <= max + 1e-9, `c=${c} p=${p} max=${max}: fits after ${wait} ms`)
    t.ok(wait <= 1000 || nextEstimate(c, p, now + wait - 1000) > max, 'and not a second sooner')
  }
})

t.test('client keys fold IPv6 to its /64', async (t) => {
  t.equal(clientKey('203.0.113.7'), '203.0.113.7')
  t.equal(clientKey('2001:db8:1:2::1'), '2001:db8:1:2::')
  t.equal(clientKey('2001:DB8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::', 'same /64, any case')
  t.not(clientKey('2001:db8:1:3::1'), clientKey('2001:db8:1:2::1'), 'the next /64 differs')
  t.equal(clientKey('::ffff:203.0.113.7'), '203.0.113.7', 'IPv4-mapped IPv6 is the IPv4 client')
})

t.test('RATE_LIMIT_* values are "max/window"', async (t) => {
  t.same(parseLimit('10/15m'), { max: 10, windowMs: 15 * W })
  t.same(parseLimit(' 5 / 1h '), { max: 5, windowMs: 3_600_000 })
  t.same(parseLimit('100/30s'), { max: 100, windowMs: 30_000 })
  t.throws(() => parseLimit('10'), /must look like "10\/15m"/)
  t.throws(() => parseLimit('0/1m'), /max must be from 1/)
  t.throws(() => parseLimit('5/8d'), /window must be from 1s to 7d/)
  const base = { NODE_ENV: 'test' }
  const config = loadConfig(base, generateDevSecrets())
  t.same(config.rateLimits.login_account, { max: 10, windowMs: 15 * W }, 'a default')
  t.same(loadConfig({ ...base, RATE_LIMIT_LOGIN_IP: '7/2m' }, generateDevSecrets()).rateLimits.login_ip, { max: 7, windowMs: 2 * W })
  t.throws(() => loadConfig({ ...base, RATE_LIMIT_LOGIN_IP: 'lots' }, generateDevSecrets()), /RATE_LIMIT_LOGIN_IP must look like/)
})

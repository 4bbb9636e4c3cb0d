// The billing provider's webhook signature (Stripe's scheme), as a pure function.
//
//   Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=<hex>…][,v0=…]
//
// Each v1 is HMAC-SHA256, keyed by the webhook secret, of `${t}.${raw body}` (the bytes as they
// arrived, before any JSON parsing). The header verifies when it is well formed (exactly one t;
// at least one v1 of 64 hex digits; other schemes ignored), t is within the tolerance of `now`
// in either direction (an old delivery replayed later, or one stamped in the future, is refused),
// and any v1 matches (the provider sends several while a secret is being rolled). Digests are
// compared in constant time, every v1 of the header whatever the earlier ones gave.
import { createHmac, timingSafeEqual } from 'node:crypto'

/** How far the header's timestamp may be from the service's clock, either way (Stripe's default). */
export const SIGNATURE_TOLERANCE_SECONDS = 300

/** A longer header is refused unread: no provider sends one, and parsing it is work for nothing. */
const MAX_HEADER_LENGTH = 4096
/** As many v1 entries as anyone sends while rolling secrets, and a bound on the HMAC comparisons. */
const MAX_SIGNATURES = 8

export type SignatureResult = { ok: true; timestamp: number } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' }

export interface VerifyOptions {
  /** The service's clock, epoch ms. */
  now: number
  toleranceSeconds?: number
}

/** Whether `header` signs `body` with `secret` at `now` (see above); the reason when it does not. */
export function verifySignature(header: string | undefined, body: Buffer, secret: string, opts: VerifyOptions): SignatureResult {
  if (header === undefined || header === '') return { ok: false, reason: 'missing' }
  if (header.length > MAX_HEADER_LENGTH) return { ok: false, reason: 'malformed' }
  let timestamp: string | undefined
  const signatures: Buffer[] = []
  for (const item of header.split(',')) {
    const at = item.indexOf('=')
    if (at <= 0) return { ok: false, reason: 'malformed' }
    const key = item.slice(0, at).trim()
    const value = item.slice(at + 1).trim()
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return { ok: false, reason: 'malformed' }
      timestamp = value
    } else if (key === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(value) || signatures.length === MAX_SIGNATURES) return { ok: false, reason: 'malformed' }
      signatures.push(Buffer.from(value, 'hex'))
    }
    // Other schemes (v0, Stripe's test-mode signature) are not ours to check.
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed' }

  const seconds = Number(timestamp)
  const tolerance = opts.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS
  if (Math.abs(opts.now / 1000 - seconds) > tolerance) return { ok: false, reason: 'stale' }

  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest()
  let match = false
  for (const signature of signatures) {
    if (timingSafeEqual(signature, expected)) match = true
  }
  return match ? { ok: true, timestamp: seconds } : { ok: false, reason: 'mismatch' }
}

/** The header the provider would send for `body` at `timestamp` (seconds): for tests and tools. */
export function signatureHeader(body: string | Buffer, secret: string, timestamp: number): string {
  const digest = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')
  return `t=${timestamp},v1=${digest}`
}

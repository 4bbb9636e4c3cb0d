// TOTP (RFC 6238) as authenticator apps use it: SHA-1, 6 digits, 30-second steps, with one step
// of clock drift accepted either way. Pure functions over otpauth; who stores the secret, and
// that a step is accepted only once, is the MFA module's and the database's business.
import { Secret, TOTP } from 'otpauth'

const ISSUER = 'Gatehouse'

function totpFor(secretBase32: string, label: string): TOTP {
  return new TOTP({ issuer: ISSUER, label, algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secretBase32) })
}

/** A new random secret (160 bits, RFC 4226's recommendation) and its otpauth:// URL for `label`. */
export function newTotpSecret(label: string): { secret: string; otpauthUrl: string } {
  const secret = new Secret({ size: 20 }).base32
  return { secret, otpauthUrl: totpFor(secret, label).toString() }
}

/** Does `code` look like a TOTP code (six digits, surrounding spaces allowed)? */
export function looksLikeTotpCode(code: string): boolean {
  return /^\s*\d{6}\s*$/.test(code)
}

/** The time step `code` is valid for at `now` (epoch ms) under `secretBase32`, or null. */
export function matchingStep(secretBase32: string, code: string, now: number): number | null {
  const token = code.trim()
  if (!/^\d{6}$/.test(token)) return null
  // The label only names the account in an authenticator app; codes do not depend on it.
  const totp = totpFor(secretBase32, 'user')
  const delta = totp.validate({ token, timestamp: now, window: 1 })
  return delta === null ? null : totp.counter({ timestamp: now }) + delta
}

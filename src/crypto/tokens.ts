// Opaque bearer secrets (session, verification, reset, invite, API tokens). Only SHA-256 of a
// 256-bit random value is ever stored (invariant 7): a database dump yields nothing usable, and
// because the value is uniformly random a plain hash suffices (no salt or slow hash needed).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A new token: 32 random bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/** Tokens we issue are exactly 43 base64url characters; anything else is not worth a lookup. */
export function isWellFormedToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token)
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

// API tokens (API.md "API tokens"): `gate_<workspace short id>_<secret>`, the short id the first
// 8 hex digits of the workspace's UUID and the secret 32 random bytes, base64url: a fixed,
// recognisable shape that secret scanners can match, with 256 bits that cannot be guessed. As
// for every token, only SHA-256 of the whole string is stored (hashToken).
const API_TOKEN_RE = /^gate_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/

/** A new API token for `workspaceId`. */
export function newApiToken(workspaceId: string): string {
  return `gate_${workspaceId.replace(/-/g, '').slice(0, 8).toLowerCase()}_${newToken()}`
}

/** Whether `token` has the shape of an API token we issue; anything else is not worth a lookup. */
export function isWellFormedApiToken(token: string): boolean {
  return API_TOKEN_RE.test(token)
}

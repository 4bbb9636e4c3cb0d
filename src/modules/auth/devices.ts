// Known devices: a flood of wrong guesses against an account must not lock its owner out of a
// browser they signed in from before (OWASP, "Slow Down Online Guessing Attacks with Device
// Cookies"). A successful sign-in leaves a device cookie: signed with SESSION_SECRET, bound to
// the account's address (a tag of its SHA-256, not the address), with a random nonce, sent only
// to /api/auth. A sign-in that presents a valid one for the address it names is counted against
// that device's own failure budget instead of the account's: a guesser without the cookie (who
// cannot forge it) exhausts the account budget and is refused, the right password included,
// while the owner's known browsers keep theirs. A stolen device cookie buys only that device's
// budget, which is as small as the account's.
import { createHash, randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { normaliseEmail } from '../../schemas/common.js'

const PATH = '/api/auth'
const MAX_AGE_SECONDS = 365 * 24 * 3600

export function deviceCookieName(production: boolean): string {
  // __Secure- needs the Secure attribute, which plain-HTTP development cannot set.
  return production ? '__Secure-gh_device' : 'gh_device'
}

function accountTag(email: string): string {
  return createHash('sha256').update(`device:${normaliseEmail(email)}`).digest('base64url').slice(0, 22)
}

/** Marks this browser as a known device of the account with address `email`. */
export function setDeviceCookie(reply: FastifyReply, email: string): void {
  const production = reply.server.config.nodeEnv === 'production'
  reply.setCookie(deviceCookieName(production), `${accountTag(email)}.${randomBytes(16).toString('base64url')}`, {
    path: PATH,
    httpOnly: true,
    sameSite: 'strict',
    secure: production,
    signed: true,
    maxAge: MAX_AGE_SECONDS,
  })
}

/** The nonce of a valid device cookie for the account with address `email`, or null. */
export function knownDevice(request: FastifyRequest, email: string): string | null {
  const raw = request.cookies[deviceCookieName(request.server.config.nodeEnv === 'production')]
  if (!raw) return null
  const unsigned = request.unsignCookie(raw)
  if (!unsigned.valid || !unsigned.value) return null
  const [tag, nonce, extra] = unsigned.value.split('.')
  return extra === undefined && tag === accountTag(email) && nonce && /^[A-Za-z0-9_-]{22}$/.test(nonce) ? nonce : null
}

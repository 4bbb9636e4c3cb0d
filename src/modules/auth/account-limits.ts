// The account-keyed limits of /api/auth (the IP limits are rateLimit(name) in routes.ts).
import type { FastifyRequest } from 'fastify'
import { accountRateLimit, emailSubject, subjectHash } from '../../rate-limit/route-config.js'
import { beginRequest } from '../../db/request-tx.js'
import { hashToken, isWellFormedToken } from '../../crypto/tokens.js'
import { requestMetadata } from '../../plugins/request-tx.js'
import { knownDevice } from './devices.js'

/**
 * Records 'auth.login_throttled' when an account's failed sign-ins reach the limit, in a short
 * transaction of its own (the attempt's rolled back with its failure), through
 * app.record_login_throttled (sql/100): an event about the account with no actor, since the
 * user did not do it; the request's IP, user agent and request id say who did. An email with no
 * account has nothing to protect, so it records nothing. The email itself is never written:
 * `after` carries its SHA-256, the key of the counter.
 */
async function recordLoginThrottled(request: FastifyRequest, subject: string): Promise<void> {
  const email = subject.split(DEVICE_SEPARATOR)[0]!
  const { tx } = await beginRequest(request.server.pools.runtime, requestMetadata(request))
  try {
    const after = { emailHash: subjectHash(email), limit: request.server.config.rateLimits.login_account }
    await tx.client.query('select app.record_login_throttled($1, $2::jsonb)', [email, JSON.stringify(after)])
    await tx.commit()
  } finally {
    await tx.rollback()
  }
}

const DEVICE_SEPARATOR = '\n'

/**
 * What a sign-in is counted against: the account (its normalised address), or, from a browser
 * that holds a valid device cookie for that account (./devices.ts), that device of the account.
 */
function loginSubject(request: FastifyRequest): string | undefined {
  const email = emailSubject(request)
  if (!email) return undefined
  const device = knownDevice(request, email)
  return device ? `${email}${DEVICE_SEPARATOR}${device}` : email
}

/**
 * Failed sign-ins per account, from any IP: a distributed guesser rotating addresses still runs
 * out. Only failures count (a successful sign-in gives its unit back); using up the budget is an
 * audit event. A known device of the account has a budget of its own, so a guesser cannot lock
 * the owner out of the browsers they signed in from before.
 */
export const loginAccount = accountRateLimit('login_account', loginSubject, { failuresOnly: true, onExhausted: recordLoginThrottled })

/**
 * Reset emails per address, whoever asks: no one can flood a victim's inbox. Known and unknown
 * emails are counted alike, so a 429 reveals nothing about which exist.
 */
export const forgotPasswordAccount = accountRateLimit('forgot_password_account', emailSubject)

/**
 * The per-account key of the MFA limit: the user id behind a live mfaToken (looked up without
 * consuming it, before the request transaction), so a guesser cannot reset the count by signing
 * in again for a new token. No live token: no account to count (the attempt answers 400).
 */
async function mfaChallengeSubject(request: FastifyRequest): Promise<string | undefined> {
  const token = (request.body as { mfaToken?: unknown } | undefined)?.mfaToken
  if (typeof token !== 'string' || !isWellFormedToken(token)) return undefined
  const { rows } = await request.server.pools.runtime.query<{ user_id: string }>(
    'select user_id from app.mfa_challenge($1)',
    [hashToken(token)],
  )
  const userId = rows[0]?.user_id
  return userId ? `user:${userId}` : undefined
}

/**
 * Failed MFA codes per account (the user id behind the mfaToken, not the token: a new password
 * sign-in would otherwise buy a fresh budget). 5 guesses of a 6-digit code per window.
 */
export const mfaVerifyAccount = accountRateLimit('mfa_verify_account', mfaChallengeSubject, { failuresOnly: true })

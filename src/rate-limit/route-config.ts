// What a route puts in its `config` to be rate limited, by limit name:
//
//   config: { access: 'public', rateLimit: rateLimit('forgot_password_ip'),
//             accountRateLimit: accountRateLimit('forgot_password_account', emailSubject) }
//
// rateLimit(name) is @fastify/rate-limit's per-route option (keyed by client IP, or by the
// signed-in user for verify_resend). accountRateLimit(name, subject) is ours
// (plugins/rate-limit.ts): keyed by a SHA-256 of what `subject` returns (an email, a token),
// independent of the IP, optionally counting failed attempts only.
import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { RateLimitOptions } from '@fastify/rate-limit'
import type { LimitName } from './limits.js'
import { clientKey } from './window.js'
import { normaliseEmail } from '../schemas/common.js'

export interface AccountRateLimit {
  limit: LimitName
  /**
   * The account the attempt is against, or undefined when the body has none (validation answers).
   * May look it up (e.g. the user behind an mfaToken): it runs before the request transaction.
   */
  subject: (request: FastifyRequest) => string | undefined | Promise<string | undefined>
  /** true: a request answered below 400 gives its unit back (only failures count). */
  failuresOnly: boolean
  /**
   * Runs once an attempt uses up the budget (e.g. records an audit event), after the request's
   * own transaction has ended; its failure is logged, never answered.
   */
  onExhausted?: (request: FastifyRequest, subject: string) => Promise<void>
}

declare module 'fastify' {
  interface FastifyContextConfig {
    accountRateLimit?: AccountRateLimit
  }
}

// Limits keyed by the signed-in user; they run at preHandler, once the session is resolved.
// mfa_verify_account keys /login/mfa by the user behind its mfaToken (accountRateLimit, failures
// only); as rateLimit() it guards the settings routes that check a TOTP code (every attempt
// counts there: enabling, disabling and regenerating are rare), so a stolen session cannot
// brute-force a code either.
// invite_user counts the invitations a signed-in user sends, whatever workspace they name.
// password_verify_user guards the routes that check the current password of a signed-in user.
const PER_USER = new Set<LimitName>(['verify_resend', 'mfa_verify_account', 'password_verify_user', 'invite_user'])

/** @fastify/rate-limit options for a route guarded by the named limit. */
export function rateLimit(name: LimitName): RateLimitOptions {
  const perUser = PER_USER.has(name)
  const options: RateLimitOptions & { limitName: LimitName } = {
    // Read per request from the app's configuration, so one route module serves any config.
    max: (request) => request.server.config.rateLimits[name].max,
    timeWindow: (request) => request.server.config.rateLimits[name].windowMs,
    // IP limits run first thing (onRequest), before the body is parsed and before the request
    // transaction takes a pooled connection: a flood is refused at the lowest cost, and a
    // request never holds one connection while waiting for another.
    hook: perUser ? 'preHandler' : 'onRequest',
    keyGenerator: perUser
      ? (request) => (request.ctx?.principal ? `user:${request.ctx.principal.userId}` : `ip:${clientKey(request.ip)}`)
      : (request) => clientKey(request.ip),
    // Read by the store's child(): the key prefix and the failure policy.
    limitName: name,
  }
  return options
}

/** An account limit (see AccountRateLimit). */
export function accountRateLimit(
  name: LimitName,
  subject: AccountRateLimit['subject'],
  opts: { failuresOnly?: boolean; onExhausted?: AccountRateLimit['onExhausted'] } = {},
): AccountRateLimit {
  return { limit: name, subject, failuresOnly: opts.failuresOnly ?? false, onExhausted: opts.onExhausted }
}

/** The subject of an email-keyed limit: the body's email, normalised as sign-in compares it. */
export function emailSubject(request: FastifyRequest): string | undefined {
  const email = (request.body as { email?: unknown } | undefined)?.email
  return typeof email === 'string' && email.trim() ? normaliseEmail(email) : undefined
}

/** SHA-256 hex of a subject: counters and audit rows never hold a raw email or token. */
export function subjectHash(subject: string): string {
  return createHash('sha256').update(subject).digest('hex')
}

// The named rate limits: what each counts, its environment variable, its default, and what
// happens when the limiter itself fails. config.ts parses the variables from this table; routes
// attach limits by name (src/rate-limit/route-config.ts), so a limit is never a bare number in a
// route file.

export type FailurePolicy =
  /** The limiter is unavailable → 503 `unavailable`; the request does nothing. */
  | 'closed'
  /** The limiter is unavailable → the request proceeds, and an error is logged for every one. */
  | 'open'

export interface LimitSpec {
  env: string
  /** "max/window", e.g. "10/15m". */
  fallback: string
  failure: FailurePolicy
  /** What one unit of the budget is, for the README and the logs. */
  counts: string
}

// Failure policy, per limit (a limiter failure is never silent: closed answers 503, open logs an
// error for each request it let through):
// - Everything that guards a credential fails CLOSED: login (password guessing), reset-password
//   (token guessing), MFA verification (a 6-digit code falls to ~10^6 tries). If the counters
//   are unreadable, an attacker who can make them so (e.g. by exhausting the pool) must not get
//   unlimited guesses; a genuine user retries after the 503. The same for the routes that ask a
//   signed-in user for their current password: a stolen cookie must not become a password oracle.
// - forgot-password fails CLOSED too: each request may send an email, so an open limiter would
//   let anyone mail-bomb a victim's inbox and burn the sender's reputation.
// - register fails OPEN: its limit is anti-abuse (bulk sign-ups), nothing is guessed, and
//   refusing every sign-up during a counter outage costs more than a burst of accounts that
//   still need email verification. Each pass-through is logged at error level.
// - verify-email/resend fails OPEN: it needs a signed-in user and only ever mails that user's
//   own address, so the worst case is a user spamming themselves; logged likewise.
// - invitations fail CLOSED: each one mails an address of the inviter's choosing, so an open
//   limiter would make the service a spam relay. Accepting fails closed like every token check.
// - API tokens fail OPEN: the limit is per token, counted only once the database verified the
//   token (keyed by its id), so nothing is being guessed (a token is 256 random bits; an unknown
//   one is a 401 before anything is counted); it keeps a runaway integration from hogging the
//   service. Refusing every integration's every request during a counter outage costs more than
//   letting authenticated, authorised and audited requests through unthrottled, each logged.
// - the billing webhook fails OPEN: its limit only bounds the work a flood costs (an HMAC, and a
//   transaction for a signed event). Nothing can be guessed through it (the signature is an
//   HMAC-SHA256 under a secret, compared in constant time), and refusing the provider's genuine
//   events during a counter outage would delay subscriptions taking effect; logged likewise.
export const LIMITS = {
  register_ip: { env: 'RATE_LIMIT_REGISTER_IP', fallback: '10/1h', failure: 'open', counts: 'registrations per client IP (/64 for IPv6)' },
  login_ip: { env: 'RATE_LIMIT_LOGIN_IP', fallback: '30/15m', failure: 'closed', counts: 'login attempts per client IP (/64 for IPv6)' },
  login_account: { env: 'RATE_LIMIT_LOGIN_ACCOUNT', fallback: '10/15m', failure: 'closed', counts: 'failed logins per account (normalised email), from any IP; each known device of the account apart' },
  verify_resend: { env: 'RATE_LIMIT_VERIFY_RESEND', fallback: '5/1h', failure: 'open', counts: 'verification emails per signed-in user' },
  forgot_password_ip: { env: 'RATE_LIMIT_FORGOT_PASSWORD_IP', fallback: '10/1h', failure: 'closed', counts: 'reset requests per client IP' },
  forgot_password_account: { env: 'RATE_LIMIT_FORGOT_PASSWORD_ACCOUNT', fallback: '3/1h', failure: 'closed', counts: 'reset requests per email address' },
  reset_password_ip: { env: 'RATE_LIMIT_RESET_PASSWORD_IP', fallback: '10/15m', failure: 'closed', counts: 'reset attempts per client IP' },
  mfa_verify_ip: { env: 'RATE_LIMIT_MFA_VERIFY_IP', fallback: '30/15m', failure: 'closed', counts: 'MFA code attempts per client IP' },
  mfa_verify_account: { env: 'RATE_LIMIT_MFA_VERIFY_ACCOUNT', fallback: '5/15m', failure: 'closed', counts: 'failed MFA codes per account' },
  password_verify_user: { env: 'RATE_LIMIT_PASSWORD_VERIFY_USER', fallback: '5/15m', failure: 'closed', counts: 'current-password checks per signed-in user (password change, MFA setup)' },
  invite_user: { env: 'RATE_LIMIT_INVITE_USER', fallback: '30/1h', failure: 'closed', counts: 'invitations sent per signed-in user' },
  invite_accept_ip: { env: 'RATE_LIMIT_INVITE_ACCEPT_IP', fallback: '10/15m', failure: 'closed', counts: 'invitation acceptances per client IP' },
  api_token: { env: 'RATE_LIMIT_API_TOKEN', fallback: '600/1m', failure: 'open', counts: 'requests per API token (any workspace route)' },
  billing_webhook_ip: { env: 'RATE_LIMIT_BILLING_WEBHOOK_IP', fallback: '300/1m', failure: 'open', counts: 'billing webhook deliveries per client IP' },
} as const satisfies Record<string, LimitSpec>

export type LimitName = keyof typeof LIMITS

export interface Limit {
  max: number
  windowMs: number
}

export type RateLimits = Record<LimitName, Limit>

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const MAX_WINDOW_MS = 7 * UNITS.d!

/** Parses "max/window" ("10/15m", "5/1h", "100/30s"); throws a message naming the format. */
export function parseLimit(raw: string): Limit {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*([smhd])\s*$/.exec(raw)
  if (!m) throw new Error(`must look like "10/15m" (max requests / window in s, m, h or d), got "${raw}"`)
  const max = Number(m[1])
  const windowMs = Number(m[2]) * UNITS[m[3]!]!
  if (!Number.isSafeInteger(max) || max < 1 || max > 1_000_000) throw new Error(`max must be from 1 to 1000000, got "${raw}"`)
  if (windowMs < 1000 || windowMs > MAX_WINDOW_MS) throw new Error(`window must be from 1s to 7d, got "${raw}"`)
  return { max, windowMs }
}

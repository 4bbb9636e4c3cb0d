// What a person reads when the API refuses something: one sentence per error `code` (API.md's
// table; test/unit/console-messages.test.ts fails when the service gains a code this map lacks).
// A screen never shows a status number or the raw body. For the codes whose server message
// names the detail that went wrong (the field, the permission, the rule), the sentence is
// followed by that detail, which the service writes for people and never fills with internals.
export const MESSAGES: Record<string, string> = {
  validation_failed: 'Some of the details are not valid.',
  invalid_json: 'The console sent something the service could not read. Reload the page and try again.',
  invalid_signature: 'The signature did not verify.',
  invalid_token: 'This link is not valid any more: it was already used, has expired, or was copied incompletely.',
  unauthenticated: 'Please sign in to continue.',
  invalid_credentials: 'The email or password is not right.',
  invalid_mfa_code: 'That code is not right, has expired or was already used.',
  trial_expired: 'The trial of this workspace has ended, so changes are paused. Everything stays readable; subscribe to keep working.',
  email_unverified: 'Verify your email address first: open the link we emailed you.',
  mfa_required: 'This needs a session signed in with two-factor authentication. Turn it on in Security settings, then sign in again.',
  not_a_member: 'You are not a member of this workspace.',
  workspace_pending_approval: 'This workspace is waiting for approval; changes open once it is approved.',
  workspace_rejected: 'This workspace was not approved.',
  workspace_suspended: 'This workspace is suspended.',
  forbidden: 'Your role does not allow this.',
  invalid_invite_code: 'That invite code is not valid.',
  csrf_rejected: 'The request was refused because it did not come from this site.',
  not_found: 'This no longer exists, or you cannot see it.',
  email_taken: 'An account with this email already exists. Sign in instead, or reset the password.',
  workspace_limit_reached: 'You already own a workspace; during the beta each person owns one.',
  conflict: 'That cannot be done in the current state.',
  payload_too_large: 'That is too large to send.',
  unsupported_media_type: 'The console sent something the service could not read. Reload the page and try again.',
  disposable_email: 'Throwaway email addresses are not accepted; use an address you keep.',
  weak_password: 'Choose a stronger password.',
  rate_limited: 'Too many attempts. Wait a little and try again.',
  internal: 'Something went wrong on our side. Please try again.',
  unavailable: 'The service is briefly unavailable. Please try again in a moment.',
  network: 'The service could not be reached. Check your connection and try again.',
}

/** Codes whose server message adds the specific detail (which field, which permission, which rule). */
const DETAILED = new Set(['validation_failed', 'forbidden', 'conflict', 'weak_password', 'rate_limited'])

/** A failed API call, as screens see it. */
export class ApiFailure extends Error {
  override name = 'ApiFailure'
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly retryAfter?: number,
  ) {
    super(`${code}: ${detail}`)
  }
}

/** The sentence to show for an error of any kind. */
export function messageFor(err: unknown): string {
  if (!(err instanceof ApiFailure)) return MESSAGES.internal!
  const base = MESSAGES[err.code] ?? MESSAGES.internal!
  if (err.code === 'rate_limited' && err.retryAfter) return `Too many attempts. Try again in ${wait(err.retryAfter)}.`
  if (DETAILED.has(err.code) && err.detail && !MESSAGES[err.code]!.startsWith(err.detail)) return `${base} ${sentence(err.detail)}`
  return base
}

function wait(seconds: number): string {
  return seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`
}

function sentence(text: string): string {
  const t = text.trim()
  return /[.!?]$/.test(t) ? t : `${t}.`
}

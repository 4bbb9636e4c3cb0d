// One error vocabulary: every `code` in API.md with its status and a default message. Handlers
// and gates throw AppError; the error handler (plugins/errors.ts) renders it. Nothing replies
// with an error by hand.
export const ERRORS = {
  validation_failed: [400, 'The request does not match the schema'],
  invalid_json: [400, 'The body is not valid JSON'],
  invalid_signature: [400, 'The signature or timestamp does not verify'],
  invalid_token: [400, 'The token is unknown, used or expired'],
  unauthenticated: [401, 'Sign in first'],
  invalid_credentials: [401, 'Wrong email or password'],
  invalid_mfa_code: [401, 'The code is wrong, expired or already used'],
  trial_expired: [402, 'The trial has ended; subscribe to keep making changes'],
  email_unverified: [403, 'Verify your email address first'],
  not_a_member: [403, 'You are not a member of this workspace'],
  workspace_pending_approval: [403, 'This workspace is waiting for approval'],
  workspace_rejected: [403, 'This workspace was rejected'],
  workspace_suspended: [403, 'This workspace is suspended'],
  forbidden: [403, 'You do not have permission to do this'],
  invalid_invite_code: [403, 'The invite code is not valid'],
  csrf_rejected: [403, 'Cross-site request refused'],
  mfa_required: [403, 'Sign in with a second factor to do this: enable MFA, then sign in again'],
  not_found: [404, 'Not found'],
  email_taken: [409, 'An account with this email already exists'],
  workspace_limit_reached: [409, 'You already own a workspace'],
  conflict: [409, 'The request conflicts with the current state'],
  payload_too_large: [413, 'The body is too large'],
  unsupported_media_type: [415, 'Send application/json'],
  disposable_email: [422, 'Disposable email addresses are not accepted'],
  weak_password: [422, 'The password is too weak'],
  rate_limited: [429, 'Too many requests; try again later'],
  internal: [500, 'Something went wrong'],
  unavailable: [503, 'The service is temporarily unavailable; please retry'],
} as const satisfies Record<string, readonly [number, string]>

export type ErrorCode = keyof typeof ERRORS

export class AppError extends Error {
  override name = 'AppError'
  readonly statusCode: number
  readonly headers?: Record<string, string>

  constructor(readonly code: ErrorCode, message?: string, opts: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message ?? ERRORS[code][1], { cause: opts.cause })
    this.statusCode = ERRORS[code][0]
    this.headers = opts.headers
  }
}

export function notFound(what = 'Not found'): AppError {
  return new AppError('not_found', what)
}

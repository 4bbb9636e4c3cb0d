// The privileged functions refuse with SQLSTATEs of their own (sql/020_context.sql lists them),
// each standing for one of API.md's error codes; their message is written for the client. This
// is the one mapping, used by the error handler for any query that did not handle a refusal
// itself.
import { AppError, type ErrorCode } from '../errors.js'

export const REFUSALS = {
  GHAUT: 'unauthenticated',
  GHCRD: 'invalid_credentials',
  GHMFA: 'invalid_mfa_code',
  GHTOK: 'invalid_token',
  GHUNV: 'email_unverified',
  GHMEM: 'not_a_member',
  GHFBD: 'forbidden',
  GHNFD: 'not_found',
  GHCFL: 'conflict',
  GHETK: 'email_taken',
  GHWLR: 'workspace_limit_reached',
  GHWPA: 'workspace_pending_approval',
  GHWRJ: 'workspace_rejected',
  GHWSU: 'workspace_suspended',
  GHTRX: 'trial_expired',
  GHINV: 'validation_failed',
  GHMFR: 'mfa_required',
} as const satisfies Record<string, ErrorCode>

/** The AppError a database refusal stands for, or undefined for any other error. */
export function fromRefusal(err: { code?: string; message?: string } | undefined): AppError | undefined {
  const code = err?.code && (REFUSALS as Record<string, ErrorCode>)[err.code]
  return code ? new AppError(code, err.message) : undefined
}

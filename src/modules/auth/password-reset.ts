// Password recovery by email link: forgot-password issues a single-use reset token, and
// reset-password spends it to set a new password and sign the user out everywhere.
import { AppError } from '../../errors.js'
import { hashPassword } from '../../crypto/passwords.js'
import { hashToken, isWellFormedToken, newToken } from '../../crypto/tokens.js'
import { enqueueComposition } from '../../email/outbox.js'
import type { Composer } from '../../email/worker.js'
import type { Config } from '../../config.js'
import { resetPasswordEmail } from '../../email/templates.js'
import { assertPasswordStrength } from './rules.js'
import { normaliseEmail } from '../../schemas/common.js'
import type { Ctx } from '../../context.js'
import * as q from './queries.js'

// Short-lived (issue 4: ≤ 1 h): a reset link is as good as the password for as long as it lives.
export const RESET_TTL_SECONDS = 3600
/** The outbox template a reset request waits under until the worker composes it. */
export const RESET_REQUEST_TEMPLATE = 'reset_password_request'

/**
 * Queues a reset for `email` and nothing else: whether the address has an account is decided
 * later, by the outbox worker (composePasswordReset). The request does the same work for a known
 * and an unknown address — one sealed row, one INSERT, one COMMIT — so neither its answer (202,
 * same body) nor its timing tells anyone whether an address is registered (API.md).
 */
export async function requestPasswordReset(ctx: Ctx, email: string): Promise<void> {
  await enqueueComposition(ctx.db, ctx.config.encryptionKeys, normaliseEmail(email), RESET_REQUEST_TEMPLATE, ctx.meta)
}

/**
 * The outbox composer of a queued reset: for an address with an account, issues a single-use
 * token (app.issue_password_reset, sql/100: stored hashed, audited with the request's IP, user
 * agent and request id) and answers the email carrying it; for any other address, nothing.
 */
export function composePasswordReset(config: Pick<Config, 'publicUrl'>): Composer {
  return async (client, to, input) => {
    const token = newToken()
    const { rows } = await client.query<{ name: string }>(
      'select name from app.issue_password_reset($1, $2, $3, $4, $5, $6)',
      [to, hashToken(token), RESET_TTL_SECONDS, input.ip ?? null, input.userAgent ?? null, input.requestId ?? null],
    )
    if (!rows[0]) return null
    return resetPasswordEmail({ to, name: rows[0].name, publicUrl: config.publicUrl, token, ttlMinutes: RESET_TTL_SECONDS / 60 })
  }
}

/**
 * Spends a reset token (app.reset_password, sql/100): the new password is set, the address
 * counts as verified (the link proved control of it), every other reset link is void and every
 * session of the user is signed out; audited. Atomic and single-use: of two concurrent resets
 * with one token exactly one wins, the other finds it used (400 invalid_token).
 */
export async function resetPassword(ctx: Ctx, body: { token: string; password: string }): Promise<void> {
  // What can be judged without knowing whose password it is comes first (length, the block
  // list): such a refusal costs no hash and leaves the link usable for a second try.
  assertPasswordStrength(body.password, null)
  if (!isWellFormedToken(body.token)) throw new AppError('invalid_token')
  const newHash = await hashPassword(body.password, ctx.config.passwordPeppers)
  await q.resetPassword(ctx.db, hashToken(body.token), newHash)
  // Only the link says whose password this is, and app.reset_password has just made the request
  // that user's: their address and name are judged now, in the same transaction. A refusal
  // throws, and a request that throws is rolled back (plugins/request-tx.ts), so the reset never
  // happened and the link is still usable, as for a refusal above.
  const owner = await q.currentProfile(ctx.db)
  if (!owner) throw new Error('app.reset_password did not make the request its user\'s')
  assertPasswordStrength(body.password, owner)
}

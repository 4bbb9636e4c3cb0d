// Password recovery by email link: forgot-password issues a single-use reset token, and
// reset-password spends it to set a new password and sign the user out everywhere.
import type { FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import { encrypt } from '../../crypto/envelope.js'
import { hashPassword } from '../../crypto/passwords.js'
import { hashToken, isWellFormedToken, newToken } from '../../crypto/tokens.js'
import { enqueueEmail } from '../../email/outbox.js'
import { resetPasswordEmail } from '../../email/templates.js'
import { recordEvent } from '../../audit/events.js'
import { assertPasswordStrength, normaliseEmail } from './rules.js'
import { tx } from './service.js'
import * as q from './queries.js'

// Short-lived (issue 4: ≤ 1 h): a reset link is as good as the password for as long as it lives.
export const RESET_TTL_SECONDS = 3600

/**
 * Sends a reset link when `email` has an account and does nothing visible otherwise: the caller
 * answers 202 with the same body either way, so the endpoint cannot tell anyone whether an
 * address is registered.
 */
export async function requestPasswordReset(request: FastifyRequest, email: string): Promise<void> {
  const { config } = request.server
  const t = tx(request)
  const login = await q.findLogin(t.db, normaliseEmail(email))
  const token = newToken()
  const tokenHash = hashToken(token)
  if (!login) {
    // Unknown address: spend comparable work (a token, its hash, an envelope encryption like the
    // queued email's) so the response time does not reveal that nothing was sent.
    encrypt(config.encryptionKeys, resetPasswordEmail({ to: email, name: '', publicUrl: config.publicUrl, token, ttlMinutes: 60 }).text, tokenHash.toString('hex'))
    return
  }
  // The caller is not signed in: the token row belongs to the account's user, so act as that
  // user for the insert (RLS lets a user be issued only their own tokens).
  await t.setUser(login.userId)
  const user = await q.findUser(t.db, login.userId)
  if (!user) return
  await q.insertEmailToken(t.db, {
    userId: user.id,
    purpose: 'reset_password',
    tokenHash,
    expiresAt: new Date(Date.now() + RESET_TTL_SECONDS * 1000),
  })
  await enqueueEmail(
    t.db,
    config.encryptionKeys,
    resetPasswordEmail({ to: user.email, name: user.name, publicUrl: config.publicUrl, token, ttlMinutes: RESET_TTL_SECONDS / 60 }),
  )
  await recordEvent(t.db, { action: 'auth.password_reset_requested', entityType: 'user', entityId: user.id, platform: true })
}

/** Spends a reset token: sets the new password and revokes every session of its user. */
export async function resetPassword(request: FastifyRequest, body: { token: string; password: string }): Promise<void> {
  const t = tx(request)
  // The password is judged before the token is consumed, so a rejected weak password leaves the
  // link usable for a second try.
  assertPasswordStrength(body.password)
  if (!isWellFormedToken(body.token)) throw new AppError('invalid_token')
  // Atomic and single-use (sql/040): of two concurrent resets with one token, exactly one gets
  // the user; the other waits on the row lock and then finds it used.
  const userId = await q.consumeEmailToken(t.db, hashToken(body.token), 'reset_password')
  if (!userId) throw new AppError('invalid_token')
  await t.setUser(userId)
  await q.updatePasswordHash(t.db, userId, await hashPassword(body.password))
  // Whoever may have known the old password (or stolen a cookie) is signed out everywhere; RLS
  // lets the user revoke their own sessions, so no privileged function is needed.
  const revoked = await q.revokeUserSessions(t.db, userId)
  await recordEvent(t.db, { action: 'auth.password_reset', entityType: 'user', entityId: userId, after: { sessionsRevoked: revoked }, platform: true })
}

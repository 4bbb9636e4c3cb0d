// Security settings of the signed-in user: changing the password.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import { hashPassword, verifyPassword } from '../../crypto/passwords.js'
import { recordEvent } from '../../audit/events.js'
import { assertPasswordStrength } from '../auth/rules.js'
import { startSession, tx } from '../auth/service.js'
import * as q from '../auth/queries.js'

/**
 * Changes the password after re-checking the current one (a stolen session alone must not be
 * enough to take the account over), then signs out every other session and rotates this one:
 * a new token is issued (API.md) so a copy of the old cookie stops working too.
 */
export async function changePassword(
  request: FastifyRequest,
  reply: FastifyReply,
  body: { currentPassword: string; newPassword: string },
): Promise<void> {
  const { userId, sessionId } = request.principal!
  const t = tx(request)
  const user = await q.findUser(t.db, userId)
  if (!user) throw new AppError('unauthenticated')
  if (!(await verifyPassword(user.passwordHash, body.currentPassword))) throw new AppError('invalid_credentials', 'The current password is wrong')
  assertPasswordStrength(body.newPassword)
  await q.updatePasswordHash(t.db, userId, await hashPassword(body.newPassword))
  const others = await q.revokeUserSessions(t.db, userId, sessionId)
  // Rotate: open the replacement session (and set its cookie) first, then revoke the old one.
  const newSessionId = await startSession(request, reply, userId)
  await q.revokeSession(t.db, sessionId)
  await recordEvent(t.db, {
    action: 'auth.password_changed',
    entityType: 'user',
    entityId: userId,
    after: { sessionsRevoked: others, sessionRotatedTo: newSessionId },
    platform: true,
  })
}

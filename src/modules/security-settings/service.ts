// Security settings of the signed-in user: changing the password.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { hashPassword } from '../../crypto/passwords.js'
import { assertPasswordStrength } from '../auth/rules.js'
import { currentPasswordProof, lifetimes, newSessionToken, tx } from '../auth/service.js'
import { setSessionCookie } from '../../plugins/auth.js'
import * as q from '../auth/queries.js'

/**
 * Changes the password given a proof of the current one (a stolen session alone must not be
 * enough to take the account over), through app.change_password (sql/100), which checks the
 * proof, voids every open reset link, signs out every other session and rotates this one: a new
 * token is issued (API.md) so a copy of the old cookie stops working too. Audited there.
 */
export async function changePassword(
  request: FastifyRequest,
  reply: FastifyReply,
  body: { currentPassword: string; newPassword: string },
): Promise<void> {
  assertPasswordStrength(body.newPassword)
  const currentProof = await currentPasswordProof(request, body.currentPassword)
  const newHash = await hashPassword(body.newPassword, request.server.config.passwordPeppers)
  const session = newSessionToken()
  await q.changePassword(tx(request).db, { currentProof, newHash, sessionTokenHash: session.hash, ...lifetimes(request) })
  setSessionCookie(request, reply, session.token)
}

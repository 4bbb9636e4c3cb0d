// Security settings of the signed-in user: changing the password.
import { hashPassword } from '../../crypto/passwords.js'
import { assertPasswordStrength } from '../auth/rules.js'
import { currentPasswordProof, newRotation } from '../auth/service.js'
import type { UserCtx } from '../../context.js'
import * as q from '../auth/queries.js'

/**
 * Changes the password given a proof of the current one (a stolen session alone must not be
 * enough to take the account over), through app.change_password (sql/100), which checks the
 * proof, voids every open reset link, signs out every other session and rotates this one: a new
 * token is issued (API.md) so a copy of the old cookie stops working too. Answers that token,
 * for the cookie. Audited there.
 */
export async function changePassword(ctx: UserCtx, body: { currentPassword: string; newPassword: string }): Promise<string> {
  assertPasswordStrength(body.newPassword, ctx.principal)
  const currentProof = await currentPasswordProof(ctx, body.currentPassword)
  const newHash = await hashPassword(body.newPassword, ctx.config.passwordPeppers)
  const next = newRotation(ctx)
  await q.changePassword(ctx.db, { currentProof, newHash }, next.rotation)
  return next.token
}

// Security settings of the signed-in user: TOTP MFA and backup codes (API.md). Every change of
// the second factor needs a current TOTP code (disabling also the password, and there a backup
// code may stand in for a lost phone), so a stolen session alone cannot turn MFA off or mint
// backup codes.
import type { FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import { verifyPassword } from '../../crypto/passwords.js'
import { recordEvent } from '../../audit/events.js'
import { tx } from '../auth/service.js'
import * as q from '../auth/queries.js'
import * as mq from '../auth/mfa-queries.js'
import * as mfa from '../auth/mfa.js'

export async function status(request: FastifyRequest): Promise<{ mfaEnabled: boolean; backupCodesRemaining: number }> {
  const { userId } = request.principal!
  const db = tx(request).db
  const row = await mq.findMfa(db, userId)
  const enabled = row?.enabledAt != null
  return { mfaEnabled: enabled, backupCodesRemaining: enabled ? await mq.backupCodesRemaining(db, userId) : 0 }
}

/** A new pending secret (replacing an unconfirmed one); 409 conflict when MFA is already on. */
export async function setup(request: FastifyRequest): Promise<{ secret: string; otpauthUrl: string }> {
  const { userId, email } = request.principal!
  const { secret, envelope, otpauthUrl } = mfa.newSecret(request.server.config.encryptionKeys, userId, email)
  if (!(await mq.savePendingSecret(tx(request).db, userId, envelope))) throw new AppError('conflict', 'MFA is already enabled')
  return { secret, otpauthUrl }
}

/** Confirms the pending secret with a valid code; returns ten backup codes, shown this once. */
export async function enable(request: FastifyRequest, code: string): Promise<string[]> {
  const { userId } = request.principal!
  const row = await mq.findMfa(tx(request).db, userId)
  if (!row) throw new AppError('conflict', 'Set MFA up first')
  if (row.enabledAt) throw new AppError('conflict', 'MFA is already enabled')
  await mfa.verifyTotp(request, userId, code, 'enable')
  const codes = await mfa.issueBackupCodes(request, userId)
  await recordEvent(tx(request).db, { action: 'auth.mfa_enabled', entityType: 'user', entityId: userId, platform: true })
  return codes
}

async function requireEnabled(request: FastifyRequest, userId: string): Promise<void> {
  if (!(await mfa.mfaEnabled(request, userId))) throw new AppError('conflict', 'MFA is not enabled')
}

export async function disable(request: FastifyRequest, body: { password: string; code: string }): Promise<void> {
  const { userId } = request.principal!
  const db = tx(request).db
  await requireEnabled(request, userId)
  const user = await q.findUser(db, userId)
  if (!user || !(await verifyPassword(user.passwordHash, body.password))) throw new AppError('invalid_credentials', 'The password is wrong')
  const method = await mfa.verifyCodeOrBackupCode(request, userId, body.code)
  await mq.deleteMfa(db, userId)
  await recordEvent(db, { action: 'auth.mfa_disabled', entityType: 'user', entityId: userId, after: { method }, platform: true })
}

/** Ten new backup codes; every old one stops working. */
export async function regenerateBackupCodes(request: FastifyRequest, code: string): Promise<string[]> {
  const { userId } = request.principal!
  await requireEnabled(request, userId)
  await mfa.verifyTotp(request, userId, code, 'enabled')
  const codes = await mfa.issueBackupCodes(request, userId)
  await recordEvent(tx(request).db, { action: 'auth.backup_codes_regenerated', entityType: 'user', entityId: userId, platform: true })
  return codes
}

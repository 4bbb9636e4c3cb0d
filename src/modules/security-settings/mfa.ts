// Security settings of the signed-in user: TOTP MFA and backup codes (API.md). Every change of
// the second factor goes through a privileged function (sql/180) that checks it in the
// database: enrolling needs the current password (a stolen cookie cannot enrol its own
// authenticator), enabling and regenerating a current code's time step, disabling the password
// and a second factor (where a backup code may stand in for a lost phone).
import type { FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import { currentPasswordProof, tx } from '../auth/service.js'
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
export async function setup(request: FastifyRequest, password: string): Promise<{ secret: string; otpauthUrl: string }> {
  const { userId, email } = request.principal!
  const proof = await currentPasswordProof(request, password)
  const { secret, envelope, otpauthUrl } = mfa.newSecret(request.server.config.encryptionKeys, userId, email)
  await mq.setup(tx(request).db, proof, envelope)
  return { secret, otpauthUrl }
}

/** Ten fresh backup codes: shown this once, stored as hashes. */
function freshBackupCodes(): { codes: string[]; hashes: Buffer[] } {
  const codes = mfa.newBackupCodes()
  return { codes, hashes: codes.map(mfa.hashBackupCode) }
}

/** Confirms the pending secret with a valid code; returns ten backup codes, shown this once. */
export async function enable(request: FastifyRequest, code: string): Promise<string[]> {
  const { userId } = request.principal!
  const row = await mq.findMfa(tx(request).db, userId)
  if (!row) throw new AppError('conflict', 'Set MFA up first')
  if (row.enabledAt) throw new AppError('conflict', 'MFA is already enabled')
  const step = mfa.totpStep(request, userId, row.secretEncrypted, code)
  if (step === null) throw new AppError('invalid_mfa_code')
  const { codes, hashes } = freshBackupCodes()
  await mq.enable(tx(request).db, step, hashes)
  return codes
}

/** The signed-in user's enabled MFA row, or 409. */
async function enabledMfa(request: FastifyRequest) {
  const row = await mq.findMfa(tx(request).db, request.principal!.userId)
  if (!row?.enabledAt) throw new AppError('conflict', 'MFA is not enabled')
  return row
}

export async function disable(request: FastifyRequest, body: { password: string; code: string }): Promise<void> {
  const { userId } = request.principal!
  const row = await enabledMfa(request)
  const proof = await currentPasswordProof(request, body.password)
  await mq.disable(tx(request).db, proof, mfa.secondFactor(request, userId, row.secretEncrypted, body.code))
}

/** Ten new backup codes; every old one stops working. */
export async function regenerateBackupCodes(request: FastifyRequest, code: string): Promise<string[]> {
  const { userId } = request.principal!
  const row = await enabledMfa(request)
  const step = mfa.totpStep(request, userId, row.secretEncrypted, code)
  if (step === null) throw new AppError('invalid_mfa_code')
  const { codes, hashes } = freshBackupCodes()
  await mq.regenerateBackupCodes(tx(request).db, step, hashes)
  return codes
}

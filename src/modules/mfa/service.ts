// TOTP multi-factor authentication, in one place: the second step of a sign-in
// (/api/auth/login/mfa) and the user's own settings (/api/settings/security/mfa/*,
// /backup-codes). The primitives are src/crypto/totp.ts and src/crypto/backup-codes.ts.
//
// - The TOTP secret is stored only as an envelope (src/crypto/envelope.ts) whose associated data
//   is `user_mfa:<userId>`: a ciphertext copied onto another user's row does not decrypt.
// - A TOTP code is accepted at most once: the database records the accepted time step with one
//   atomic UPDATE that only moves last_used_step forward (app.accept_totp_step, sql/180). The
//   secret is sealed with a key only the service holds, so the service checks the code and the
//   database takes the step it was valid for.
// - Every change of the second factor goes through a privileged function (sql/180) that checks
//   it in the database: enrolling needs the current password (a stolen cookie cannot enrol its
//   own authenticator), enabling and regenerating a current code's time step, disabling the
//   password and a second factor (where a backup code may stand in for a lost phone).
// - An MFA challenge (mfaToken) is a 256-bit random token, stored as its SHA-256, valid 5 minutes,
//   issued by app.sign_in only after it verified the password.
import { AppError } from '../../errors.js'
import { DecryptError, decrypt, encrypt } from '../../crypto/envelope.js'
import { hashToken, isWellFormedToken } from '../../crypto/tokens.js'
import { looksLikeTotpCode, matchingStep, newTotpSecret } from '../../crypto/totp.js'
import { backupCodeCandidates, newBackupCodes } from '../../crypto/backup-codes.js'
import type { Ctx, UserCtx } from '../../context.js'
import { currentPasswordProof, lifetimes, newRotation, newSessionToken } from '../auth/service.js'
import type { Rotation } from '../auth/queries.js'
import * as q from './queries.js'

/** The associated data of a TOTP secret's envelope: the row it belongs to (the key rotation re-seals it too). */
export function secretAad(userId: string): string {
  return `user_mfa:${userId}`
}

/**
 * The time step `code` is valid for under the sealed secret `envelope` of `userId`, or null (a
 * wrong code, or a secret that does not decrypt: a removed key, or an envelope copied from
 * another row — never a 5xx, and never a pass). The database records the step, once.
 */
function totpStep(ctx: Ctx, userId: string, envelope: string | null, code: string): number | null {
  if (!envelope) return null
  let secret: string
  try {
    secret = decrypt(ctx.config.encryptionKeys, envelope, secretAad(userId))
  } catch (err) {
    if (!(err instanceof DecryptError)) throw err
    ctx.log.error({ err, userId }, 'the TOTP secret does not decrypt')
    return null
  }
  return matchingStep(secret, code, ctx.clock())
}

/**
 * The second factor as the database functions take it: a TOTP step, or what a backup code may be
 * stored as (src/crypto/backup-codes.ts: one value per key of the ring, and the legacy hash).
 */
interface SecondFactor {
  step: number | null
  backupCodeHashes: Buffer[] | null
}

/**
 * Completes an MFA sign-in (app.complete_mfa_sign_in, sql/180): the database consumes the
 * challenge, takes the factor and opens the session, or refuses and rolls it all back, so the
 * challenge is used up only by a successful sign-in (a typo does not force the password again);
 * concurrent uses serialise on the row, and guessing is bounded by the per-account limit
 * mfa_verify_account (failures only, keyed by the user id) and the challenge's 5 minutes.
 * Answers the new session's token, for the cookie.
 */
export async function completeLogin(ctx: Ctx, body: { mfaToken: string; code?: string; backupCode?: string }): Promise<string> {
  if ((body.code === undefined) === (body.backupCode === undefined)) {
    throw new AppError('validation_failed', 'Send exactly one of code and backupCode')
  }
  if (!isWellFormedToken(body.mfaToken)) throw new AppError('invalid_token')
  const challengeHash = hashToken(body.mfaToken)
  const challenge = await q.findChallenge(ctx.db, challengeHash)
  if (!challenge) throw new AppError('invalid_token')
  const factor: SecondFactor = body.backupCode !== undefined
    ? { step: null, backupCodeHashes: backupCodeCandidates(body.backupCode, ctx.config.encryptionKeys) }
    : { step: totpStep(ctx, challenge.userId, challenge.secretEncrypted, body.code ?? ''), backupCodeHashes: null }
  const session = newSessionToken()
  await q.completeSignIn(ctx.db, { challengeHash, ...factor, sessionTokenHash: session.hash, ...lifetimes(ctx) })
  return session.token
}

export async function status(ctx: UserCtx): Promise<{ mfaEnabled: boolean; backupCodesRemaining: number }> {
  const { userId } = ctx.principal
  const row = await q.findMfa(ctx.db, userId)
  const enabled = row?.enabledAt != null
  return { mfaEnabled: enabled, backupCodesRemaining: enabled ? await q.backupCodesRemaining(ctx.db, userId) : 0 }
}

/** A new pending secret (replacing an unconfirmed one); 409 conflict when MFA is already on. */
export async function setup(ctx: UserCtx, password: string): Promise<{ secret: string; otpauthUrl: string }> {
  const { userId, email } = ctx.principal
  const proof = await currentPasswordProof(ctx, password)
  const { secret, otpauthUrl } = newTotpSecret(email)
  await q.setup(ctx.db, proof, encrypt(ctx.config.encryptionKeys, secret, secretAad(userId)))
  return { secret, otpauthUrl }
}

/** The time step `code` is valid for, or 401 invalid_mfa_code. */
function requiredStep(ctx: UserCtx, envelope: string | null, code: string): number {
  const step = totpStep(ctx, ctx.principal.userId, envelope, code)
  if (step === null) throw new AppError('invalid_mfa_code')
  return step
}

/**
 * Ten fresh backup codes, stored by `write` with the rotation of the request's session (enabling
 * and regenerating sign out every other session and replace this one, sql/180). Answers the
 * codes, shown this once, and the new session's token, for the cookie.
 */
async function withFreshCodes(
  ctx: UserCtx, write: (hashes: Buffer[], rotation: Rotation) => Promise<void>,
): Promise<{ backupCodes: string[]; sessionToken: string }> {
  const { codes, hashes } = newBackupCodes(ctx.config.encryptionKeys)
  const next = newRotation(ctx)
  await write(hashes, next.rotation)
  return { backupCodes: codes, sessionToken: next.token }
}

/**
 * Confirms the pending secret with a valid code; returns ten backup codes, shown this once, and
 * the rotated session's token (a session that counts as signed in with the second factor).
 */
export async function enable(ctx: UserCtx, code: string): Promise<{ backupCodes: string[]; sessionToken: string }> {
  const row = await q.findMfa(ctx.db, ctx.principal.userId)
  if (!row) throw new AppError('conflict', 'Set MFA up first')
  if (row.enabledAt) throw new AppError('conflict', 'MFA is already enabled')
  const step = requiredStep(ctx, row.secretEncrypted, code)
  return withFreshCodes(ctx, (hashes, rotation) => q.enable(ctx.db, step, hashes, rotation))
}

/** The signed-in user's enabled MFA row, or 409. */
async function getEnabledMfa(ctx: UserCtx) {
  const row = await q.findMfa(ctx.db, ctx.principal.userId)
  if (!row?.enabledAt) throw new AppError('conflict', 'MFA is not enabled')
  return row
}

/**
 * Turns MFA off given the password and a second factor: a current code, or a backup code, so
 * that someone who lost their phone signs in with one backup code, turns MFA off with another
 * and enrols a new phone. Answers the rotated session's token.
 */
export async function disable(ctx: UserCtx, body: { password: string; code: string }): Promise<string> {
  const { userId } = ctx.principal
  const row = await getEnabledMfa(ctx)
  const proof = await currentPasswordProof(ctx, body.password)
  const factor: SecondFactor = looksLikeTotpCode(body.code)
    ? { step: totpStep(ctx, userId, row.secretEncrypted, body.code), backupCodeHashes: null }
    : { step: null, backupCodeHashes: backupCodeCandidates(body.code, ctx.config.encryptionKeys) }
  const next = newRotation(ctx)
  await q.disable(ctx.db, proof, factor, next.rotation)
  return next.token
}

/** Ten new backup codes (every old one stops working), and the rotated session's token. */
export async function regenerateBackupCodes(ctx: UserCtx, code: string): Promise<{ backupCodes: string[]; sessionToken: string }> {
  const row = await getEnabledMfa(ctx)
  const step = requiredStep(ctx, row.secretEncrypted, code)
  return withFreshCodes(ctx, (hashes, rotation) => q.regenerateBackupCodes(ctx.db, step, hashes, rotation))
}

// TOTP multi-factor authentication (issue 4): the shared logic of sign-in (/api/auth/login/mfa)
// and the security settings (/api/settings/security/mfa/*, /backup-codes).
//
// - The TOTP secret is stored only as an envelope (src/crypto/envelope.ts) whose associated data
//   is `user_mfa:<userId>`: a ciphertext copied onto another user's row does not decrypt.
// - A TOTP code is accepted at most once: the accepted time step is recorded with one atomic
//   UPDATE that only moves last_used_step forward (mfa-queries.acceptStep).
// - Backup codes are 50-bit random values shown once and stored one by one as SHA-256 of the
//   normalised code (high entropy + rate limits: no slow hash needed), each single-use.
// - An MFA challenge (mfaToken) is a 256-bit random token, stored as its SHA-256, valid 5 minutes.
import { createHash, randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { Secret, TOTP } from 'otpauth'
import { AppError } from '../../errors.js'
import { DecryptError, decrypt, encrypt, type KeyRing } from '../../crypto/envelope.js'
import { hashToken, isWellFormedToken, newToken } from '../../crypto/tokens.js'
import { tx } from './service.js'
import * as mq from './mfa-queries.js'

export const MFA_CHALLENGE_TTL_SECONDS = 5 * 60
export const BACKUP_CODE_COUNT = 10
const ISSUER = 'Gatehouse'

export function secretAad(userId: string): string {
  return `user_mfa:${userId}`
}

export function totpFor(secretBase32: string, email: string): TOTP {
  return new TOTP({ issuer: ISSUER, label: email, algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secretBase32) })
}

/** A new random secret (160 bits, RFC 4226's recommendation), its envelope and its otpauth:// URL. */
export function newSecret(ring: KeyRing, userId: string, email: string): { secret: string; envelope: string; otpauthUrl: string } {
  const secret = new Secret({ size: 20 }).base32
  return { secret, envelope: encrypt(ring, secret, secretAad(userId)), otpauthUrl: totpFor(secret, email).toString() }
}

/**
 * The time step `code` is valid for (one step of clock drift either way), or null. The caller
 * must still record it with acceptStep, which refuses a step already used.
 */
export function matchingStep(totp: TOTP, code: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null
  const delta = totp.validate({ token: code, timestamp: now, window: 1 })
  return delta === null ? null : totp.counter({ timestamp: now }) + delta
}

/**
 * Checks a TOTP code against the user's secret and records its step (no replay); throws 401
 * invalid_mfa_code otherwise. `mode` 'enable' confirms a pending secret, 'enabled' needs MFA on.
 */
export async function verifyTotp(request: FastifyRequest, userId: string, code: string, mode: 'enable' | 'enabled'): Promise<void> {
  const db = tx(request).db
  const row = await mq.findMfa(db, userId)
  if (!row || (mode === 'enable') !== (row.enabledAt === null)) throw new AppError('invalid_mfa_code')
  let secret: string
  try {
    secret = decrypt(request.server.config.encryptionKeys, row.secretEncrypted, secretAad(userId))
  } catch (err) {
    // A removed key, or an envelope copied from another row: never a 5xx, and never a pass.
    if (!(err instanceof DecryptError)) throw err
    request.log.error({ err, userId }, 'the TOTP secret does not decrypt')
    throw new AppError('invalid_mfa_code')
  }
  // The label (the email) only names the account in an authenticator app; codes do not depend on it.
  const step = matchingStep(totpFor(secret, 'user'), code, request.server.clock())
  if (step === null || !(await mq.acceptStep(db, userId, step, mode))) throw new AppError('invalid_mfa_code')
}

/**
 * A current TOTP code, or one unused backup code (consumed). For disabling MFA: someone who
 * lost their phone signs in with a backup code and must then be able to turn MFA off and enrol
 * a new phone with another one, or they would be left with a dwindling supply of codes.
 */
export async function verifyCodeOrBackupCode(request: FastifyRequest, userId: string, code: string): Promise<'totp' | 'backup_code'> {
  if (/^\s*\d{6}\s*$/.test(code)) {
    await verifyTotp(request, userId, code.trim(), 'enabled')
    return 'totp'
  }
  if (!(await mq.useBackupCode(tx(request).db, userId, hashBackupCode(code)))) throw new AppError('invalid_mfa_code')
  return 'backup_code'
}

/** Lowercase, letters and digits only: `ABCDE-FGHIJ`, `abcde fghij` and `abcdefghij` are one code. */
export function normaliseBackupCode(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '')
}

export function hashBackupCode(code: string): Buffer {
  return createHash('sha256').update(normaliseBackupCode(code), 'utf8').digest()
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** Ten fresh codes like `abcde-fghij` (10 base32 characters, 50 bits each). */
export function newBackupCodes(): string[] {
  return Array.from({ length: BACKUP_CODE_COUNT }, () => {
    const chars = [...randomBytes(10)].map((b) => BASE32[b & 31]).join('')
    return `${chars.slice(0, 5)}-${chars.slice(5)}`
  })
}

/** Replaces the user's backup codes with ten new ones and returns them (shown once). */
export async function issueBackupCodes(request: FastifyRequest, userId: string): Promise<string[]> {
  const codes = newBackupCodes()
  await mq.replaceBackupCodes(tx(request).db, userId, codes.map(hashBackupCode))
  return codes
}

/** Whether the user (the transaction's current user) has MFA enabled. */
export async function mfaEnabled(request: FastifyRequest, userId: string): Promise<boolean> {
  const row = await mq.findMfa(tx(request).db, userId)
  return row?.enabledAt != null
}

/** Issues a challenge for a password-verified user with MFA on; returns the mfaToken. */
export async function startChallenge(request: FastifyRequest, userId: string): Promise<string> {
  const token = newToken()
  await mq.insertChallenge(tx(request).db, {
    userId,
    tokenHash: hashToken(token),
    expiresAt: new Date(Date.now() + MFA_CHALLENGE_TTL_SECONDS * 1000),
  })
  return token
}

/**
 * Completes an MFA sign-in: consumes the challenge, then checks the TOTP or backup code as its
 * user. Decision: the challenge is consumed first, in the request transaction, and a wrong code
 * throws, which rolls the whole transaction back, consumption included. So the challenge is used
 * up only by a successful sign-in (a typo does not force the password again), concurrent uses
 * still serialise on the row (the second waits for the first to commit, then finds it used), and
 * guessing is bounded by the per-account limit mfa_verify_account (failures only, keyed by the
 * user id) and the 5-minute lifetime.
 */
export async function completeLogin(
  request: FastifyRequest,
  body: { mfaToken: string; code?: string; backupCode?: string },
): Promise<{ userId: string; method: 'totp' | 'backup_code' }> {
  if ((body.code === undefined) === (body.backupCode === undefined)) {
    throw new AppError('validation_failed', 'Send exactly one of code and backupCode')
  }
  if (!isWellFormedToken(body.mfaToken)) throw new AppError('invalid_token')
  const t = tx(request)
  const userId = await mq.consumeChallenge(t.db, hashToken(body.mfaToken))
  if (!userId) throw new AppError('invalid_token')
  await t.setUser(userId)
  if (body.backupCode !== undefined) {
    if (!(await mq.useBackupCode(t.db, userId, hashBackupCode(body.backupCode)))) throw new AppError('invalid_mfa_code')
    return { userId, method: 'backup_code' }
  }
  await verifyTotp(request, userId, body.code!, 'enabled')
  return { userId, method: 'totp' }
}

/**
 * The per-account key of the MFA limit: the user id behind a live mfaToken (looked up without
 * consuming it, before the request transaction), so a guesser cannot reset the count by signing
 * in again for a new token. No live token: no account to count (the attempt answers 400).
 */
export async function mfaChallengeSubject(request: FastifyRequest): Promise<string | undefined> {
  const token = (request.body as { mfaToken?: unknown } | undefined)?.mfaToken
  if (typeof token !== 'string' || !isWellFormedToken(token)) return undefined
  const { rows } = await request.server.pools.runtime.query<{ user_id: string | null }>(
    'select app.mfa_challenge_user($1) as user_id',
    [hashToken(token)],
  )
  const userId = rows[0]?.user_id
  return userId ? `user:${userId}` : undefined
}

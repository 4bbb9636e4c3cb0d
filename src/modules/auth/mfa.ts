// TOTP multi-factor authentication (issue 4): the shared logic of sign-in (/api/auth/login/mfa)
// and the security settings (/api/settings/security/mfa/*, /backup-codes).
//
// - The TOTP secret is stored only as an envelope (src/crypto/envelope.ts) whose associated data
//   is `user_mfa:<userId>`: a ciphertext copied onto another user's row does not decrypt.
// - A TOTP code is accepted at most once: the database records the accepted time step with one
//   atomic UPDATE that only moves last_used_step forward (app.accept_totp_step, sql/180). The
//   secret is sealed with a key only the service holds, so the service checks the code and the
//   database takes the step it was valid for.
// - Backup codes are 50-bit random values shown once and stored one by one as SHA-256 of the
//   normalised code (high entropy + rate limits: no slow hash needed), each single-use.
// - An MFA challenge (mfaToken) is a 256-bit random token, stored as its SHA-256, valid 5 minutes,
//   issued by app.sign_in only after it verified the password.
import { createHash, randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Secret, TOTP } from 'otpauth'
import { AppError } from '../../errors.js'
import { DecryptError, decrypt, encrypt, type KeyRing } from '../../crypto/envelope.js'
import { hashToken, isWellFormedToken } from '../../crypto/tokens.js'
import { setSessionCookie } from '../../plugins/auth.js'
import { lifetimes, newSessionToken, tx } from './service.js'
import * as mq from './mfa-queries.js'

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
 * The time step `code` is valid for (one step of clock drift either way), or null. The database
 * must still record it (app.accept_totp_step), which refuses a step already used.
 */
export function matchingStep(totp: TOTP, code: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null
  const delta = totp.validate({ token: code, timestamp: now, window: 1 })
  return delta === null ? null : totp.counter({ timestamp: now }) + delta
}

/**
 * The time step `code` is valid for under the sealed secret `envelope` of `userId`, or null (a
 * wrong code, or a secret that does not decrypt: a removed key, or an envelope copied from
 * another row — never a 5xx, and never a pass). The database records the step, once.
 */
export function totpStep(request: FastifyRequest, userId: string, envelope: string | null, code: string): number | null {
  if (!envelope) return null
  let secret: string
  try {
    secret = decrypt(request.server.config.encryptionKeys, envelope, secretAad(userId))
  } catch (err) {
    if (!(err instanceof DecryptError)) throw err
    request.log.error({ err, userId }, 'the TOTP secret does not decrypt')
    return null
  }
  // The label (the email) only names the account in an authenticator app; codes do not depend on it.
  return matchingStep(totpFor(secret, 'user'), code.trim(), request.server.clock())
}

/** The second factor as the database functions take it: a TOTP step or a backup code's hash. */
export interface SecondFactor {
  step: number | null
  backupCodeHash: Buffer | null
}

/**
 * A current TOTP code (as its step, or no step when it matches none) or a backup code (as its
 * hash). A backup code may stand in for a code when turning MFA off: someone who lost their
 * phone signs in with one backup code and turns MFA off with another, then enrols a new phone.
 */
export function secondFactor(request: FastifyRequest, userId: string, envelope: string | null, code: string): SecondFactor {
  if (/^\s*\d{6}\s*$/.test(code)) return { step: totpStep(request, userId, envelope, code), backupCodeHash: null }
  return { step: null, backupCodeHash: hashBackupCode(code) }
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

/**
 * Completes an MFA sign-in (app.complete_mfa_sign_in, sql/180): the database consumes the
 * challenge, takes the factor and opens the session, or refuses and rolls it all back, so the
 * challenge is used up only by a successful sign-in (a typo does not force the password again);
 * concurrent uses serialise on the row, and guessing is bounded by the per-account limit
 * mfa_verify_account (failures only, keyed by the user id) and the challenge's 5 minutes.
 */
export async function completeLogin(
  request: FastifyRequest,
  reply: FastifyReply,
  body: { mfaToken: string; code?: string; backupCode?: string },
): Promise<void> {
  if ((body.code === undefined) === (body.backupCode === undefined)) {
    throw new AppError('validation_failed', 'Send exactly one of code and backupCode')
  }
  if (!isWellFormedToken(body.mfaToken)) throw new AppError('invalid_token')
  const db = tx(request).db
  const challengeHash = hashToken(body.mfaToken)
  const challenge = await mq.findChallenge(db, challengeHash)
  if (!challenge) throw new AppError('invalid_token')
  const factor: SecondFactor = body.backupCode !== undefined
    ? { step: null, backupCodeHash: hashBackupCode(body.backupCode) }
    : { step: totpStep(request, challenge.userId, challenge.secretEncrypted, body.code!), backupCodeHash: null }
  const session = newSessionToken()
  await mq.completeSignIn(db, { challengeHash, ...factor, sessionTokenHash: session.hash, ...lifetimes(request) })
  setSessionCookie(request, reply, session.token)
}

/**
 * The per-account key of the MFA limit: the user id behind a live mfaToken (looked up without
 * consuming it, before the request transaction), so a guesser cannot reset the count by signing
 * in again for a new token. No live token: no account to count (the attempt answers 400).
 */
export async function mfaChallengeSubject(request: FastifyRequest): Promise<string | undefined> {
  const token = (request.body as { mfaToken?: unknown } | undefined)?.mfaToken
  if (typeof token !== 'string' || !isWellFormedToken(token)) return undefined
  const { rows } = await request.server.pools.runtime.query<{ user_id: string }>(
    'select user_id from app.mfa_challenge($1)',
    [hashToken(token)],
  )
  const userId = rows[0]?.user_id
  return userId ? `user:${userId}` : undefined
}

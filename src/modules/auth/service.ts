// Account logic: registration, sign-in, password proofs and email verification. The service
// computes what is slow or needs a secret it alone holds (Argon2id with the pepper, tokens) and
// the database decides (sql/100): it checks the proof, opens the session and seals the request.
import { AppError } from '../../errors.js'
import { decoySettings, hashPassword, needsRehash, parseSettings, passwordProof, PasswordSettingsError } from '../../crypto/passwords.js'
import { assertNotDisposable, assertPasswordStrength } from './rules.js'
import { normaliseEmail } from '../../schemas/common.js'
import { hashToken, isWellFormedToken, newToken } from '../../crypto/tokens.js'
import { enqueueEmail } from '../../email/outbox.js'
import { verificationEmail } from '../../email/templates.js'
import type { Ctx, UserCtx } from '../../context.js'
import type { UserT } from './schemas.js'
import * as q from './queries.js'


export const VERIFICATION_TTL_SECONDS = 24 * 3600
/** How long a password-verified sign-in waits for its second factor. */
export const MFA_CHALLENGE_TTL_SECONDS = 5 * 60


export function toUser(profile: q.Profile): UserT {
  return {
    id: profile.id,
    email: profile.email,
    name: profile.name,
    emailVerified: profile.emailVerified,
    mfaEnabled: profile.mfaEnabled,
    isPlatformAdmin: profile.isPlatformAdmin,
  }
}

/** The configured session lifetimes, as the database functions take them. */
export function lifetimes({ config }: Ctx): q.Lifetimes {
  return { absoluteSeconds: config.sessionAbsoluteSeconds, idleSeconds: config.sessionIdleSeconds }
}

/** A fresh session token: the cookie gets the token, the database only its hash. */
export function newSessionToken(): { token: string; hash: Buffer } {
  const token = newToken()
  return { token, hash: hashToken(token) }
}

/**
 * A new session for a function that rotates the request's own (a password change, enabling,
 * disabling or regenerating MFA: app.rotate_session signs every other session out and replaces
 * this one, so a copy of the old cookie stops working). The token goes into the reply's cookie.
 */
export function newRotation(ctx: Ctx): { token: string; rotation: q.Rotation } {
  const session = newSessionToken()
  return { token: session.token, rotation: { sessionTokenHash: session.hash, ...lifetimes(ctx) } }
}

/** The signed-in user as the API shows them. */
export async function currentUser(ctx: Ctx): Promise<UserT> {
  const profile = await q.currentProfile(ctx.db)
  if (!profile) throw new AppError('unauthenticated')
  return toUser(profile)
}

export async function sendVerification(ctx: Ctx, user: { id: string; email: string; name: string }): Promise<void> {
  const { config, db } = ctx
  const token = newToken()
  await q.insertEmailToken(db, {
    userId: user.id,
    purpose: 'verify_email',
    tokenHash: hashToken(token),
    expiresAt: new Date(Date.now() + VERIFICATION_TTL_SECONDS * 1000),
  })
  // From a workspace's request (a resend naming one of the user's workspaces), the email is that workspace's.
  await enqueueEmail(db, config.encryptionKeys, verificationEmail({ to: user.email, name: user.name, publicUrl: config.publicUrl, token }),
    ctx.workspace?.id ?? null)
}

/** A new account and its session, whose token the caller sets as the cookie; the transaction is now that user's. */
export async function register(ctx: Ctx, body: { email: string; password: string; name: string }): Promise<{ user: UserT; sessionToken: string }> {
  const email = normaliseEmail(body.email)
  const name = body.name.trim()
  assertNotDisposable(email)
  assertPasswordStrength(body.password, { email, name })
  const passwordHash = await hashPassword(body.password, ctx.config.passwordPeppers)
  const session = newSessionToken()
  await q.register(ctx.db, { email, name, passwordHash, sessionTokenHash: session.hash, ...lifetimes(ctx) })
  return { user: await currentUser(ctx), sessionToken: session.token }
}

/**
 * The proof of `password` under stored `settings` (see src/crypto/passwords.ts), or null when it
 * cannot be made: settings the service cannot read, or a pepper no longer in PASSWORD_PEPPERS
 * (logged: such users must reset their password). Either way one Argon2id is spent, so a
 * refusal takes as long as a wrong password.
 */
async function proofFor(ctx: Ctx, settingsText: string, password: string) {
  const peppers = ctx.config.passwordPeppers
  let settings
  try {
    settings = parseSettings(settingsText)
  } catch (err) {
    if (!(err instanceof PasswordSettingsError)) throw err
    ctx.log.error('stored password settings are unreadable')
    settings = parseSettings(`${decoySettings(peppers)}$AAAAAAAAAAAAAAAAAAAAAA`)
  }
  const proof = await passwordProof(password, settings, peppers)
  if (!proof) ctx.log.error({ keyId: settings.keyId }, 'a password was hashed with a pepper that is no longer in PASSWORD_PEPPERS')
  return { settings, proof }
}

/**
 * Signs in with email and password. The database answers the same for an unknown address and a
 * wrong password (401 invalid_credentials), and the service does the same work for both: it
 * gets decoy settings for an unknown address and spends one Argon2id on them. When the stored
 * hash is outdated (older parameters, or from before the pepper) the service also sends a fresh
 * one, which the database stores only if the proof matched.
 */
export async function signIn(
  ctx: Ctx,
  body: { email: string; password: string },
): Promise<{ user: UserT; sessionToken: string } | { mfaRequired: true; mfaToken: string }> {
  const { config, db } = ctx
  const email = normaliseEmail(body.email)
  const { settings, proof } = await proofFor(ctx, await q.loginSettings(db, email, decoySettings(config.passwordPeppers)), body.password)
  if (!proof) throw new AppError('invalid_credentials')
  const rehash = needsRehash(settings, config.passwordPeppers) ? await hashPassword(body.password, config.passwordPeppers) : null
  const session = newSessionToken()
  const challenge = newSessionToken()
  const result = await q.signIn(db, {
    email,
    proof,
    rehash,
    sessionTokenHash: session.hash,
    challengeTokenHash: challenge.hash,
    challengeSeconds: MFA_CHALLENGE_TTL_SECONDS,
    ...lifetimes(ctx),
  })
  // MFA on: no session and no cookie yet, only a short-lived single-use token for /login/mfa.
  if (result.mfaRequired) return { mfaRequired: true, mfaToken: challenge.token }
  return { user: await currentUser(ctx), sessionToken: session.token }
}

/** A proof of the signed-in user's current password (which the database then checks). */
export async function currentPasswordProof(ctx: UserCtx, password: string): Promise<Buffer> {
  const settings = await q.myPasswordSettings(ctx.db)
  if (!settings) throw new AppError('unauthenticated')
  const { proof } = await proofFor(ctx, settings, password)
  // A pepper that is gone proves nothing: 32 zero bytes never match a stored hash.
  return proof ?? Buffer.alloc(32)
}

/**
 * Spends a verification link for the signed-in account it was sent to (API.md): without a
 * session 401; signed in as another account 403 forbidden (the database refuses, and the link
 * stays good for its own account). Other sessions of the account are signed out.
 */
export async function verifyEmail(ctx: Ctx, token: string): Promise<UserT> {
  if (!ctx.principal) throw new AppError('unauthenticated', 'Sign in to the account this link was sent to, then open the link again')
  if (!isWellFormedToken(token)) throw new AppError('invalid_token')
  await q.verifyEmail(ctx.db, hashToken(token))
  return currentUser(ctx)
}

// Account logic: registration, sign-in, sessions and email verification.
import { randomUUID } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import { hashPassword, needsRehash, verifyPassword } from '../../crypto/passwords.js'
import { assertNotDisposable, assertPasswordStrength, normaliseEmail } from './rules.js'
import { hashToken, isWellFormedToken, newToken } from '../../crypto/tokens.js'
import { enqueueEmail } from '../../email/outbox.js'
import { verificationEmail } from '../../email/templates.js'
import { driverError, type RequestTx } from '../../db/request-tx.js'
import type { UserT } from './schemas.js'
import { requestMetadata, setSessionCookie } from '../../plugins/auth.js'

export { clearSessionCookie } from '../../plugins/auth.js'
import * as q from './queries.js'

export const VERIFICATION_TTL_SECONDS = 24 * 3600

export { normaliseEmail, assertPasswordStrength } from './rules.js'

// A new user (insertUser) has no MFA yet: mfaEnabled is optional.
type UserRow = Omit<NonNullable<Awaited<ReturnType<typeof q.findUser>>>, 'mfaEnabled'> & { mfaEnabled?: boolean }

export function toUser(row: UserRow, admins: Set<string>): UserT {
  const emailVerified = row.emailVerifiedAt !== null
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    emailVerified,
    mfaEnabled: row.mfaEnabled ?? false,
    isPlatformAdmin: emailVerified && admins.has(row.email),
  }
}

export function tx(request: FastifyRequest): RequestTx {
  if (!request.tx) throw new Error('route has no request transaction')
  return request.tx
}

/** Opens a session for `userId` and sets its cookie; only the token's hash is stored. */
export async function startSession(request: FastifyRequest, reply: FastifyReply, userId: string): Promise<string> {
  const { config } = request.server
  const token = newToken()
  const now = Date.now()
  const meta = requestMetadata(request)
  const sessionId = await q.insertSession(tx(request).db, {
    userId,
    tokenHash: hashToken(token),
    expiresAt: new Date(now + config.sessionAbsoluteSeconds * 1000),
    idleTimeoutSeconds: config.sessionIdleSeconds,
    ip: meta.ip,
    userAgent: meta.userAgent,
  })
  await tx(request).setUser(userId, sessionId)
  setSessionCookie(request, reply, token)
  return sessionId
}

export async function sendVerification(request: FastifyRequest, user: { id: string; email: string; name: string }): Promise<void> {
  const { config } = request.server
  const token = newToken()
  const db = tx(request).db
  await q.insertEmailToken(db, {
    userId: user.id,
    purpose: 'verify_email',
    tokenHash: hashToken(token),
    expiresAt: new Date(Date.now() + VERIFICATION_TTL_SECONDS * 1000),
  })
  await enqueueEmail(db, config.encryptionKeys, verificationEmail({ to: user.email, name: user.name, publicUrl: config.publicUrl, token }))
}

export async function register(request: FastifyRequest, body: { email: string; password: string; name: string }): Promise<UserRow> {
  const email = normaliseEmail(body.email)
  assertNotDisposable(email)
  assertPasswordStrength(body.password)
  const id = randomUUID()
  const passwordHash = await hashPassword(body.password)
  // The new row is visible to its own user only (RLS): set that user before inserting it.
  await tx(request).setUser(id)
  try {
    return await q.insertUser(tx(request).db, { id, email, name: body.name.trim(), passwordHash })
  } catch (err) {
    if (driverError(err)?.constraint === 'users_email_is_unique') throw new AppError('email_taken')
    throw err
  }
}

export async function authenticate(request: FastifyRequest, body: { email: string; password: string }): Promise<UserRow> {
  const login = await q.findLogin(tx(request).db, normaliseEmail(body.email))
  // verifyPassword spends one argon2 verification even for an unknown email, so the answer and
  // its timing are the same either way (no account enumeration).
  const ok = await verifyPassword(login?.passwordHash, body.password)
  if (!login || !ok) throw new AppError('invalid_credentials')
  await tx(request).setUser(login.userId)
  // The password is in hand only now: when ARGON2_OPTIONS have been raised since this hash was
  // made, store a new one so stored hashes follow the current cost (the user may update their own
  // password_hash under RLS).
  if (needsRehash(login.passwordHash)) await q.updatePasswordHash(tx(request).db, login.userId, await hashPassword(body.password))
  const user = await q.findUser(tx(request).db, login.userId)
  if (!user) throw new AppError('invalid_credentials')
  return user
}

export async function verifyEmail(request: FastifyRequest, token: string): Promise<UserRow> {
  if (!isWellFormedToken(token)) throw new AppError('invalid_token')
  const userId = await q.consumeEmailToken(tx(request).db, hashToken(token), 'verify_email')
  if (!userId) throw new AppError('invalid_token')
  await tx(request).setUser(userId, request.principal?.userId === userId ? request.principal.sessionId : undefined)
  const user = await q.findUser(tx(request).db, userId)
  if (!user) throw new AppError('invalid_token')
  return user
}

// /api/auth: registration, sign-in and out, the current user, email verification.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { schemas } from './schemas.js'
import * as service from './service.js'
import * as q from './queries.js'
import * as recovery from './password-reset.js'
import * as sessions from './sessions.js'
import { recordEvent } from '../../audit/events.js'
import { clearSessionCookie } from '../../plugins/auth.js'
import { rateLimit } from '../../rate-limit/route-config.js'
import * as limits from './limits.js'
import * as mfa from './mfa.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/register', { schema: schemas.register, config: { access: 'public', rateLimit: rateLimit('register_ip') } }, async (request, reply) => {
    const user = await service.register(request, reply, request.body)
    await service.sendVerification(request, user)
    reply.code(201)
    return { user }
  })

  // Sign-in and its audit event happen in the database (app.sign_in, sql/100).
  app.post('/login', { schema: schemas.login, config: { access: 'public', rateLimit: rateLimit('login_ip'), accountRateLimit: limits.loginAccount } }, async (request, reply) => {
    return service.signIn(request, reply, request.body)
  })

  // The second factor. Limits: per IP, and failed codes per account keyed by the user id behind
  // the mfaToken (limits.mfaVerifyAccount); both fail closed (src/rate-limit/limits.ts).
  app.post('/login/mfa', { schema: schemas.loginMfa, config: { access: 'public', rateLimit: rateLimit('mfa_verify_ip'), accountRateLimit: limits.mfaVerifyAccount } }, async (request, reply) => {
    await mfa.completeLogin(request, reply, request.body)
    return { user: await service.currentUser(request) }
  })

  app.post('/logout', { schema: schemas.logout, config: { access: 'public' } }, async (request, reply) => {
    if (request.principal) {
      await q.revokeSession(request.tx!.db, request.principal.sessionId)
      await recordEvent(request.tx!.db, { action: 'auth.logout', entityType: 'session', entityId: request.principal.sessionId, platform: true })
    }
    clearSessionCookie(request, reply)
    reply.code(204)
    return null
  })

  app.get('/me', { schema: schemas.me, config: { access: 'user' } }, async (request) => {
    return { user: await service.currentUser(request), memberships: await q.myWorkspaces(request.tx!.db) }
  })

  // Needs the session of the account the link was sent to (API.md); the database checks it.
  app.post('/verify-email', { schema: schemas.verifyEmail, config: { access: 'public' } }, async (request) => {
    return { user: await service.verifyEmail(request, request.body.token) }
  })

  app.post('/verify-email/resend', { schema: schemas.resendVerification, config: { access: 'user', rateLimit: rateLimit('verify_resend') } }, async (request, reply) => {
    const principal = request.principal!
    reply.code(202)
    if (principal.emailVerified) return { sent: false }
    await service.sendVerification(request, { id: principal.userId, email: principal.email, name: principal.name })
    return { sent: true }
  })

  app.post('/forgot-password', { schema: schemas.forgotPassword, config: { access: 'public', rateLimit: rateLimit('forgot_password_ip'), accountRateLimit: limits.forgotPasswordAccount } }, async (request, reply) => {
    await recovery.requestPasswordReset(request, request.body.email)
    reply.code(202)
    return { accepted: true as const }
  })

  // No session is opened: the user signs in again with the new password (and MFA, when on).
  app.post('/reset-password', { schema: schemas.resetPassword, config: { access: 'public', rateLimit: rateLimit('reset_password_ip') } }, async (request) => {
    await recovery.resetPassword(request, request.body)
    return { reset: true as const }
  })

  app.get('/sessions', { schema: schemas.listSessions, config: { access: 'user' } }, async (request) => {
    return { sessions: await sessions.listSessions(request) }
  })

  app.delete('/sessions/:id', { schema: schemas.revokeSession, config: { access: 'user' } }, async (request, reply) => {
    await sessions.revokeSession(request, reply, request.params.id)
    reply.code(204)
    return null
  })
}

export default routes

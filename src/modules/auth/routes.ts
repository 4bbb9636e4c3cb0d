// /api/auth: registration, sign-in and out, the current user, email verification.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { schemas } from './schemas.js'
import * as service from './service.js'
import * as q from './queries.js'
import * as recovery from './password-reset.js'
import * as sessions from './sessions.js'
import { recordEvent } from '../../audit/events.js'
import { clearSessionCookie, setSessionCookie } from '../../plugins/identity.js'
import { routes } from '../../plugins/request-tx.js'
import { rateLimit } from '../../rate-limit/route-config.js'
import * as limits from './account-limits.js'
import * as mfa from '../mfa/service.js'
import { setDeviceCookie } from './devices.js'

const plugin: FastifyPluginAsyncTypebox = async (app) => {
  const anyone = routes(app, 'public')
  const user = routes(app, 'user')

  anyone.post('/register', { schema: schemas.register, config: { rateLimit: rateLimit('register_ip') } }, async (ctx, request, reply) => {
    const { user, sessionToken } = await service.register(ctx, request.body)
    await service.sendVerification(ctx, user)
    setSessionCookie(reply, sessionToken)
    reply.code(201)
    return { user }
  })

  // Sign-in and its audit event happen in the database (app.sign_in, sql/100).
  anyone.post('/login', { schema: schemas.login, config: { rateLimit: rateLimit('login_ip'), accountRateLimit: limits.loginAccount } }, async (ctx, request, reply) => {
    await sessions.endPresentedSession(ctx)
    const result = await service.signIn(ctx, request.body)
    if ('mfaRequired' in result) return result
    setSessionCookie(reply, result.sessionToken)
    setDeviceCookie(reply, result.user.email)
    return { user: result.user }
  })

  // The second factor. Limits: per IP, and failed codes per account keyed by the user id behind
  // the mfaToken (limits.mfaVerifyAccount); both fail closed (src/rate-limit/limits.ts).
  anyone.post('/login/mfa', { schema: schemas.loginMfa, config: { rateLimit: rateLimit('mfa_verify_ip'), accountRateLimit: limits.mfaVerifyAccount } }, async (ctx, request, reply) => {
    setSessionCookie(reply, await mfa.completeLogin(ctx, request.body))
    const user = await service.currentUser(ctx)
    setDeviceCookie(reply, user.email)
    return { user }
  })

  anyone.post('/logout', { schema: schemas.logout }, async (ctx, _request, reply) => {
    // A public route's principal is a session's (API tokens reach workspace routes only).
    if (ctx.principal?.sessionId) {
      await q.revokeSession(ctx.db, ctx.principal.sessionId)
      await recordEvent(ctx.db, { action: 'auth.logout', entityType: 'session', entityId: ctx.principal.sessionId, platform: true })
    }
    clearSessionCookie(reply)
    reply.code(204)
    return null
  })

  user.get('/me', { schema: schemas.me }, async (ctx) => {
    return { user: await service.currentUser(ctx), memberships: await q.myWorkspaces(ctx.db) }
  })

  // Needs the session of the account the link was sent to (API.md); the database checks it.
  anyone.post('/verify-email', { schema: schemas.verifyEmail }, async (ctx, request) => {
    return { user: await service.verifyEmail(ctx, request.body.token) }
  })

  // Sent from a workspace (X-Workspace-Id, one of the caller's), the email is that workspace's:
  // its own Resend credential is the fallback sender (email/worker.ts).
  user.post('/verify-email/resend', { schema: schemas.resendVerification, config: { rateLimit: rateLimit('verify_resend'), workspaceOptional: true } }, async (ctx, _request, reply) => {
    const { principal } = ctx
    reply.code(202)
    if (principal.emailVerified) return { sent: false }
    await service.sendVerification(ctx, { id: principal.userId, email: principal.email, name: principal.name })
    return { sent: true }
  })

  anyone.post('/forgot-password', { schema: schemas.forgotPassword, config: { rateLimit: rateLimit('forgot_password_ip'), accountRateLimit: limits.forgotPasswordAccount } }, async (ctx, request, reply) => {
    await recovery.requestPasswordReset(ctx, request.body.email)
    reply.code(202)
    return { accepted: true as const }
  })

  // No session is opened: the user signs in again with the new password (and MFA, when on).
  anyone.post('/reset-password', { schema: schemas.resetPassword, config: { rateLimit: rateLimit('reset_password_ip') } }, async (ctx, request) => {
    await recovery.resetPassword(ctx, request.body)
    return { reset: true as const }
  })

  user.get('/sessions', { schema: schemas.listSessions }, async (ctx) => {
    return { sessions: await sessions.listSessions(ctx) }
  })

  user.delete('/sessions', { schema: schemas.revokeOtherSessions }, async (ctx, _request, reply) => {
    await sessions.revokeOtherSessions(ctx)
    reply.code(204)
    return null
  })

  user.delete('/sessions/:id', { schema: schemas.revokeSession }, async (ctx, request, reply) => {
    // Revoking the session this request came with is a sign-out: drop its cookie too.
    if (await sessions.revokeSession(ctx, request.params.id)) clearSessionCookie(reply)
    reply.code(204)
    return null
  })
}

export default plugin

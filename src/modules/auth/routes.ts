// /api/auth: registration, sign-in and out, the current user, email verification.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../../errors.js'
import { schemas } from './schemas.js'
import * as service from './service.js'
import * as q from './queries.js'
import { recordEvent } from '../../audit/events.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const admins = app.config.platformAdminEmails

  app.post('/register', { schema: schemas.register, config: { access: 'public' } }, async (request, reply) => {
    const user = await service.register(request, request.body)
    await service.startSession(request, reply, user.id)
    await service.sendVerification(request, user)
    await recordEvent(request.tx!.db, { action: 'auth.register', entityType: 'user', entityId: user.id, platform: true })
    reply.code(201)
    return { user: service.toUser(user, admins) }
  })

  app.post('/login', { schema: schemas.login, config: { access: 'public' } }, async (request, reply) => {
    const user = await service.authenticate(request, request.body)
    const sessionId = await service.startSession(request, reply, user.id)
    await recordEvent(request.tx!.db, { action: 'auth.login', entityType: 'session', entityId: sessionId, platform: true })
    return { user: service.toUser(user, admins) }
  })

  app.post('/logout', { schema: schemas.logout, config: { access: 'public' } }, async (request, reply) => {
    if (request.principal) {
      await q.revokeSession(request.tx!.db, request.principal.sessionId)
      await recordEvent(request.tx!.db, { action: 'auth.logout', entityType: 'session', entityId: request.principal.sessionId, platform: true })
    }
    service.clearSessionCookie(request, reply)
    reply.code(204)
    return null
  })

  app.get('/me', { schema: schemas.me, config: { access: 'user' } }, async (request) => {
    const db = request.tx!.db
    const user = await q.findUser(db, request.principal!.userId)
    if (!user) throw new AppError('unauthenticated')
    return { user: service.toUser(user, admins), memberships: await q.myWorkspaces(db) }
  })

  app.post('/verify-email', { schema: schemas.verifyEmail, config: { access: 'public' } }, async (request) => {
    const user = await service.verifyEmail(request, request.body.token)
    await recordEvent(request.tx!.db, { action: 'auth.email_verified', entityType: 'user', entityId: user.id, platform: true })
    return { user: service.toUser(user, admins) }
  })

  app.post('/verify-email/resend', { schema: schemas.resendVerification, config: { access: 'user' } }, async (request, reply) => {
    const principal = request.principal!
    reply.code(202)
    if (principal.emailVerified) return { sent: false }
    await service.sendVerification(request, { id: principal.userId, email: principal.email, name: principal.name })
    return { sent: true }
  })
}

export default routes

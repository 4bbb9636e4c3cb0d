// /api/settings/security: the signed-in user's own security settings (API.md). Only the password
// for now; the MFA routes (GET /, /mfa/setup, /mfa/enable, /mfa/disable, /backup-codes) come
// with TOTP MFA in a later change.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { schemas } from './schemas.js'
import * as service from './service.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/password', { schema: schemas.changePassword, config: { access: 'user' } }, async (request, reply) => {
    await service.changePassword(request, reply, request.body)
    reply.code(204)
    return null
  })
}

export default routes

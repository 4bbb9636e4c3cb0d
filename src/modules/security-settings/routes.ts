// /api/settings/security: the signed-in user's own security settings (API.md): the password,
// TOTP MFA and backup codes.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { schemas } from './schemas.js'
import * as service from './service.js'
import * as mfa from './mfa.js'
import { rateLimit } from '../../rate-limit/route-config.js'

// The routes that check a TOTP code: attempts per signed-in user (see PER_USER in route-config).
const codeChecked = { access: 'user' as const, rateLimit: rateLimit('mfa_verify_account') }

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { schema: schemas.status, config: { access: 'user' } }, async (request) => mfa.status(request))

  app.post('/password', { schema: schemas.changePassword, config: { access: 'user' } }, async (request, reply) => {
    await service.changePassword(request, reply, request.body)
    reply.code(204)
    return null
  })

  app.post('/mfa/setup', { schema: schemas.mfaSetup, config: { access: 'user' } }, async (request) => mfa.setup(request, request.body.password))

  app.post('/mfa/enable', { schema: schemas.mfaEnable, config: codeChecked }, async (request) => {
    return { backupCodes: await mfa.enable(request, request.body.code) }
  })

  app.post('/mfa/disable', { schema: schemas.mfaDisable, config: codeChecked }, async (request, reply) => {
    await mfa.disable(request, request.body)
    reply.code(204)
    return null
  })

  app.post('/backup-codes', { schema: schemas.backupCodes, config: codeChecked }, async (request) => {
    return { backupCodes: await mfa.regenerateBackupCodes(request, request.body.code) }
  })
}

export default routes

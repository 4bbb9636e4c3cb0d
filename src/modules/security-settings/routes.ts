// /api/settings/security: the signed-in user's own security settings (API.md): the password,
// TOTP MFA and backup codes (src/modules/mfa).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { schemas } from './schemas.js'
import * as service from './service.js'
import * as mfa from '../mfa/service.js'
import { setSessionCookie } from '../../plugins/identity.js'
import { routes } from '../../plugins/request-tx.js'
import { rateLimit } from '../../rate-limit/route-config.js'

// The routes that check a TOTP code, or the current password: attempts per signed-in user (see
// PER_USER in route-config), so a stolen cookie is neither a code nor a password oracle.
// /mfa/disable checks both; its code limit bounds it.
const codeChecked = { rateLimit: rateLimit('mfa_verify_account') }
const passwordChecked = { rateLimit: rateLimit('password_verify_user') }

const plugin: FastifyPluginAsyncTypebox = async (app) => {
  const user = routes(app, 'user')

  user.get('/', { schema: schemas.status }, async (ctx) => mfa.status(ctx))

  user.post('/password', { schema: schemas.changePassword, config: passwordChecked }, async (ctx, request, reply) => {
    setSessionCookie(reply, await service.changePassword(ctx, request.body))
    reply.code(204)
    return null
  })

  user.post('/mfa/setup', { schema: schemas.mfaSetup, config: passwordChecked }, async (ctx, request) => mfa.setup(ctx, request.body.password))

  // Enabling, disabling and regenerating sign out every other session and rotate this one: each
  // answers with the new session's cookie.
  user.post('/mfa/enable', { schema: schemas.mfaEnable, config: codeChecked }, async (ctx, request, reply) => {
    const { backupCodes, sessionToken } = await mfa.enable(ctx, request.body.code)
    setSessionCookie(reply, sessionToken)
    return { backupCodes }
  })

  user.post('/mfa/disable', { schema: schemas.mfaDisable, config: codeChecked }, async (ctx, request, reply) => {
    setSessionCookie(reply, await mfa.disable(ctx, request.body))
    reply.code(204)
    return null
  })

  user.post('/backup-codes', { schema: schemas.backupCodes, config: codeChecked }, async (ctx, request, reply) => {
    const { backupCodes, sessionToken } = await mfa.regenerateBackupCodes(ctx, request.body.code)
    setSessionCookie(reply, sessionToken)
    return { backupCodes }
  })
}

export default plugin

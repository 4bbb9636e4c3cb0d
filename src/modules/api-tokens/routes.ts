// /api/workspace/api-tokens: owners and admins (api_tokens:manage) list, create and revoke the
// workspace's API tokens; the database checks the same again (sql/210). A token then works as
// `Authorization: Bearer <token>` on every workspace route (plugins/identity.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { routes } from '../../plugins/request-tx.js'
import { schemas } from './schemas.js'
import { createApiToken, listApiTokens, revokeApiToken } from './service.js'

const plugin: FastifyPluginAsyncTypebox = async (app) => {
  const member = routes(app, 'workspace')

  member.get('/', { schema: schemas.list, config: { permission: 'api_tokens:manage' } }, async (ctx) => {
    return { apiTokens: await listApiTokens(ctx) }
  })

  member.post('/', { schema: schemas.create, config: { permission: 'api_tokens:manage' } }, async (ctx, request, reply) => {
    const created = await createApiToken(ctx, request.body)
    reply.code(201)
    return created
  })

  member.delete('/:id', { schema: schemas.revoke, config: { permission: 'api_tokens:manage' } }, async (ctx, request, reply) => {
    await revokeApiToken(ctx, request.params.id)
    reply.code(204)
    return null
  })
}

export default plugin

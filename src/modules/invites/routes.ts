// /api/workspace/invites (the workspace's invitations, whole gate chain, members:manage) and
// /api/invites/accept (a signed-in user joining a workspace they are not in yet).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { rateLimit } from '../../rate-limit/route-config.js'
import { schemas } from './schemas.js'
import { acceptInvite, createInvite, revokeInvite, toInvite } from './service.js'
import * as q from './queries.js'

export const workspaceInvitesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const config = { access: 'workspace', permission: 'members:manage' } as const

  app.get('/', { schema: schemas.list, config }, async (request) => {
    return { invites: (await q.listOpenInvites(request.tx!.db, request.workspace!.id)).map(toInvite) }
  })

  app.post('/', { schema: schemas.create, config: { ...config, rateLimit: rateLimit('invite_user') } }, async (request, reply) => {
    const invite = await createInvite(request, request.body)
    reply.code(201)
    return { invite }
  })

  app.delete('/:id', { schema: schemas.revoke, config }, async (request, reply) => {
    await revokeInvite(request, request.params.id)
    reply.code(204)
  })
}

export const invitesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/accept', { schema: schemas.accept, config: { access: 'user', rateLimit: rateLimit('invite_accept_ip') } }, async (request) => {
    return { workspaceId: await acceptInvite(request, request.body.token) }
  })
}

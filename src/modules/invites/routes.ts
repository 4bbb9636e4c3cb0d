// /api/workspace/invites (the workspace's invitations, whole gate chain, members:manage) and
// /api/invites/accept (a signed-in user joining a workspace they are not in yet).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { routes } from '../../plugins/request-tx.js'
import { rateLimit } from '../../rate-limit/route-config.js'
import { schemas } from './schemas.js'
import { acceptInvite, createInvite, revokeInvite, toInvite } from './service.js'
import * as q from './queries.js'

export const workspaceInvitesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const member = routes(app, 'workspace')
  const config = { permission: 'members:manage' } as const

  member.get('/', { schema: schemas.list, config }, async (ctx) => {
    return { invites: (await q.listOpenInvites(ctx.db, ctx.workspace.id)).map(toInvite) }
  })

  member.post('/', { schema: schemas.create, config: { ...config, rateLimit: rateLimit('invite_user') } }, async (ctx, request, reply) => {
    const invite = await createInvite(ctx, request.body)
    reply.code(201)
    return { invite }
  })

  member.delete('/:id', { schema: schemas.revoke, config }, async (ctx, request, reply) => {
    await revokeInvite(ctx, request.params.id)
    reply.code(204)
    return null
  })
}

export const invitesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // A verified address first (the gate chain checks it), then the token.
  routes(app, 'verified').post('/accept', { schema: schemas.accept, config: { rateLimit: rateLimit('invite_accept_ip') } }, async (ctx, request) => {
    return { workspaceId: await acceptInvite(ctx, request.body.token) }
  })
}

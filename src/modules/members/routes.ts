// /api/workspace/members: the member list, role, department and scope changes, removals. All run the whole gate chain.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { routes } from '../../plugins/request-tx.js'
import { schemas } from './schemas.js'
import { removeMember, toMember, updateMember } from './service.js'
import * as q from './queries.js'

const plugin: FastifyPluginAsyncTypebox = async (app) => {
  const member = routes(app, 'workspace')

  member.get('/', { schema: schemas.list, config: { permission: 'members:read' } }, async (ctx) => {
    return { members: (await q.listMembers(ctx.db)).map(toMember) }
  })

  member.patch('/:userId', { schema: schemas.update, config: { permission: 'members:manage' } }, async (ctx, request) => {
    return { member: await updateMember(ctx, request.params.userId, request.body) }
  })

  // No permission at the gate: leaving needs none; removing someone else needs members:manage,
  // checked by the database against the caller's role as it is under lock.
  member.delete('/:userId', { schema: schemas.remove }, async (ctx, request, reply) => {
    await removeMember(ctx, request.params.userId)
    reply.code(204)
    return null
  })
}

export default plugin

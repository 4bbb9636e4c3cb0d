// /api/workspace/members: the member list, role changes and removals. All run the whole gate chain.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { schemas } from './schemas.js'
import { changeRole, removeMember, toMember } from './service.js'
import * as q from './queries.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const access = 'workspace' as const

  app.get('/', { schema: schemas.list, config: { access, permission: 'members:read' } }, async (request) => {
    return { members: (await q.listMembers(request.tx!.db)).map(toMember) }
  })

  app.patch('/:userId', { schema: schemas.update, config: { access, permission: 'members:manage' } }, async (request) => {
    return { member: await changeRole(request, request.params.userId, request.body.role) }
  })

  // No permission at the gate: leaving needs none; removing someone else needs members:manage,
  // checked by the service against the caller's role as it is under lock.
  app.delete('/:userId', { schema: schemas.remove, config: { access } }, async (request, reply) => {
    await removeMember(request, request.params.userId)
    reply.code(204)
  })
}

export default routes

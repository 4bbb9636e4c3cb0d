// /api/workspace/members: the member list and role changes. Both run the whole gate chain.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { schemas } from './schemas.js'
import { changeRole, toMember } from './service.js'
import * as q from './queries.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const access = 'workspace' as const

  app.get('/', { schema: schemas.list, config: { access, permission: 'members:read' } }, async (request) => {
    return { members: (await q.listMembers(request.tx!.db)).map(toMember) }
  })

  app.patch('/:userId', { schema: schemas.update, config: { access, permission: 'members:manage' } }, async (request) => {
    return { member: await changeRole(request, request.params.userId, request.body.role) }
  })
}

export default routes

// /api/workspace/roles: the built-in roles and the workspace's custom roles. Listing needs
// members:read (the member list shows roles); changes need roles:manage, and the database
// checks every rule again (sql/125).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { routes } from '../../plugins/request-tx.js'
import { schemas } from './schemas.js'
import { createRole, deleteRole, listRoles, updateRole } from './service.js'

const plugin: FastifyPluginAsyncTypebox = async (app) => {
  const member = routes(app, 'workspace')

  member.get('/', { schema: schemas.list, config: { permission: 'members:read' } }, async (ctx) => {
    return { roles: await listRoles(ctx) }
  })

  member.post('/', { schema: schemas.create, config: { permission: 'roles:manage' } }, async (ctx, request, reply) => {
    const role = await createRole(ctx, request.body)
    reply.code(201)
    return { role }
  })

  member.patch('/:id', { schema: schemas.update, config: { permission: 'roles:manage' } }, async (ctx, request) => {
    return { role: await updateRole(ctx, request.params.id, request.body) }
  })

  member.delete('/:id', { schema: schemas.remove, config: { permission: 'roles:manage' } }, async (ctx, request, reply) => {
    await deleteRole(ctx, request.params.id)
    reply.code(204)
    return null
  })
}

export default plugin

// /api/workspace/departments: every member reads the tree; changes need departments:manage,
// which the database checks again (sql/127).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { routes } from '../../plugins/request-tx.js'
import { schemas } from './schemas.js'
import { createDepartment, deleteDepartment, listDepartments, updateDepartment } from './service.js'

const plugin: FastifyPluginAsyncTypebox = async (app) => {
  const member = routes(app, 'workspace')

  member.get('/', { schema: schemas.list, config: { permission: 'workspace:read' } }, async (ctx) => {
    return { departments: await listDepartments(ctx) }
  })

  member.post('/', { schema: schemas.create, config: { permission: 'departments:manage' } }, async (ctx, request, reply) => {
    const department = await createDepartment(ctx, request.body)
    reply.code(201)
    return { department }
  })

  member.patch('/:id', { schema: schemas.update, config: { permission: 'departments:manage' } }, async (ctx, request) => {
    return { department: await updateDepartment(ctx, request.params.id, request.body) }
  })

  member.delete('/:id', { schema: schemas.remove, config: { permission: 'departments:manage' } }, async (ctx, request, reply) => {
    await deleteDepartment(ctx, request.params.id)
    reply.code(204)
    return null
  })
}

export default plugin

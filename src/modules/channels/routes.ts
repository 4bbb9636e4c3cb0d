// /api/workspace/channels: channel managers (channels:manage, which the database checks again,
// sql/200) see masks of the workspace's channel credentials, set, replace and remove them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { routes } from '../../plugins/request-tx.js'
import { schemas } from './schemas.js'
import { deleteChannel, listChannels, putChannel } from './service.js'

const plugin: FastifyPluginAsyncTypebox = async (app) => {
  const member = routes(app, 'workspace')

  member.get('/', { schema: schemas.list, config: { permission: 'channels:manage' } }, async (ctx) => {
    return { channels: await listChannels(ctx) }
  })

  member.put('/:type', { schema: schemas.put, config: { permission: 'channels:manage' } }, async (ctx, request) => {
    return { channel: await putChannel(ctx, request.params.type, request.body) }
  })

  member.delete('/:type', { schema: schemas.remove, config: { permission: 'channels:manage' } }, async (ctx, request, reply) => {
    await deleteChannel(ctx, request.params.type)
    reply.code(204)
    return null
  })
}

export default plugin

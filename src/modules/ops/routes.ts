// Operations: liveness, readiness and the RFC 9116 security contact. No transaction, no gate.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AppError } from '../../errors.js'
import { errorResponses } from '../../schemas/common.js'

const Status = Type.Object({ status: Type.String() })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', { schema: { tags: ['ops'], response: { 200: Status } } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { tags: ['ops'], response: { 200: Status, ...errorResponses(503) } } }, async () => {
    try {
      await app.pools.runtime.query('select 1')
    } catch (err) {
      throw new AppError('unavailable', 'The database does not answer', { cause: err })
    }
    return { status: 'ready' }
  })

  app.get('/.well-known/security.txt', { schema: { tags: ['ops'], hide: true } }, async (_request, reply) => {
    const expires = new Date(Date.now() + 180 * 24 * 3600 * 1000).toISOString()
    reply.type('text/plain; charset=utf-8')
    return [
      `Contact: mailto:security@${new URL(app.config.publicUrl).hostname}`,
      `Expires: ${expires}`,
      'Preferred-Languages: en',
      `Canonical: ${app.config.publicUrl}/.well-known/security.txt`,
      '',
    ].join('\n')
  })
}

export default routes

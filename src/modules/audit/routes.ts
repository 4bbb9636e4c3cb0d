// /api/workspace/audit-log: the workspace's audit trail, newest first. Owners and admins only
// (audit:read): it shows every member's actions with their IP addresses and user agents. Under
// RLS the transaction sees only the context workspace's rows, whatever the filters say.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { schemas } from './schemas.js'
import { encodeSeqCursor, page, toAuditEntry, toFilters } from './service.js'
import * as q from './queries.js'
import { routes } from '../../plugins/request-tx.js'

const plugin: FastifyPluginAsyncTypebox = async (app) => {
  routes(app, 'workspace').get('/', { schema: schemas.list, config: { permission: 'audit:read' } }, async (ctx, request) => {
    const limit = request.query.limit ?? 50
    const rows = await q.listAuditLog(ctx.db, ctx.workspace.id, toFilters(request.query), limit + 1)
    return page(rows, limit, toAuditEntry, encodeSeqCursor)
  })
}

export default plugin

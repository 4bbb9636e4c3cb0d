// Refused attempts (sql/060, src/plugins/security-events.ts), for the people who defend against
// them: GET /api/admin/security-events (platform administrators: every event) and
// GET /api/workspace/security-events (owners: the events of requests that named their
// workspace). The database checks who may read again, in the function each calls.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { routes } from '../../plugins/request-tx.js'
import { decodeTimeCursor, encodeTimeCursor, page } from '../audit/service.js'
import { schemas } from './schemas.js'
import * as q from './queries.js'
import type { Db } from '../../db/request-tx.js'

function toEntry(row: q.SecurityEventRow) {
  return {
    id: row.id,
    at: row.createdAt.toISOString(),
    code: row.code,
    method: row.method,
    route: row.route,
    userId: row.userId,
    targetUserId: row.targetUserId,
    workspaceId: row.workspaceId,
    ip: row.ip,
    userAgent: row.userAgent,
    requestId: row.requestId,
  }
}

function list(scope: 'admin' | 'workspace') {
  return async (ctx: { db: Db }, request: { query: { cursor?: string; limit?: number } }) => {
    const limit = request.query.limit ?? 50
    const before = request.query.cursor ? decodeTimeCursor(request.query.cursor) : undefined
    const rows = await q.listSecurityEvents(ctx.db, scope, before, limit + 1)
    const { entries, nextCursor } = page(rows, limit, toEntry, encodeTimeCursor)
    return { events: entries, nextCursor }
  }
}

export const adminSecurityEvents: FastifyPluginAsyncTypebox = async (app) => {
  routes(app, 'admin').get('/', { schema: schemas.list }, list('admin'))
}

export const workspaceSecurityEvents: FastifyPluginAsyncTypebox = async (app) => {
  routes(app, 'workspace').get('/', { schema: schemas.list, config: { permission: 'security:read' } }, list('workspace'))
}

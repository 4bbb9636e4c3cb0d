// /api/admin: platform administration of workspaces and the platform's audit trail. Platform
// administrators only: the gate answers 403 from the row app.begin_request returned, and every
// app.admin_* function refuses anyone else again in the database (sql/120).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import { toWorkspaceView } from '../workspaces/service.js'
import { schemas } from './schemas.js'
import type { AdminAction } from './service.js'
import { decodeTimeCursor, encodeTimeCursor, page, toAuditEntry } from '../audit/service.js'
import * as q from './queries.js'

function toAdminView(row: q.AdminWorkspaceRow, now: Date) {
  return {
    ...toWorkspaceView(row, now),
    ownerId: row.ownerId,
    ownerEmail: row.ownerEmail,
    approvedAt: row.approvedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  }
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const config = { access: 'admin' } as const
  const trialDays = app.config.trialDays

  async function transition(request: FastifyRequest, id: string, action: AdminAction, input: { reason?: string; endsAt?: string }) {
    const now = request.dbNow
    const trialEndsAt =
      action === 'approve' ? new Date(now.getTime() + trialDays * 24 * 3600 * 1000)
      : action === 'trial' ? new Date(input.endsAt!)
      : null
    // reject/suspend record their reason; approve/reinstate clear it; trial keeps it (sql/120).
    const row = await q.transitionWorkspace(request.tx!.db, { action, id, reason: input.reason?.trim() ?? null, trialEndsAt })
    if (row.outcome === 'not_found') throw new AppError('not_found', 'No such workspace')
    if (row.outcome === 'conflict') throw new AppError('conflict', `Cannot ${action} a workspace that is ${row.status}`)
    request.log.info({ workspaceId: id, action, by: request.principal!.userId }, 'workspace state changed')
    return { workspace: toAdminView(row, now) }
  }

  app.get('/workspaces', { schema: schemas.list, config }, async (request) => {
    const rows = await q.listWorkspaces(request.tx!.db, request.query.status)
    return { workspaces: rows.map((r) => toAdminView(r, request.dbNow)) }
  })
  app.post('/workspaces/:id/approve', { schema: schemas.approve, config }, async (request) =>
    transition(request, request.params.id, 'approve', {}))
  app.post('/workspaces/:id/reject', { schema: schemas.reject, config }, async (request) =>
    transition(request, request.params.id, 'reject', request.body))
  app.post('/workspaces/:id/suspend', { schema: schemas.suspend, config }, async (request) =>
    transition(request, request.params.id, 'suspend', request.body))
  app.post('/workspaces/:id/reinstate', { schema: schemas.reinstate, config }, async (request) =>
    transition(request, request.params.id, 'reinstate', {}))
  app.post('/workspaces/:id/trial', { schema: schemas.trial, config }, async (request) =>
    transition(request, request.params.id, 'trial', request.body))

  app.get('/audit-log', { schema: schemas.auditLog, config }, async (request) => {
    const limit = request.query.limit ?? 50
    const before = request.query.cursor ? decodeTimeCursor(request.query.cursor) : undefined
    const rows = await q.listAuditLog(request.tx!.db, before, limit + 1)
    return page(rows, limit, (row) => ({ ...toAuditEntry(row), workspaceId: row.workspaceId }), encodeTimeCursor)
  })
}

export default routes

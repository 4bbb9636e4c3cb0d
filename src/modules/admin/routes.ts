// /api/admin: platform administration of workspaces and the platform's audit trail. Platform
// administrators only: the gate answers 403 from the row app.begin_request returned, and every
// app.admin_* function refuses anyone else again in the database (sql/120).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { UserCtx } from '../../context.js'
import { routes } from '../../plugins/request-tx.js'
import { AppError } from '../../errors.js'
import { toWorkspaceView } from '../workspaces/service.js'
import { schemas } from './schemas.js'
import type { AdminAction } from './service.js'
import { decodeTimeCursor, encodeTimeCursor, page, toAuditEntry } from '../audit/service.js'
import * as q from './queries.js'
import { enqueueEmail } from '../../email/outbox.js'
import { mfaResetEmail } from '../../email/templates.js'

function toAdminView(row: q.AdminWorkspaceRow, now: Date) {
  return {
    ...toWorkspaceView(row, now),
    ownerId: row.ownerId,
    ownerEmail: row.ownerEmail,
    approvedAt: row.approvedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  }
}

const plugin: FastifyPluginAsyncTypebox = async (app) => {
  const admin = routes(app, 'admin')
  const trialDays = app.config.trialDays

  // `trialEndsAt`: approval starts the configured trial; 'trial' sets the end it is given.
  async function transition(ctx: UserCtx, id: string, action: AdminAction, input: { reason?: string; trialEndsAt?: Date }) {
    const { now } = ctx
    const trialEndsAt = action === 'approve' ? new Date(now.getTime() + trialDays * 24 * 3600 * 1000) : input.trialEndsAt ?? null
    // reject/suspend record their reason; approve/reinstate clear it; trial keeps it (sql/120).
    const row = await q.transitionWorkspace(ctx.db, { action, id, reason: input.reason?.trim() ?? null, trialEndsAt })
    if (row.outcome === 'not_found') throw new AppError('not_found', 'No such workspace')
    if (row.outcome === 'conflict') throw new AppError('conflict', `Cannot ${action} a workspace that is ${row.status}`)
    ctx.log.info({ workspaceId: id, action, by: ctx.principal.userId }, 'workspace state changed')
    return { workspace: toAdminView(row, now) }
  }

  admin.get('/workspaces', { schema: schemas.list }, async (ctx, request) => {
    const rows = await q.listWorkspaces(ctx.db, request.query.status)
    return { workspaces: rows.map((r) => toAdminView(r, ctx.now)) }
  })
  admin.post('/workspaces/:id/approve', { schema: schemas.approve }, async (ctx, request) =>
    transition(ctx, request.params.id, 'approve', {}))
  admin.post('/workspaces/:id/reject', { schema: schemas.reject }, async (ctx, request) =>
    transition(ctx, request.params.id, 'reject', request.body))
  admin.post('/workspaces/:id/suspend', { schema: schemas.suspend }, async (ctx, request) =>
    transition(ctx, request.params.id, 'suspend', request.body))
  admin.post('/workspaces/:id/reinstate', { schema: schemas.reinstate }, async (ctx, request) =>
    transition(ctx, request.params.id, 'reinstate', {}))
  admin.post('/workspaces/:id/trial', { schema: schemas.trial }, async (ctx, request) =>
    transition(ctx, request.params.id, 'trial', { trialEndsAt: new Date(request.body.endsAt) }))

  // The recovery path for someone who lost every second factor: the database checks the
  // administrator (not the user themself), removes the factor, signs the user out and audits it;
  // the user is told by email, in the same transaction.
  admin.post('/users/:id/mfa-reset', { schema: schemas.mfaReset }, async (ctx, request) => {
    const user = await q.resetMfa(ctx.db, request.params.id, request.body.reason.trim())
    await enqueueEmail(ctx.db, ctx.config.encryptionKeys, mfaResetEmail({ to: user.email, name: user.name, publicUrl: ctx.config.publicUrl }))
    ctx.log.info({ userId: request.params.id, by: ctx.principal.userId }, 'MFA reset by a platform administrator')
    return { userId: request.params.id, sessionsRevoked: user.sessionsRevoked }
  })

  admin.get('/audit-log', { schema: schemas.auditLog }, async (ctx, request) => {
    const limit = request.query.limit ?? 50
    const before = request.query.cursor ? decodeTimeCursor(request.query.cursor) : undefined
    const rows = await q.listAuditLog(ctx.db, before, limit + 1)
    return page(rows, limit, (row) => ({ ...toAuditEntry(row), workspaceId: row.workspaceId }), encodeTimeCursor)
  })
}

export default plugin

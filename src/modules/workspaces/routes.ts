// /api/workspaces (the caller's workspaces) and /api/workspace (the one named by the request).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../../errors.js'
import { safeEqual } from '../../crypto/tokens.js'
import { schemas } from './schemas.js'
import { PERMISSIONS } from '../../rbac/permissions.js'
import { toWorkspaceView } from './service.js'
import * as q from './queries.js'
import { myWorkspaces } from '../auth/queries.js'

export const workspacesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/', { schema: schemas.create, config: { access: 'user' } }, async (request, reply) => {
    const principal = request.principal!
    if (!principal.emailVerified) throw new AppError('email_unverified')
    if (!safeEqual(request.body.inviteCode.trim(), app.config.closedBetaInviteCode)) throw new AppError('invalid_invite_code')
    // One owned workspace per user: the workspaces_one_per_owner constraint decides, so two
    // concurrent requests cannot both pass (app.create_workspace answers 409 workspace_limit_reached).
    const id = await q.createWorkspace(request.tx!.db, request.body.name.trim())
    reply.code(201)
    return {
      workspace: toWorkspaceView(
        { id, name: request.body.name.trim(), status: 'pending_approval', statusReason: null, trialEndsAt: null, billingStatus: 'none' },
        request.dbNow,
      ),
    }
  })

  app.get('/', { schema: schemas.list, config: { access: 'user' } }, async (request) => {
    const rows = await myWorkspaces(request.tx!.db)
    return { workspaces: rows.map((r) => ({ id: r.workspaceId, name: r.name, role: r.role, status: r.status })) }
  })
}

export const workspaceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Answers in every approval state so the client can show why the workspace is blocked; the
  // gate chain has already resolved everything it shows, so this costs no query.
  app.get('/', { schema: schemas.current, config: { access: 'workspace', permission: 'workspace:read', anyState: true } }, async (request) => {
    return { workspace: toWorkspaceView(request.workspace!, request.dbNow) }
  })

  // The permission catalogue (src/rbac/permissions.ts), for role editors: static, no query.
  app.get('/permissions', { schema: schemas.permissions, config: { access: 'workspace', permission: 'workspace:read' } }, async () => {
    return { permissions: PERMISSION_LIST }
  })
}

const PERMISSION_LIST = Object.entries(PERMISSIONS).map(([name, description]) => ({ name, description }))

// /api/workspaces (the caller's workspaces) and /api/workspace (the one named by the request).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../../errors.js'
import { safeEqual } from '../../crypto/tokens.js'
import { routes } from '../../plugins/request-tx.js'
import { schemas } from './schemas.js'
import { BUILT_IN_ROLES, PERMISSIONS } from '../../rbac/permissions.js'
import { toWorkspaceView } from './service.js'
import * as q from './queries.js'
import { myWorkspaces } from '../auth/queries.js'

export const workspacesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Creating a workspace needs a verified address (the gate chain checks it: 'verified').
  routes(app, 'verified').post('/', { schema: schemas.create }, async (ctx, request, reply) => {
    if (!safeEqual(request.body.inviteCode.trim(), app.config.closedBetaInviteCode)) throw new AppError('invalid_invite_code')
    const name = request.body.name.trim()
    // One owned workspace per user: the workspaces_one_per_owner constraint decides, so two
    // concurrent requests cannot both pass (app.create_workspace answers 409 workspace_limit_reached).
    const id = await q.createWorkspace(ctx.db, name)
    reply.code(201)
    return {
      workspace: toWorkspaceView({ id, name, status: 'pending_approval', statusReason: null, trialEndsAt: null, billingStatus: 'none' }, ctx.now),
    }
  })

  routes(app, 'user').get('/', { schema: schemas.list }, async (ctx) => {
    const rows = await myWorkspaces(ctx.db)
    return { workspaces: rows.map((r) => ({ id: r.workspaceId, name: r.name, role: r.role, status: r.status })) }
  })
}

export const workspaceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const member = routes(app, 'workspace')

  // Answers in every approval state so the client can show why the workspace is blocked; the
  // gate chain has already resolved everything it shows, so this costs no query.
  member.get('/', { schema: schemas.current, config: { permission: 'workspace:read', anyState: true } }, async (ctx) => {
    return { workspace: toWorkspaceView(ctx.workspace, ctx.now) }
  })

  // Deleting the workspace (owners: workspace:delete, checked again by app.delete_workspace):
  // the name typed as confirmation, its data key destroyed, its records soft-deleted. A lapsed
  // trial does not stop it (a customer who leaves may always take their secrets with them);
  // the approval gate still does (a suspended workspace stays for the platform to review).
  member.delete('/', { schema: schemas.remove, config: { permission: 'workspace:delete', trialExempt: true } }, async (ctx, request, reply) => {
    await q.deleteWorkspace(ctx.db, request.body.confirm)
    reply.code(204)
    return null
  })

  // The permission catalogue (src/rbac/permissions.ts), for role editors: static, no query.
  member.get('/permissions', { schema: schemas.permissions, config: { permission: 'workspace:read' } }, async () => {
    return { permissions: PERMISSION_LIST, builtInRoles: BUILT_IN_ROLE_LIST }
  })
}

const PERMISSION_LIST = Object.entries(PERMISSIONS).map(([name, description]) => ({ name, description }))
const BUILT_IN_ROLE_LIST = Object.entries(BUILT_IN_ROLES).map(([name, permissions]) => ({ name, permissions: [...permissions] }))

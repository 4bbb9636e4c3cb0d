// The gate chain, in one place and in API.md's order; the first gate that fails answers:
//   authenticate → email verified (writes; every request on 'verified' routes) → membership →
//   approval → trial (writes) → permission
// Every decision comes from what app.begin_request returned with the transaction (the handler's
// context, plugins/request-tx.ts), so the chain costs no extra round trip. The database enforces
// the approval and trial gates again with restrictive write policies (app.secure_tenant_table, sql/030), for any route
// that might skip these hooks.
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import type { Permission } from '../rbac/permissions.js'
import type { RequestWorkspace } from '../db/request-tx.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** workspace routes: the permission the gate chain checks last (a list: any one of them,
     * e.g. contacts:update or contacts:update_own, whose record the database then checks). */
    permission?: Permission | readonly Permission[]
    /** workspace routes: reads answer in every approval state (GET /api/workspace). */
    anyState?: boolean
  }
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function isWrite(method: string): boolean {
  return WRITES.has(method)
}

/** May this workspace be written to at `now`? The same rule as app.current_workspace_writable(). */
export function trialOver(ws: Pick<RequestWorkspace, 'billingStatus' | 'trialEndsAt'>, now: Date): boolean {
  return ws.billingStatus !== 'active' && !(ws.trialEndsAt && ws.trialEndsAt > now)
}

export function assertGates(request: FastifyRequest): void {
  const { access, permission, anyState } = request.routeOptions.config
  if (!access || access === 'public') return

  const ctx = request.ctx
  const principal = ctx?.principal
  if (!ctx || !principal) throw new AppError('unauthenticated')

  if (access === 'admin') {
    if (!principal.isPlatformAdmin) throw new AppError('forbidden', 'Platform administrators only')
    // A stolen password alone does not administer the platform (app.assert_platform_admin
    // refuses the same in the database).
    if (!principal.mfaAuthenticated) throw new AppError('mfa_required')
    return
  }
  if (access === 'verified' && !principal.emailVerified) throw new AppError('email_unverified')
  if (access !== 'workspace') return

  if (request.credentials?.workspaceHeaderInvalid) {
    throw new AppError('validation_failed', 'headers.x-workspace-id must be a workspace UUID')
  }
  const write = isWrite(request.method)
  if (write && !principal.emailVerified) throw new AppError('email_unverified')

  const ws = ctx.workspace
  if (!ws) throw new AppError('not_a_member')

  if (ws.status !== 'active') {
    const blocksReads = ws.status === 'rejected' || ws.status === 'suspended'
    if (write || (blocksReads && !anyState)) throw new AppError(`workspace_${ws.status}`)
  }
  if (write && trialOver(ws, ctx.now)) throw new AppError('trial_expired')

  if (permission) {
    const anyOf: readonly Permission[] = typeof permission === 'string' ? [permission] : permission
    if (!anyOf.some((p) => ws.permissions.has(p))) {
      throw new AppError('forbidden', `Your role lacks the permission ${anyOf.join(' (or ')}${')'.repeat(anyOf.length - 1)}`)
    }
  }
}

export default fp(
  async (app) => {
    // After request-tx's preHandler, which opened the transaction these gates read.
    app.addHook('preHandler', async (request) => assertGates(request))
  },
  { name: 'gates', dependencies: ['request-tx'] },
)

// The gate chain, in one place and in API.md's order; the first gate that fails answers:
//   authenticate → email verified (writes) → membership → approval → trial (writes) → permission
// Every decision comes from the row app.begin_request returned with the transaction, so the
// chain costs no extra round trip. The database enforces the approval and trial gates again with
// restrictive write policies (sql/030), for any route that might skip these hooks.
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import { roleHasPermission } from '../rbac/permissions.js'
import type { WorkspaceContext } from './auth.js'

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function isWrite(method: string): boolean {
  return WRITES.has(method)
}

/** May this workspace be written to at `now`? The same rule as app.current_workspace_writable(). */
export function trialOver(ws: WorkspaceContext, now: Date): boolean {
  return ws.billingStatus !== 'active' && !(ws.trialEndsAt && ws.trialEndsAt > now)
}

export function assertGates(request: FastifyRequest): void {
  const { access, permission, anyState } = request.routeOptions.config
  if (!access || access === 'public') return

  const principal = request.principal
  if (!principal) throw new AppError('unauthenticated')

  if (access === 'admin') {
    if (!principal.isPlatformAdmin) throw new AppError('forbidden', 'Platform administrators only')
    return
  }
  if (access !== 'workspace') return

  if (request.workspaceHeaderInvalid) {
    throw new AppError('validation_failed', 'headers.x-workspace-id must be a workspace UUID')
  }
  const write = isWrite(request.method)
  if (write && !principal.emailVerified) throw new AppError('email_unverified')

  const ws = request.workspace
  if (!ws) throw new AppError('not_a_member')

  if (ws.status !== 'active') {
    const blocksReads = ws.status === 'rejected' || ws.status === 'suspended'
    if (write || (blocksReads && !anyState)) throw new AppError(`workspace_${ws.status}`)
  }
  if (write && trialOver(ws, request.dbNow)) throw new AppError('trial_expired')

  if (permission && !roleHasPermission(ws.role, permission)) {
    throw new AppError('forbidden', `Your role lacks the permission ${permission}`)
  }
}

export default fp(
  async (app) => {
    app.addHook('preValidation', async (request) => assertGates(request))
  },
  { name: 'gates', dependencies: ['auth'] },
)

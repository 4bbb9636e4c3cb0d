// The gate chain, in one place and in API.md's order; the first gate that fails answers:
//   authenticate → email verified (writes; every request on 'verified' routes) → membership →
//   approval → trial (writes) → permission
// An API token's request (principal.tokenId) goes through the same chain for its creator: the
// creator's verified address, the creator still a member of the token's workspace, and the
// permissions of the creator's role as they are now, within the token's scopes (sql/210).
// Every decision comes from what app.begin_request returned with the transaction (the handler's
// context, plugins/request-tx.ts), so the chain costs no extra round trip. The database enforces
// the approval and trial gates again with restrictive write policies (app.secure_tenant_table, sql/030), for any route
// that might skip these hooks.
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import type { Permission } from '../rbac/permissions.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** workspace routes: the permission the gate chain checks last (a list: any one of them,
     * e.g. contacts:update or contacts:update_own, whose record the database then checks). */
    permission?: Permission | readonly Permission[]
    /** workspace routes: reads answer in every approval state (GET /api/workspace). */
    anyState?: boolean
    /** workspace routes: a write the trial gate lets through (an owner may delete a lapsed workspace). */
    trialExempt?: boolean
    /** user routes: X-Workspace-Id may name one of the caller's workspaces, on whose behalf the
     * route acts (a verification email resent from a workspace goes out as that workspace's). */
    workspaceOptional?: boolean
  }
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function isWrite(method: string): boolean {
  return WRITES.has(method)
}

/** What the billing rule reads of a workspace (a RequestWorkspace has it). */
export interface BillingState {
  billingStatus: string
  trialEndsAt: Date | null
  billingGraceEndsAt?: Date | null
}

/**
 * Does the workspace's billing keep writes at `now`? The same rule as app.billing_keeps_writes
 * (sql/020), which the database's write gate applies: an active or trialing subscription; a
 * past_due one until its grace period ends (billing_grace_ends_at, sql/220); otherwise (none,
 * canceled, unpaid, past_due after its grace) the trial, while it lasts.
 */
export function billingKeepsWrites(ws: BillingState, now: Date): boolean {
  if (ws.billingStatus === 'active' || ws.billingStatus === 'trialing') return true
  if (ws.billingStatus === 'past_due' && ws.billingGraceEndsAt && ws.billingGraceEndsAt > now) return true
  return !!ws.trialEndsAt && ws.trialEndsAt > now
}

/** Are writes refused for billing at `now` (402 trial_expired)? The database's write gate decides the same. */
export function trialOver(ws: BillingState, now: Date): boolean {
  return !billingKeepsWrites(ws, now)
}

export function assertGates(request: FastifyRequest): void {
  const { access, permission, anyState, trialExempt } = request.routeOptions.config
  if (!access || access === 'public') return

  const ctx = request.ctx
  const principal = ctx?.principal
  if (!ctx || !principal) throw new AppError('unauthenticated')
  // An API token acts on workspace routes only (plugins/identity.ts never reads one elsewhere).
  if (principal.tokenId && access !== 'workspace') throw new AppError('unauthenticated', 'API tokens work on workspace routes only')

  if (access === 'admin') {
    if (!principal.isPlatformAdmin) throw new AppError('forbidden', 'Platform administrators only')
    // A stolen password alone does not administer the platform (app.assert_platform_admin
    // refuses the same in the database).
    if (!principal.mfaAuthenticated) throw new AppError('mfa_required')
    return
  }
  if (access === 'verified' && !principal.emailVerified) throw new AppError('email_unverified')
  if (request.credentials?.workspaceHeaderInvalid) {
    throw new AppError('validation_failed', 'headers.x-workspace-id must be a workspace UUID')
  }
  if (access !== 'workspace') {
    // A user route that may name a workspace (workspaceOptional) acts for it only as a member.
    if (request.credentials?.workspaceId && !ctx.workspace) throw new AppError('not_a_member')
    return
  }

  const write = isWrite(request.method)
  if (write && !principal.emailVerified) throw new AppError('email_unverified')

  const ws = ctx.workspace
  if (!ws) throw new AppError('not_a_member')

  if (ws.status !== 'active') {
    const blocksReads = ws.status === 'rejected' || ws.status === 'suspended'
    if (write || (blocksReads && !anyState)) throw new AppError(`workspace_${ws.status}`)
  }
  if (write && !trialExempt && trialOver(ws, ctx.now)) throw new AppError('trial_expired')

  if (permission) {
    const anyOf: readonly Permission[] = typeof permission === 'string' ? [permission] : permission
    if (!anyOf.some((p) => ws.permissions.has(p))) {
      const named = `${anyOf.join(' (or ')}${')'.repeat(anyOf.length - 1)}`
      // A token holds its scopes as far as its creator's role holds them now (sql/210).
      throw new AppError('forbidden', principal.tokenId
        ? `This API token's scope lacks the permission ${named} (its scopes count only as far as its creator's role allows them now)`
        : `Your role lacks the permission ${named}`)
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

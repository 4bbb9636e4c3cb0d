// Invitations (API.md /api/workspace/invites and /api/invites/accept). Inviting needs
// members:manage and, like a role change, a role the inviter holds all of (nobody grants what
// they lack): the database checks both (app.create_invite, sql/140). The link carries a 256-bit token, stored as SHA-256 only, good once and for
// INVITE_TTL_SECONDS; a new invitation to the same address replaces the open one. Accepting
// needs a signed-in user whose verified address is the invited one.
import { AppError, notFound, type ErrorCode } from '../../errors.js'
import { hashToken, isWellFormedToken, newToken } from '../../crypto/tokens.js'
import { enqueueEmail } from '../../email/outbox.js'
import { inviteEmail } from '../../email/templates.js'
import type { UserCtx, WorkspaceCtx } from '../../context.js'
import { normaliseEmail } from '../../schemas/common.js'
import * as q from './queries.js'

export const INVITE_TTL_SECONDS = 7 * 24 * 3600

export function toInvite(row: q.InviteRow) {
  return {
    id: row.id,
    email: row.email,
    role: row.roleId ?? row.role,
    expiresAt: row.expiresAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    invitedBy: row.invitedBy,
  }
}

export async function createInvite(ctx: WorkspaceCtx, body: { email: string; role: string }) {
  const { db, workspace, principal, config } = ctx
  const email = normaliseEmail(body.email)
  const token = newToken()
  // The database checks members:manage, the role offered and an existing membership (sql/140).
  const row = await q.createInvite(db, {
    email,
    role: body.role,
    tokenHash: hashToken(token),
    expiresAt: new Date(ctx.now.getTime() + INVITE_TTL_SECONDS * 1000),
  })
  await enqueueEmail(db, config.encryptionKeys, inviteEmail({
    to: email,
    inviterName: principal.name,
    workspaceName: workspace.name,
    role: row.roleId ? ((await q.roleName(db, row.roleId)) ?? 'a custom role') : row.role,
    publicUrl: config.publicUrl,
    token,
    ttlDays: INVITE_TTL_SECONDS / 86400,
  }), workspace.id)
  return toInvite(row)
}

export async function revokeInvite(ctx: WorkspaceCtx, id: string): Promise<void> {
  if (!(await q.revokeInvite(ctx.db, id))) throw notFound('No such open invitation')
}

const REFUSALS: Record<string, [ErrorCode, string?]> = {
  invalid_token: ['invalid_token', 'This invitation is unknown, used, revoked or expired'],
  wrong_email: ['forbidden', 'This invitation is for another email address: sign in with the invited one'],
  workspace_pending_approval: ['workspace_pending_approval'],
  workspace_rejected: ['workspace_rejected'],
  workspace_suspended: ['workspace_suspended'],
  trial_expired: ['trial_expired'],
}

/** Joins the invitation's workspace; the route's gate chain has checked the verified address. */
export async function acceptInvite(ctx: UserCtx, token: string): Promise<string> {
  if (!isWellFormedToken(token)) throw new AppError('invalid_token')
  const { outcome, workspaceId } = await q.acceptInvite(ctx.db, hashToken(token))
  if (outcome === 'ok' && workspaceId) return workspaceId
  const [code, message] = REFUSALS[outcome] ?? ['invalid_token']
  throw new AppError(code, message)
}

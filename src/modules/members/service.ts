// Role changes, departments and scopes, and removals (API.md PATCH/DELETE
// /api/workspace/members/:userId). The rules live in the database (app.change_member_role,
// app.place_member and app.remove_member, sql/130), which locks the
// workspace's owner rows first and then checks, under the lock: changing someone else needs
// members:manage; the member must exist in this workspace (another tenant's user is 404, like an
// unknown one); the caller must hold every permission of the member's current role and, for a
// role change, of the new one (nobody changes someone above them or grants what they lack); the
// last owner stays (409); nobody gives a wider contacts scope than their own; a department is
// this workspace's (400); a member who still owns contacts is not removed (409). A refusal
// arrives as its API.md code (src/db/refusals.ts). The database also re-issues the member's
// sessions on any role change.
import { AppError, notFound } from '../../errors.js'
import { driverError } from '../../db/request-tx.js'
import type { WorkspaceCtx } from '../../context.js'
import type { MemberT, UpdateMemberBodyT } from './schemas.js'
import * as q from './queries.js'

export function toMember(row: q.MemberRow): MemberT {
  return {
    userId: row.userId,
    email: row.email,
    name: row.name,
    role: row.role,
    departmentId: row.departmentId,
    scopes: { contacts: row.contactsScope },
    mfaEnabled: row.mfaEnabled,
    joinedAt: new Date(row.joinedAt).toISOString(),
  }
}

/** PATCH /members/:userId: the role, then the department and scope, in the request's transaction. */
export async function updateMember(ctx: WorkspaceCtx, userId: string, body: UpdateMemberBodyT): Promise<MemberT> {
  if (body.role !== undefined) {
    await q.changeRole(ctx.db, userId, body.role)
    // Changing one's own role re-issues this very session with this reply (plugins/session-reissue.ts).
    if (userId === ctx.principal.userId) ctx.principal.sessionNeedsNewToken = true
  }
  if (body.departmentId !== undefined || body.scopes !== undefined) {
    try {
      await q.placeMember(ctx.db, userId, { departmentId: body.departmentId, contactsScope: body.scopes?.contacts })
    } catch (err) {
      if (driverError(err)?.constraint === 'memberships_department_in_same_workspace') {
        throw new AppError('validation_failed', 'body.departmentId must be a department of this workspace')
      }
      throw err
    }
  }
  const [row] = await q.listMembers(ctx.db, userId)
  if (!row) throw notFound('No such member')
  return toMember(row)
}

/** Removes a member, or lets a member leave (which needs no permission). */
export async function removeMember(ctx: WorkspaceCtx, userId: string): Promise<void> {
  await q.removeMember(ctx.db, userId)
}

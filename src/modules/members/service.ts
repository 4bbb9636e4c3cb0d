// Role changes and removals (API.md PATCH/DELETE /api/workspace/members/:userId). The rules live
// in the database (app.change_member_role and app.remove_member, sql/130), which locks the
// workspace's owner rows first and then checks, under the lock: changing someone else needs
// members:manage; the member must exist in this workspace (another tenant's user is 404, like an
// unknown one); the caller must hold every permission of the member's current role and, for a
// role change, of the new one (nobody changes someone above them or grants what they lack); the
// last owner stays (409); a member who still owns contacts is not removed (409). A refusal
// arrives as its API.md code (src/db/refusals.ts). The database also re-issues the member's
// sessions on any role change.
import type { FastifyRequest } from 'fastify'
import { notFound } from '../../errors.js'
import { tx } from '../auth/service.js'
import type { MemberT } from './schemas.js'
import * as q from './queries.js'

export function toMember(row: q.MemberRow): MemberT {
  return {
    userId: row.userId,
    email: row.email,
    name: row.name,
    role: row.role,
    departmentId: null,
    scopes: { contacts: 'all' },
    mfaEnabled: row.mfaEnabled,
    joinedAt: new Date(row.joinedAt).toISOString(),
  }
}

export async function changeRole(request: FastifyRequest, userId: string, role: string): Promise<MemberT> {
  const db = tx(request).db
  await q.changeRole(db, userId, role)
  // Changing one's own role re-issues this very session with this reply.
  if (userId === request.principal!.userId) request.reissueSession = true
  const [row] = await q.listMembers(db, userId)
  if (!row) throw notFound('No such member')
  return toMember(row)
}

/** Removes a member, or lets a member leave (which needs no permission). */
export async function removeMember(request: FastifyRequest, userId: string): Promise<void> {
  await q.removeMember(tx(request).db, userId)
}

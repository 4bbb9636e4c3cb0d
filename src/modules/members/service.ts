// Role changes and removals (API.md PATCH/DELETE /api/workspace/members/:userId). The rules, in
// order: changing someone else needs members:manage; the member must exist in this workspace
// (another tenant's user is 404, like an unknown one); the caller must hold every permission of
// the member's current role and, for a role change, of the new one (nobody changes someone
// above them or grants what they lack); the last owner stays (409). The database backs the last
// rule (sql/080) and re-issues the member's sessions on any role change.
import type { FastifyRequest } from 'fastify'
import { AppError, notFound } from '../../errors.js'
import { roleCovers, roleHasPermission } from '../../rbac/permissions.js'
import { tx } from '../auth/service.js'
import type { MemberT } from './schemas.js'
import * as q from './queries.js'

const NO_SUCH_MEMBER = 'No such member'

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

/**
 * Locks what a membership change decides on and reads it under the lock: the workspace's owner
 * rows first (so changes in one workspace run one at a time, and two owners deposing each other
 * cannot both see another owner left), then the caller's and the member's rows. The caller's
 * role is the one they have now, not the one the request started with. Everything but leaving
 * (removing oneself) needs members:manage.
 */
async function lockForChange(request: FastifyRequest, userId: string, action: 'change' | 'remove') {
  const db = tx(request).db
  const workspaceId = request.workspace!.id
  const callerId = request.principal!.userId
  const owners = await q.lockOwners(db, workspaceId)
  const roles = await q.lockMemberships(db, workspaceId, [callerId, userId])
  const callerRole = roles.get(callerId)
  const current = roles.get(userId)
  const self = userId === callerId
  const leaving = self && action === 'remove'
  if (!callerRole || (!leaving && !roleHasPermission(callerRole, 'members:manage'))) {
    throw new AppError('forbidden', 'Your role lacks the permission members:manage')
  }
  if (!current) throw notFound(NO_SUCH_MEMBER)
  if (!roleCovers(callerRole, current)) {
    throw new AppError('forbidden', `Your role (${callerRole}) cannot change a member who is ${current}`)
  }
  return { db, workspaceId, self, callerRole, current, lastOwner: current === 'owner' && owners.length <= 1 }
}

export async function changeRole(request: FastifyRequest, userId: string, role: string): Promise<MemberT> {
  const { db, workspaceId, self, callerRole, current, lastOwner } = await lockForChange(request, userId, 'change')
  if (!roleCovers(callerRole, role)) {
    throw new AppError('forbidden', `Your role (${callerRole}) cannot grant the role ${role}`)
  }
  if (lastOwner && role !== 'owner') {
    throw new AppError('conflict', 'The last owner cannot be demoted; make another member an owner first')
  }
  if (current !== role) {
    await q.setRole(db, workspaceId, userId, role)
    // Changing one's own role re-issues this very session with this reply.
    if (self) request.reissueSession = true
  }
  const [row] = await q.listMembers(db, userId)
  return toMember(row!)
}

/**
 * Removes a member, or lets a member leave (which needs no permission). Refused, changing
 * nothing: the last owner (409); a member who still owns contacts, deleted ones included (409:
 * their contacts must go to another member first — the contacts' owner must be a member, a
 * constraint, so nothing is left pointing at someone who is gone).
 */
export async function removeMember(request: FastifyRequest, userId: string): Promise<void> {
  const { db, workspaceId, lastOwner } = await lockForChange(request, userId, 'remove')
  if (lastOwner) throw new AppError('conflict', 'The last owner cannot leave; make another member an owner first')
  const owned = await q.countOwnedContacts(db, workspaceId, userId)
  if (owned > 0) {
    throw new AppError('conflict', `The member still owns ${owned} contact${owned === 1 ? '' : 's'} (deleted ones included); give them to another member first`)
  }
  await q.deleteMembership(db, workspaceId, userId)
}

// Role changes (API.md PATCH /api/workspace/members/:userId). The rules, in order: the member
// must exist in this workspace (another tenant's user is 404, like an unknown one); the caller
// must hold every permission of the member's current role and of the new one (nobody changes
// someone above them or grants what they lack); the last owner stays an owner (409). The
// database backs the last rule (sql/080) and re-issues the member's sessions on any change.
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

export async function changeRole(request: FastifyRequest, userId: string, role: string): Promise<MemberT> {
  const db = tx(request).db
  const workspaceId = request.workspace!.id
  const callerId = request.principal!.userId
  // Every role change in a workspace locks its owner rows first, so role changes there run one
  // at a time; the caller's own role is then read again under the lock, not taken from the
  // start of the request (a caller demoted a moment ago acts with the role they have now).
  const owners = await q.lockOwners(db, workspaceId)
  const roles = await q.lockMemberships(db, workspaceId, [callerId, userId])
  const callerRole = roles.get(callerId)
  if (!callerRole || !roleHasPermission(callerRole, 'members:manage')) {
    throw new AppError('forbidden', 'Your role no longer has the permission members:manage')
  }
  const current = roles.get(userId)
  if (!current) throw notFound(NO_SUCH_MEMBER)
  if (!roleCovers(callerRole, current)) {
    throw new AppError('forbidden', `Your role (${callerRole}) cannot change the role of a member who is ${current}`)
  }
  if (!roleCovers(callerRole, role)) {
    throw new AppError('forbidden', `Your role (${callerRole}) cannot grant the role ${role}`)
  }
  if (current === 'owner' && role !== 'owner' && owners.length <= 1) {
    throw new AppError('conflict', 'The last owner cannot be demoted; make another member an owner first')
  }
  if (current !== role) {
    await q.setRole(db, workspaceId, userId, role)
    // Changing one's own role re-issues this very session with this reply.
    if (userId === callerId) request.reissueSession = true
  }
  const [row] = await q.listMembers(db, userId)
  return toMember(row!)
}

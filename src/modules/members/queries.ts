import { and, asc, count, eq, inArray, sql } from 'drizzle-orm'
import type { Db } from '../../db/request-tx.js'
import { contacts, memberships } from '../../db/schema/index.js'

export type MemberRow = {
  userId: string
  email: string
  name: string
  role: string
  mfaEnabled: boolean
  joinedAt: string
}

/** The request workspace's members (app.workspace_members, sql/080), or one of them. */
export async function listMembers(db: Db, userId?: string): Promise<MemberRow[]> {
  const { rows } = await db.execute<MemberRow>(sql`
    select user_id as "userId", email, name, role, mfa_enabled as "mfaEnabled", joined_at as "joinedAt"
      from app.workspace_members()
     ${userId ? sql`where user_id = ${userId}` : sql``}`)
  return rows
}

/**
 * Locks the workspace's owner memberships, always first and in one order: two owners demoting
 * each other at the same time then run one after the other, and the second sees one owner left.
 */
export async function lockOwners(db: Db, workspaceId: string): Promise<string[]> {
  const rows = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.role, 'owner')))
    .orderBy(asc(memberships.userId))
    .for('update')
  return rows.map((r) => r.userId)
}

/** Locks the memberships of `userIds` in this workspace (in one order) and reads their roles. */
export async function lockMemberships(db: Db, workspaceId: string, userIds: string[]): Promise<Map<string, string>> {
  const rows = await db
    .select({ userId: memberships.userId, role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), inArray(memberships.userId, userIds)))
    .orderBy(asc(memberships.userId))
    .for('update')
  return new Map(rows.map((r) => [r.userId, r.role]))
}

export async function setRole(db: Db, workspaceId: string, userId: string, role: string): Promise<void> {
  await db
    .update(memberships)
    .set({ role })
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
}

export async function deleteMembership(db: Db, workspaceId: string, userId: string): Promise<void> {
  await db.delete(memberships).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
}

/** Contacts of the workspace owned by `userId`, soft-deleted ones included. */
export async function countOwnedContacts(db: Db, workspaceId: string, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(contacts)
    .where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.ownerId, userId)))
  return row?.n ?? 0
}

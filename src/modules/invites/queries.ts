import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/request-tx.js'
import { workspaceInvites } from '../../db/schema/index.js'

const open = and(isNull(workspaceInvites.acceptedAt), isNull(workspaceInvites.revokedAt))

export type InviteRow = typeof workspaceInvites.$inferSelect

/** The workspace's invitations that can still be accepted, newest first. */
export async function listOpenInvites(db: Db, workspaceId: string): Promise<InviteRow[]> {
  return db
    .select()
    .from(workspaceInvites)
    .where(and(eq(workspaceInvites.workspaceId, workspaceId), open, gt(workspaceInvites.expiresAt, sql`now()`)))
    .orderBy(desc(workspaceInvites.createdAt), desc(workspaceInvites.id))
}

export async function insertInvite(
  db: Db,
  values: { workspaceId: string; email: string; role: string; tokenHash: Buffer; invitedBy: string; expiresAt: Date },
): Promise<InviteRow> {
  const [row] = await db.insert(workspaceInvites).values(values).returning()
  return row!
}

/** Revokes the open invitation of `email` (expired or not), if any: a new one replaces it. */
export async function revokeOpenInviteFor(db: Db, workspaceId: string, email: string): Promise<void> {
  await db
    .update(workspaceInvites)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(workspaceInvites.workspaceId, workspaceId), eq(workspaceInvites.email, email), open))
}

/** Revokes one open invitation; false when there is none with that id in this workspace. */
export async function revokeInvite(db: Db, workspaceId: string, id: string): Promise<boolean> {
  const rows = await db
    .update(workspaceInvites)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(workspaceInvites.workspaceId, workspaceId), eq(workspaceInvites.id, id), open))
    .returning({ id: workspaceInvites.id })
  return rows.length === 1
}

/** Whether `email` already belongs to a member of the request's workspace (sql/080). */
export async function isMemberEmail(db: Db, email: string): Promise<boolean> {
  const { rows } = await db.execute(sql`select 1 from app.workspace_members() where email = ${email}`)
  return rows.length > 0
}

/** Spends an invitation for the signed-in user (app.accept_invite, sql/085). */
export async function acceptInvite(db: Db, tokenHash: Buffer): Promise<{ outcome: string; workspaceId: string | null }> {
  const { rows } = await db.execute<{ outcome: string; workspace_id: string | null }>(
    sql`select outcome, workspace_id from app.accept_invite(${tokenHash})`,
  )
  return { outcome: rows[0]!.outcome, workspaceId: rows[0]!.workspace_id }
}

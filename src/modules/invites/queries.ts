import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../db/request-tx.js'
import { workspaceInvites, workspaceRoles } from '../../db/schema/index.js'
import { fromDriverRow } from '../../db/rows.js'

const open = and(isNull(workspaceInvites.acceptedAt), isNull(workspaceInvites.revokedAt))

export type InviteRow = Omit<typeof workspaceInvites.$inferSelect, 'tokenHash'>

// Everything but the token's hash, which the runtime may not read.
const columns = {
  workspaceId: workspaceInvites.workspaceId,
  id: workspaceInvites.id,
  email: workspaceInvites.email,
  role: workspaceInvites.role,
  roleId: workspaceInvites.roleId,
  contactsScope: workspaceInvites.contactsScope,
  invitedBy: workspaceInvites.invitedBy,
  createdAt: workspaceInvites.createdAt,
  expiresAt: workspaceInvites.expiresAt,
  acceptedAt: workspaceInvites.acceptedAt,
  acceptedBy: workspaceInvites.acceptedBy,
  revokedAt: workspaceInvites.revokedAt,
}

/** The workspace's invitations that can still be accepted, newest first. */
export async function listOpenInvites(db: Db, workspaceId: string): Promise<InviteRow[]> {
  return db
    .select(columns)
    .from(workspaceInvites)
    .where(and(eq(workspaceInvites.workspaceId, workspaceId), open, gt(workspaceInvites.expiresAt, sql`now()`)))
    .orderBy(desc(workspaceInvites.createdAt), desc(workspaceInvites.id))
}

/**
 * An invitation into the request's workspace, replacing the open one for the same address
 * (app.create_invite, sql/140, which checks members:manage and the role in the database).
 */
export async function createInvite(db: Db, values: { email: string; role: string; tokenHash: Buffer; expiresAt: Date }): Promise<InviteRow> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select * from app.create_invite(${values.email}, ${values.role}, ${values.tokenHash}, ${values.expiresAt.toISOString()}::timestamptz)`)
  const { tokenHash: _hash, ...row } = fromDriverRow(workspaceInvites, rows[0]!)
  return row
}

/** Revokes one open invitation of the request's workspace; false when there is none with that id. */
export async function revokeInvite(db: Db, id: string): Promise<boolean> {
  const { rows } = await db.execute<{ revoked: boolean }>(sql`select app.revoke_invite(${id}) as revoked`)
  return rows[0]!.revoked
}

/** Spends an invitation for the signed-in user (app.accept_invite, sql/140). */
export async function acceptInvite(db: Db, tokenHash: Buffer): Promise<{ outcome: string; workspaceId: string | null }> {
  const { rows } = await db.execute<{ outcome: string; workspace_id: string | null }>(
    sql`select outcome, workspace_id from app.accept_invite(${tokenHash})`,
  )
  return { outcome: rows[0]!.outcome, workspaceId: rows[0]!.workspace_id }
}

/** A custom role's name in the request's workspace (for an invitation's email). */
export async function roleName(db: Db, id: string): Promise<string | undefined> {
  const [row] = await db.select({ name: workspaceRoles.name }).from(workspaceRoles).where(eq(workspaceRoles.id, id))
  return row?.name
}

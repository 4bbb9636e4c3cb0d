import { sql } from 'drizzle-orm'
import type { Db } from '../../db/request-tx.js'
import type { ContactScope } from '../../db/schema/index.js'

export type MemberRow = {
  userId: string
  email: string
  name: string
  role: string
  departmentId: string | null
  contactsScope: ContactScope
  mfaEnabled: boolean
  joinedAt: string
}

/** The request workspace's members (app.workspace_members, sql/130), or one of them. */
export async function listMembers(db: Db, userId?: string): Promise<MemberRow[]> {
  const { rows } = await db.execute<MemberRow>(sql`
    select user_id as "userId", email, name, role, department_id as "departmentId", contacts_scope as "contactsScope", mfa_enabled as "mfaEnabled", joined_at as "joinedAt"
      from app.workspace_members()
     ${userId ? sql`where user_id = ${userId}` : sql``}`)
  return rows
}

/** app.change_member_role (sql/130): checks every rule in the database and refuses with its code. */
export async function changeRole(db: Db, userId: string, role: string): Promise<void> {
  await db.execute(sql`select app.change_member_role(${userId}, ${role})`)
}

/** app.place_member (sql/130): a member's department and contacts scope, each only when given. */
export async function placeMember(db: Db, userId: string, change: { departmentId?: string | null; contactsScope?: ContactScope }): Promise<void> {
  await db.execute(sql`select app.place_member(${userId}, ${change.departmentId !== undefined}, ${change.departmentId ?? null},
    ${change.contactsScope !== undefined}, ${change.contactsScope ?? null})`)
}

/** app.remove_member (sql/130): removes a member, or lets the caller leave. */
export async function removeMember(db: Db, userId: string): Promise<void> {
  await db.execute(sql`select app.remove_member(${userId})`)
}

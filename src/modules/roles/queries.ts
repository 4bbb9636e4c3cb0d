import { asc, sql } from 'drizzle-orm'
import type { Db } from '../../db/request-tx.js'
import { workspaceRoles } from '../../db/schema/index.js'
import { fromDriverRow } from '../../db/rows.js'

export type RoleRow = typeof workspaceRoles.$inferSelect

/** The request workspace's custom roles (RLS keeps them to it), by name. */
export async function listRoles(db: Db): Promise<RoleRow[]> {
  return db.select().from(workspaceRoles).orderBy(asc(sql`lower(${workspaceRoles.name})`), asc(workspaceRoles.id))
}

/** app.create_role (sql/125): checks roles:manage, the catalogue and the caller's permissions. */
export async function createRole(db: Db, name: string, permissions: string[]): Promise<RoleRow> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`select * from app.create_role(${name}, ${sql.param(permissions)}::text[])`)
  return fromDriverRow(workspaceRoles, rows[0]!)
}

/** app.update_role (sql/125): undefined when `id` is no custom role of the workspace. */
export async function updateRole(db: Db, id: string, name: string | null, permissions: string[] | null): Promise<RoleRow | undefined> {
  const { rows } = await db.execute<Record<string, unknown>>(
    sql`select * from app.update_role(${id}, ${name}, ${sql.param(permissions)}::text[])`,
  )
  return rows[0] ? fromDriverRow(workspaceRoles, rows[0]) : undefined
}

/** app.delete_role (sql/125): false when `id` is no custom role of the workspace. */
export async function deleteRole(db: Db, id: string): Promise<boolean> {
  const { rows } = await db.execute<{ deleted: boolean }>(sql`select app.delete_role(${id}) as deleted`)
  return rows[0]!.deleted
}

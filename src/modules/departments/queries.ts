import { asc, sql } from 'drizzle-orm'
import type { Db } from '../../db/request-tx.js'
import { departments } from '../../db/schema/index.js'
import { fromDriverRow } from '../../db/rows.js'

export type DepartmentRow = typeof departments.$inferSelect

/** The request workspace's departments (RLS keeps them to it). */
export async function listDepartments(db: Db): Promise<DepartmentRow[]> {
  return db.select().from(departments).orderBy(asc(departments.createdAt), asc(departments.id))
}

/** app.create_department (sql/127): checks departments:manage; the keys and the trigger check the tree. */
export async function createDepartment(db: Db, name: string, parentId: string | null): Promise<DepartmentRow> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`select * from app.create_department(${name}, ${parentId})`)
  return fromDriverRow(departments, rows[0]!)
}

/** app.update_department (sql/127): undefined when `id` is no department of the workspace. */
export async function updateDepartment(db: Db, id: string, name: string | null, parent: { to: string | null } | null): Promise<DepartmentRow | undefined> {
  const { rows } = await db.execute<Record<string, unknown>>(
    sql`select * from app.update_department(${id}, ${name}, ${parent !== null}, ${parent?.to ?? null})`,
  )
  return rows[0] ? fromDriverRow(departments, rows[0]) : undefined
}

/** app.delete_department (sql/127): false when `id` is no department of the workspace. */
export async function deleteDepartment(db: Db, id: string): Promise<boolean> {
  const { rows } = await db.execute<{ deleted: boolean }>(sql`select app.delete_department(${id}) as deleted`)
  return rows[0]!.deleted
}

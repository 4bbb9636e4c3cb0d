import { sql } from 'drizzle-orm'
import type { Db } from '../../db/request-tx.js'

/** Creates a pending workspace owned by the current user (app.create_workspace, sql/120). */
export async function createWorkspace(db: Db, name: string): Promise<string> {
  const { rows } = await db.execute<{ id: string }>(sql`select app.create_workspace(${name}) as id`)
  return rows[0]!.id
}


/** app.delete_workspace (sql/200): checks workspace:delete and the typed name; destroys the data key. */
export async function deleteWorkspace(db: Db, confirmName: string): Promise<void> {
  await db.execute(sql`select app.delete_workspace(${confirmName})`)
}

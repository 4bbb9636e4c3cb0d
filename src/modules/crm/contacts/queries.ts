// Contacts queries. Each takes the request transaction and filters by workspace_id explicitly
// (index use, and what a distributed deployment shards on); row-level security enforces the
// same tenant boundary underneath, whatever these WHERE clauses say.
import { and, desc, eq, ilike, isNotNull, isNull, lt, or, sql, type SQL } from 'drizzle-orm'
import { contacts } from '../../../db/schema/index.js'
import type { Db } from '../../../db/request-tx.js'

export type ContactRow = typeof contacts.$inferSelect

/** Escapes LIKE wildcards so a search for "50%" or "a_b" matches literally. */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

export async function listContacts(
  db: Db,
  workspaceId: string,
  opts: { limit: number; q?: string; after?: { createdAt: Date; id: string } },
): Promise<ContactRow[]> {
  const where: (SQL | undefined)[] = [eq(contacts.workspaceId, workspaceId), isNull(contacts.deletedAt)]
  if (opts.q) {
    const pattern = likePattern(opts.q)
    where.push(or(ilike(contacts.name, pattern), ilike(contacts.email, pattern)))
  }
  if (opts.after) {
    where.push(
      or(
        lt(contacts.createdAt, opts.after.createdAt),
        and(eq(contacts.createdAt, opts.after.createdAt), lt(contacts.id, opts.after.id)),
      ),
    )
  }
  return db
    .select()
    .from(contacts)
    .where(and(...where))
    .orderBy(desc(contacts.createdAt), desc(contacts.id))
    .limit(opts.limit)
}

export async function insertContact(db: Db, values: typeof contacts.$inferInsert): Promise<ContactRow> {
  const [row] = await db.insert(contacts).values(values).returning()
  return row!
}

const visible = (workspaceId: string, id: string) =>
  and(eq(contacts.workspaceId, workspaceId), eq(contacts.id, id), isNull(contacts.deletedAt))

export async function findContact(db: Db, workspaceId: string, id: string): Promise<ContactRow | undefined> {
  const [row] = await db.select().from(contacts).where(visible(workspaceId, id))
  return row
}

export async function updateContact(
  db: Db,
  workspaceId: string,
  id: string,
  values: Partial<typeof contacts.$inferInsert>,
): Promise<ContactRow | undefined> {
  const [row] = await db
    .update(contacts)
    .set({ ...values, updatedAt: sql`now()` })
    .where(visible(workspaceId, id))
    .returning()
  return row
}

/** Soft delete: the row stays (restorable, auditable) with deleted_at set. */
export async function softDeleteContact(db: Db, workspaceId: string, id: string): Promise<boolean> {
  const rows = await db
    .update(contacts)
    .set({ deletedAt: sql`now()`, updatedAt: sql`now()` })
    .where(visible(workspaceId, id))
    .returning({ id: contacts.id })
  return rows.length > 0
}

/** Restores a soft-deleted contact; `exists` tells a live contact (conflict) from none at all. */
export async function restoreContact(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<{ row?: ContactRow; exists: boolean }> {
  const [row] = await db
    .update(contacts)
    .set({ deletedAt: null, updatedAt: sql`now()` })
    .where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.id, id), isNotNull(contacts.deletedAt)))
    .returning()
  if (row) return { row, exists: true }
  return { exists: (await findContact(db, workspaceId, id)) !== undefined }
}

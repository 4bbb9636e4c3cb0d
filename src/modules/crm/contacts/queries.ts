// Contacts queries. Each takes the request transaction and filters by workspace_id explicitly
// (index use, and what a distributed deployment shards on); row-level security enforces the
// same tenant boundary underneath, whatever these WHERE clauses say.
import { and, eq, ilike, isNotNull, isNull, lt, or, sql, type SQL } from 'drizzle-orm'
import { contacts } from '../../../db/schema/index.js'
import type { Db } from '../../../db/request-tx.js'

export type ContactRow = typeof contacts.$inferSelect

/** Escapes LIKE wildcards so a search for "50%" or "a_b" matches literally. */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

// The two hot queries are built once per pooled connection and sent as named prepared
// statements: drizzle does not rebuild the SQL on every request, and PostgreSQL parses and plans
// each shape once per connection. The list has four shapes (with or without a search, with or
// without a cursor), each its own statement.
//
// The list orders exactly as contacts_workspace_created_idx is built (created_at DESC NULLS
// LAST, id DESC NULLS LAST; both columns are NOT NULL, so the nulls order changes no result).
// A plain DESC means NULLS FIRST, which that index cannot serve: PostgreSQL would read and sort
// the whole workspace on every page (test/api/contacts.test.ts checks the plan).
//
// The contacts policies (sql/150) already keep a member to their scope; the list repeats the
// scope as a condition only so the planner can pick the matching index: an agent's own contacts
// come from contacts_owner_created_idx in order, rather than from filtering the whole workspace.
export type ListScope = 'all' | 'own' | 'department'

export function listQuery(db: Db, withSearch: boolean, withCursor: boolean, scope: ListScope = 'all') {
  const where: (SQL | undefined)[] = [eq(contacts.workspaceId, sql.placeholder('workspaceId')), isNull(contacts.deletedAt)]
  if (scope === 'own') where.push(eq(contacts.ownerId, sql.placeholder('userId')))
  if (scope === 'department') {
    where.push(or(sql`${contacts.departmentId} = any(${sql.placeholder('departmentIds')}::uuid[])`, eq(contacts.ownerId, sql.placeholder('userId'))))
  }
  if (withSearch) {
    where.push(or(ilike(contacts.name, sql.placeholder('pattern')), ilike(contacts.email, sql.placeholder('pattern'))))
  }
  if (withCursor) {
    where.push(
      or(
        lt(contacts.createdAt, sql.placeholder('afterCreatedAt')),
        and(eq(contacts.createdAt, sql.placeholder('afterCreatedAt')), lt(contacts.id, sql.placeholder('afterId'))),
      ),
    )
  }
  return db
    .select()
    .from(contacts)
    .where(and(...where))
    .orderBy(sql`${contacts.createdAt} desc nulls last`, sql`${contacts.id} desc nulls last`)
    .limit(sql.placeholder('limit'))
}

function listStatement(db: Db, withSearch: boolean, withCursor: boolean, scope: ListScope) {
  return listQuery(db, withSearch, withCursor, scope).prepare(`contacts_list_${scope}_${withSearch ? 'q' : ''}${withCursor ? 'c' : ''}`)
}

function insertStatement(db: Db) {
  const p = (name: string) => sql.placeholder(name)
  return db
    .insert(contacts)
    .values({
      workspaceId: p('workspaceId'),
      name: p('name'),
      email: p('email'),
      phone: p('phone'),
      departmentId: p('departmentId'),
      ownerId: p('ownerId'),
      createdBy: p('createdBy'),
    })
    .returning()
    .prepare('contacts_insert')
}

type Statements = {
  list: Map<string, ReturnType<typeof listStatement>>
  insert: ReturnType<typeof insertStatement>
}
const statements = new WeakMap<Db, Statements>()
function statementsFor(db: Db): Statements {
  let s = statements.get(db)
  if (!s) {
    s = { list: new Map(), insert: insertStatement(db) }
    statements.set(db, s)
  }
  return s
}

export async function listContacts(
  db: Db,
  workspaceId: string,
  opts: { limit: number; q?: string; after?: { createdAt: Date; id: string }; scope?: { of: ListScope; userId: string; departmentIds: readonly string[] } },
): Promise<ContactRow[]> {
  const lists = statementsFor(db).list
  const scope = opts.scope?.of ?? 'all'
  const key = `${scope}${opts.q ? 'q' : ''}${opts.after ? 'c' : ''}`
  let statement = lists.get(key)
  if (!statement) {
    statement = listStatement(db, !!opts.q, !!opts.after, scope)
    lists.set(key, statement)
  }
  return statement.execute({
    workspaceId,
    ...(scope !== 'all' ? { userId: opts.scope!.userId } : {}),
    ...(scope === 'department' ? { departmentIds: opts.scope!.departmentIds } : {}),
    limit: opts.limit,
    ...(opts.q ? { pattern: likePattern(opts.q) } : {}),
    ...(opts.after ? { afterCreatedAt: opts.after.createdAt.toISOString(), afterId: opts.after.id } : {}),
  })
}

export async function insertContact(
  db: Db,
  values: Required<Pick<typeof contacts.$inferInsert, 'workspaceId' | 'name' | 'email' | 'phone' | 'departmentId' | 'ownerId' | 'createdBy'>>,
): Promise<ContactRow> {
  const [row] = await statementsFor(db).insert.execute(values)
  return row!
}

const visible = (workspaceId: string, id: string) =>
  and(eq(contacts.workspaceId, workspaceId), eq(contacts.id, id), isNull(contacts.deletedAt))

export async function findContact(db: Db, workspaceId: string, id: string): Promise<ContactRow | undefined> {
  const [row] = await db.select().from(contacts).where(visible(workspaceId, id))
  return row
}

/** Whether the contact exists in the workspace, soft-deleted or not. */
export async function contactExists(db: Db, workspaceId: string, id: string): Promise<boolean> {
  const rows = await db
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.id, id)))
  return rows.length > 0
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

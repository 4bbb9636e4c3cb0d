// Auth queries. Each takes the request transaction first; user-scoped tables are under RLS by
// app.user_id, and the lookups that must happen before anyone is identified call the
// privileged functions of sql/040.
import { and, eq, isNull, sql } from 'drizzle-orm'
import { emailTokens, sessions, users } from '../../db/schema/index.js'
import type { Db } from '../../db/request-tx.js'

export async function insertUser(db: Db, user: { id: string; email: string; name: string; passwordHash: string }) {
  const [row] = await db.insert(users).values(user).returning()
  return row!
}

export async function findUser(db: Db, id: string) {
  const [row] = await db.select().from(users).where(eq(users.id, id))
  return row
}

export async function findLogin(db: Db, email: string): Promise<{ userId: string; passwordHash: string } | undefined> {
  const { rows } = await db.execute<{ user_id: string; password_hash: string }>(sql`select * from app.find_login(${email})`)
  const row = rows[0]
  return row ? { userId: row.user_id, passwordHash: row.password_hash } : undefined
}

export async function insertSession(
  db: Db,
  s: { userId: string; tokenHash: Buffer; expiresAt: Date; idleTimeoutSeconds: number; ip: string; userAgent: string | null },
) {
  const [row] = await db.insert(sessions).values(s).returning({ id: sessions.id })
  return row!.id
}

export async function revokeSession(db: Db, sessionId: string): Promise<void> {
  await db.update(sessions).set({ revokedAt: sql`now()` }).where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
}

export async function insertEmailToken(db: Db, t: { userId: string; purpose: 'verify_email' | 'reset_password'; tokenHash: Buffer; expiresAt: Date }) {
  await db.insert(emailTokens).values(t)
}

export async function consumeEmailToken(db: Db, tokenHash: Buffer, purpose: 'verify_email' | 'reset_password'): Promise<string | null> {
  const { rows } = await db.execute<{ user_id: string | null }>(
    sql`select app.consume_email_token(${tokenHash}, ${purpose}) as user_id`,
  )
  return rows[0]?.user_id ?? null
}

export async function myWorkspaces(db: Db) {
  const { rows } = await db.execute<{ workspace_id: string; name: string; role: string; status: string }>(
    sql`select * from app.my_workspaces()`,
  )
  return rows.map((r) => ({ workspaceId: r.workspace_id, name: r.name, role: r.role, status: r.status }))
}

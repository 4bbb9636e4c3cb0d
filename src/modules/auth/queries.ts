// Auth queries. Each takes the request transaction first; user-scoped tables are under RLS by
// app.user_id, and the lookups that must happen before anyone is identified call the
// privileged functions of sql/040.
import { and, desc, eq, getTableColumns, gt, isNull, ne, sql } from 'drizzle-orm'
import { emailTokens, sessions, userMfa, users } from '../../db/schema/index.js'
import type { Db } from '../../db/request-tx.js'

export async function insertUser(db: Db, user: { id: string; email: string; name: string; passwordHash: string }) {
  const [row] = await db.insert(users).values(user).returning()
  return row!
}

/** The user with mfaEnabled (their user_mfa row is visible under RLS only to themselves). */
export async function findUser(db: Db, id: string) {
  const [row] = await db
    .select({
      ...getTableColumns(users),
      mfaEnabled: sql<boolean>`exists (select 1 from ${userMfa} where ${userMfa.userId} = ${users.id} and ${userMfa.enabledAt} is not null)`,
    })
    .from(users)
    .where(eq(users.id, id))
  return row
}

export async function findLogin(db: Db, email: string): Promise<{ userId: string; passwordHash: string } | undefined> {
  const { rows } = await db.execute<{ user_id: string; password_hash: string }>(sql`select * from app.find_login(${email})`)
  const row = rows[0]
  return row ? { userId: row.user_id, passwordHash: row.password_hash } : undefined
}

export async function insertSession(
  db: Db,
  s: { userId: string; tokenHash: Buffer; expiresAt: Date; idleTimeoutSeconds: number; ip: string | null; userAgent: string | null },
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

/** Under RLS this changes only the current user's row. */
export async function updatePasswordHash(db: Db, userId: string, passwordHash: string): Promise<void> {
  await db.update(users).set({ passwordHash, updatedAt: sql`now()` }).where(eq(users.id, userId))
}

// A session is live while it is not revoked, not past its absolute expiry and not idle for longer
// than its idle timeout: the same test app.begin_request applies (sql/040).
const live = () =>
  and(
    isNull(sessions.revokedAt),
    gt(sessions.expiresAt, sql`now()`),
    sql`${sessions.lastSeenAt} + make_interval(secs => ${sessions.idleTimeoutSeconds}) > now()`,
  )

/** The current user's live sessions (RLS: only their own are visible), most recently used first. */
export async function listLiveSessions(db: Db) {
  return db
    .select({
      id: sessions.id,
      createdAt: sessions.createdAt,
      lastSeenAt: sessions.lastSeenAt,
      ip: sessions.ip,
      userAgent: sessions.userAgent,
    })
    .from(sessions)
    .where(live())
    .orderBy(desc(sessions.lastSeenAt), desc(sessions.createdAt))
}

/** Revokes one live session of the current user; false when there is none with that id. */
export async function revokeOwnSession(db: Db, sessionId: string): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(sessions.id, sessionId), live()))
    .returning({ id: sessions.id })
  return rows.length > 0
}

/** Revokes every unrevoked session of `userId` except `keepSessionId`; returns how many. */
export async function revokeUserSessions(db: Db, userId: string, keepSessionId?: string): Promise<number> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), keepSessionId ? ne(sessions.id, keepSessionId) : undefined))
    .returning({ id: sessions.id })
  return rows.length
}

// Auth queries. Each takes the request transaction first. Everything that authenticates someone
// or touches a credential is a privileged function of sql/100 (accounts) or sql/110 (sessions),
// which verifies it in the database and seals the request's context; what the runtime does
// itself (its own sessions, its own verification tokens) runs under RLS.
import { and, desc, eq, gt, isNull, ne, sql, type SQL } from 'drizzle-orm'
import { emailTokens, sessions } from '../../db/schema/index.js'
import type { Db } from '../../db/request-tx.js'

export type Profile = {
  id: string
  email: string
  name: string
  emailVerified: boolean
  mfaEnabled: boolean
  isPlatformAdmin: boolean
}

/** The verified user of the transaction (app.current_user_profile), if any. */
export async function currentProfile(db: Db): Promise<Profile | undefined> {
  const { rows } = await db.execute<Profile>(sql`
    select id, email, name, email_verified as "emailVerified", mfa_enabled as "mfaEnabled", is_platform_admin as "isPlatformAdmin"
      from app.current_user_profile()`)
  return rows[0]
}

/** Session lifetimes, as the service configures them. */
export interface Lifetimes {
  absoluteSeconds: number
  idleSeconds: number
}

/** Where a function that rotates the request's session (app.rotate_session) puts the new one. */
export type Rotation = { sessionTokenHash: Buffer } & Lifetimes

/** A rotation as the last three arguments of those functions. */
export const rotationArgs = (r: Rotation) => sql`${r.sessionTokenHash}, ${r.absoluteSeconds}::integer, ${r.idleSeconds}::integer`

export async function register(
  db: Db,
  r: { email: string; name: string; passwordHash: string; sessionTokenHash: Buffer } & Lifetimes,
): Promise<{ userId: string; sessionId: string }> {
  const { rows } = await db.execute<{ user_id: string; session_id: string }>(sql`
    select user_id, session_id from app.register(${r.email}, ${r.name}, ${r.passwordHash}, ${r.sessionTokenHash},
      ${r.absoluteSeconds}::integer, ${r.idleSeconds}::integer)`)
  return { userId: rows[0]!.user_id, sessionId: rows[0]!.session_id }
}

/** The salt and parameters to prove a password for `email` with (decoys for unknown addresses). */
export async function loginSettings(db: Db, email: string, decoy: string): Promise<string> {
  const { rows } = await db.execute<{ settings: string }>(sql`select app.login_settings(${email}, ${decoy}) as settings`)
  return rows[0]!.settings
}

export async function signIn(
  db: Db,
  s: {
    email: string
    proof: Buffer
    rehash: string | null
    sessionTokenHash: Buffer
    challengeTokenHash: Buffer
    challengeSeconds: number
  } & Lifetimes,
): Promise<{ userId: string; sessionId: string | null; mfaRequired: boolean }> {
  const { rows } = await db.execute<{ user_id: string; session_id: string | null; mfa_required: boolean }>(sql`
    select user_id, session_id, mfa_required from app.sign_in(${s.email}, ${s.proof}, ${s.rehash}::text,
      ${s.sessionTokenHash}, ${s.challengeTokenHash}, ${s.absoluteSeconds}::integer, ${s.idleSeconds}::integer,
      ${s.challengeSeconds}::integer)`)
  const row = rows[0]!
  return { userId: row.user_id, sessionId: row.session_id, mfaRequired: row.mfa_required }
}

/** The signed-in user's password settings, to prove the current password again. */
export async function myPasswordSettings(db: Db): Promise<string | null> {
  const { rows } = await db.execute<{ settings: string | null }>(sql`select app.my_password_settings() as settings`)
  return rows[0]?.settings ?? null
}

export async function changePassword(db: Db, c: { currentProof: Buffer; newHash: string }, r: Rotation): Promise<string> {
  const { rows } = await db.execute<{ id: string }>(sql`select app.change_password(${c.currentProof}, ${c.newHash}, ${rotationArgs(r)}) as id`)
  return rows[0]!.id
}

export async function verifyEmail(db: Db, tokenHash: Buffer): Promise<void> {
  await db.execute(sql`select app.verify_email(${tokenHash})`)
}

export async function resetPassword(db: Db, tokenHash: Buffer, newHash: string): Promise<string> {
  const { rows } = await db.execute<{ user_id: string }>(sql`select app.reset_password(${tokenHash}, ${newHash}) as user_id`)
  return rows[0]!.user_id
}

export async function revokeSession(db: Db, sessionId: string): Promise<void> {
  await db.update(sessions).set({ revokedAt: sql`now()` }).where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
}

export async function insertEmailToken(db: Db, t: { userId: string; purpose: 'verify_email'; tokenHash: Buffer; expiresAt: Date }) {
  await db.insert(emailTokens).values(t)
}

export async function myWorkspaces(db: Db) {
  const { rows } = await db.execute<{ workspace_id: string; name: string; role: string; status: string }>(
    sql`select * from app.my_workspaces()`,
  )
  return rows.map((r) => ({ workspaceId: r.workspace_id, name: r.name, role: r.role, status: r.status }))
}

// A session is live while it is not revoked, not past its absolute expiry and not idle for longer
// than its idle timeout: the same test app.begin_request applies (sql/110).
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

/** Revokes the live sessions of the signed-in user (RLS: their own only) that `which` selects; answers how many. */
async function revokeLive(db: Db, which: SQL): Promise<number> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()` })
    .where(and(which, live()))
    .returning({ id: sessions.id })
  return rows.length
}

/** Revokes every live session of the signed-in user but `keepId`; answers how many. */
export async function revokeOtherSessions(db: Db, keepId: string): Promise<number> {
  return revokeLive(db, ne(sessions.id, keepId))
}

/** Revokes one live session of the signed-in user; false when there is none with that id. */
export async function revokeOwnSession(db: Db, sessionId: string): Promise<boolean> {
  return (await revokeLive(db, eq(sessions.id, sessionId))) > 0
}

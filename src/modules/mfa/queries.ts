// TOTP MFA queries (sql/180). The runtime reads the signed-in user's own MFA row and which of
// their backup codes are used; every change, and everything about a challenge, is a privileged
// function that checks it in the database.
import { and, count, eq, isNull, sql } from 'drizzle-orm'
import { mfaBackupCodes, userMfa } from '../../db/schema/index.js'
import type { Db } from '../../db/request-tx.js'
import { rotationArgs, type Lifetimes, type Rotation } from '../auth/queries.js'

/** The signed-in user's MFA row (RLS: their own only). */
export async function findMfa(db: Db, userId: string) {
  const [row] = await db
    .select({ userId: userMfa.userId, secretEncrypted: userMfa.secretEncrypted, enabledAt: userMfa.enabledAt })
    .from(userMfa)
    .where(eq(userMfa.userId, userId))
  return row
}

export async function backupCodesRemaining(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(mfaBackupCodes)
    .where(and(eq(mfaBackupCodes.userId, userId), isNull(mfaBackupCodes.usedAt)))
  return row?.n ?? 0
}

/** The user and sealed secret behind a live challenge, without consuming it. */
export async function findChallenge(db: Db, tokenHash: Buffer): Promise<{ userId: string; secretEncrypted: string | null } | undefined> {
  const { rows } = await db.execute<{ user_id: string; secret_encrypted: string | null }>(
    sql`select user_id, secret_encrypted from app.mfa_challenge(${tokenHash})`,
  )
  return rows[0] && { userId: rows[0].user_id, secretEncrypted: rows[0].secret_encrypted }
}

export async function completeSignIn(
  db: Db,
  c: { challengeHash: Buffer; step: number | null; backupCodeHashes: Buffer[] | null; sessionTokenHash: Buffer } & Lifetimes,
): Promise<void> {
  await db.execute(sql`select * from app.complete_mfa_sign_in(${c.challengeHash}, ${c.step}::bigint, ${c.backupCodeHashes ? sql.param(c.backupCodeHashes) : null}::bytea[],
    ${c.sessionTokenHash}, ${c.absoluteSeconds}::integer, ${c.idleSeconds}::integer)`)
}

export async function setup(db: Db, passwordProof: Buffer, secretEncrypted: string): Promise<void> {
  await db.execute(sql`select app.mfa_setup(${passwordProof}, ${secretEncrypted})`)
}

export async function enable(db: Db, step: number, backupCodeHashes: Buffer[], r: Rotation): Promise<void> {
  await db.execute(sql`select app.mfa_enable(${step}::bigint, ${sql.param(backupCodeHashes)}::bytea[], ${rotationArgs(r)})`)
}

export async function disable(
  db: Db, passwordProof: Buffer, factor: { step: number | null; backupCodeHashes: Buffer[] | null }, r: Rotation,
): Promise<void> {
  await db.execute(sql`select app.mfa_disable(${passwordProof}, ${factor.step}::bigint, ${factor.backupCodeHashes ? sql.param(factor.backupCodeHashes) : null}::bytea[], ${rotationArgs(r)})`)
}

export async function regenerateBackupCodes(db: Db, step: number | null, backupCodeHashes: Buffer[], r: Rotation): Promise<void> {
  await db.execute(sql`select app.mfa_regenerate_backup_codes(${step}::bigint, ${sql.param(backupCodeHashes)}::bytea[], ${rotationArgs(r)})`)
}

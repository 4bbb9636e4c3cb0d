// TOTP MFA queries (sql/070). user_mfa and mfa_backup_codes are under RLS by app.user_id; an MFA
// challenge is found and consumed only through the privileged functions, since its holder is not
// signed in yet.
import { and, count, eq, isNotNull, isNull, or, lt, sql } from 'drizzle-orm'
import { mfaBackupCodes, mfaChallenges, userMfa } from '../../db/schema/index.js'
import type { Db } from '../../db/request-tx.js'

export async function findMfa(db: Db, userId: string) {
  const [row] = await db.select().from(userMfa).where(eq(userMfa.userId, userId))
  return row
}

/**
 * Stores a new pending secret: inserts the row, or replaces a pending (not yet enabled) one.
 * false when MFA is already enabled (the row is left alone).
 */
export async function savePendingSecret(db: Db, userId: string, secretEncrypted: string): Promise<boolean> {
  const rows = await db
    .insert(userMfa)
    .values({ userId, secretEncrypted })
    .onConflictDoUpdate({
      target: userMfa.userId,
      set: { secretEncrypted, lastUsedStep: null, updatedAt: sql`now()` },
      setWhere: isNull(userMfa.enabledAt),
    })
    .returning({ userId: userMfa.userId })
  return rows.length > 0
}

/**
 * Accepts TOTP time step `step` for the user, at most once: the row changes only when `step` is
 * newer than the last accepted one, so a replayed (or older) code changes nothing → false.
 * `enable`: the row must be pending and becomes enabled; otherwise it must already be enabled.
 */
export async function acceptStep(db: Db, userId: string, step: number, mode: 'enable' | 'enabled'): Promise<boolean> {
  const rows = await db
    .update(userMfa)
    .set({ lastUsedStep: step, updatedAt: sql`now()`, ...(mode === 'enable' ? { enabledAt: sql`now()` } : {}) })
    .where(
      and(
        eq(userMfa.userId, userId),
        mode === 'enable' ? isNull(userMfa.enabledAt) : isNotNull(userMfa.enabledAt),
        or(isNull(userMfa.lastUsedStep), lt(userMfa.lastUsedStep, step)),
      ),
    )
    .returning({ userId: userMfa.userId })
  return rows.length > 0
}

export async function deleteMfa(db: Db, userId: string): Promise<void> {
  await db.delete(mfaBackupCodes).where(eq(mfaBackupCodes.userId, userId))
  await db.delete(userMfa).where(eq(userMfa.userId, userId))
}

/** Replaces every backup code of the user with these hashes. */
export async function replaceBackupCodes(db: Db, userId: string, hashes: Buffer[]): Promise<void> {
  await db.delete(mfaBackupCodes).where(eq(mfaBackupCodes.userId, userId))
  await db.insert(mfaBackupCodes).values(hashes.map((codeHash) => ({ userId, codeHash })))
}

/** Uses one unused backup code, atomically (of two concurrent uses one wins); false if none. */
export async function useBackupCode(db: Db, userId: string, codeHash: Buffer): Promise<boolean> {
  const rows = await db
    .update(mfaBackupCodes)
    .set({ usedAt: sql`now()` })
    .where(and(eq(mfaBackupCodes.userId, userId), eq(mfaBackupCodes.codeHash, codeHash), isNull(mfaBackupCodes.usedAt)))
    .returning({ id: mfaBackupCodes.id })
  return rows.length > 0
}

export async function backupCodesRemaining(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(mfaBackupCodes)
    .where(and(eq(mfaBackupCodes.userId, userId), isNull(mfaBackupCodes.usedAt)))
  return row?.n ?? 0
}

export async function insertChallenge(db: Db, c: { userId: string; tokenHash: Buffer; expiresAt: Date }): Promise<void> {
  await db.insert(mfaChallenges).values(c)
}

export async function consumeChallenge(db: Db, tokenHash: Buffer): Promise<string | null> {
  const { rows } = await db.execute<{ user_id: string | null }>(sql`select app.consume_mfa_challenge(${tokenHash}) as user_id`)
  return rows[0]?.user_id ?? null
}

import { asc, eq, sql } from 'drizzle-orm'
import type { Db } from '../../db/request-tx.js'
import { dataKeyLock } from '../../crypto/data-keys.js'
import { channelCredentials, workspaceKeys, type ChannelType } from '../../db/schema/index.js'

export type ChannelRow = typeof channelCredentials.$inferSelect
export type WorkspaceKeyRow = typeof workspaceKeys.$inferSelect

/** The request workspace's channel credentials (RLS: its own, and only for channels:manage). */
export async function listChannels(db: Db): Promise<ChannelRow[]> {
  return db.select().from(channelCredentials).orderBy(asc(channelCredentials.type))
}

/** The request workspace's wrapped data key, if it has one yet. */
export async function workspaceKey(db: Db): Promise<WorkspaceKeyRow | undefined> {
  const [row] = await db.select().from(workspaceKeys)
  return row
}

/** The workspace's data-key lock (src/crypto/data-keys.ts), shared, until the transaction ends. */
export async function lockWorkspaceKey(db: Db, workspaceId: string): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock_shared(${dataKeyLock(workspaceId)}::bigint)`)
}

/** Stores the workspace's first data key, unless a concurrent request stored one first. */
export async function addWorkspaceKey(db: Db, workspaceId: string, kid: string, wrapped: string): Promise<void> {
  // Only these columns (the runtime may insert no others: generation and times are the database's).
  await db.execute(sql`insert into workspace_keys (workspace_id, kid, data_key_encrypted) values (${workspaceId}, ${kid}, ${wrapped}) on conflict do nothing`)
}

export async function putChannel(
  db: Db, workspaceId: string, type: ChannelType, secretsEncrypted: Record<string, string>, masked: Record<string, string>,
): Promise<ChannelRow> {
  const [row] = await db
    .insert(channelCredentials)
    .values({ workspaceId, type, secretsEncrypted, masked })
    .onConflictDoUpdate({
      target: [channelCredentials.workspaceId, channelCredentials.type],
      set: { secretsEncrypted, masked, updatedAt: sql`now()` },
    })
    .returning()
  return row!
}

/** false when the workspace had no credentials for `type`. */
export async function deleteChannel(db: Db, type: ChannelType): Promise<boolean> {
  const rows = await db.delete(channelCredentials).where(eq(channelCredentials.type, type)).returning({ type: channelCredentials.type })
  return rows.length > 0
}

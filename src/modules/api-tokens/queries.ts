import { desc, getTableColumns, sql } from 'drizzle-orm'
import type { Db } from '../../db/request-tx.js'
import { apiTokens } from '../../db/schema/index.js'
import { fromDriverRow } from '../../db/rows.js'

/** A token as the runtime may read it: every column but the hash (sql/210 grants no more). */
export type ApiTokenRow = Omit<typeof apiTokens.$inferSelect, 'tokenHash'>

const { tokenHash: _hash, ...readable } = getTableColumns(apiTokens)

/** The request workspace's tokens, newest first (RLS: this workspace's, and only with api_tokens:manage). */
export async function listApiTokens(db: Db): Promise<ApiTokenRow[]> {
  return db.select(readable).from(apiTokens).orderBy(desc(apiTokens.createdAt), desc(apiTokens.id))
}

/**
 * app.create_api_token (sql/210): checks api_tokens:manage, the catalogue, the creator's
 * permissions and the expiry. The hash goes as a bind parameter, never in the query text.
 */
export async function createApiToken(
  db: Db,
  v: { name: string; scopes: string[]; tokenHash: Buffer; hint: string; expiresAt: Date | null },
): Promise<ApiTokenRow> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select * from app.create_api_token(${v.name}, ${sql.param(v.scopes)}::text[], ${v.tokenHash}, ${v.hint},
                                       ${v.expiresAt?.toISOString() ?? null}::timestamptz)`)
  const { tokenHash: _, ...row } = fromDriverRow(apiTokens, rows[0]!)
  return row
}

/** app.revoke_api_token (sql/210): false when `id` is no token of the workspace. */
export async function revokeApiToken(db: Db, id: string): Promise<boolean> {
  const { rows } = await db.execute<{ revoked: boolean }>(sql`select app.revoke_api_token(${id}) as revoked`)
  return rows[0]!.revoked
}

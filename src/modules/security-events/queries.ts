// Security events (sql/060): the runtime reads them only through the two definer functions,
// which check who may (a platform administrator; an owner, for their workspace's).
import { sql } from 'drizzle-orm'
import { securityEvents } from '../../db/schema/index.js'
import type { Db } from '../../db/request-tx.js'
import { fromDriverRow } from '../../db/rows.js'

export type SecurityEventRow = typeof securityEvents.$inferSelect & { cursorAt: string }

type Scope = 'admin' | 'workspace'

/**
 * One page, newest first, `limit` rows at most (101 at most); `cursorAt` is created_at with the
 * microseconds a JavaScript Date would drop, for an exact keyset cursor.
 */
export async function listSecurityEvents(db: Db, scope: Scope, before: { at: string; id: string } | undefined, limit: number): Promise<SecurityEventRow[]> {
  const fn = scope === 'admin' ? sql`app.admin_security_events` : sql`app.workspace_security_events`
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select e.*, to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at
      from ${fn}(${before?.at ?? null}::timestamptz, ${before?.id ?? null}::uuid, ${limit}::integer) e
     order by e.created_at desc, e.id desc`)
  return rows.map((raw) => ({ ...fromDriverRow(securityEvents, raw), cursorAt: String(raw.cursor_at) }))
}

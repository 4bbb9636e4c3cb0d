import { sql, type InferSelectModel } from 'drizzle-orm'
import { auditLog, workspaces } from '../../db/schema/index.js'
import type { Db } from '../../db/request-tx.js'
import { fromDriverRow } from '../../db/rows.js'
import type { AuditRow } from '../audit/queries.js'
import type { AdminAction } from './service.js'

/** A workspace as the admin functions return it: the table's columns plus its owner's email. */
export type AdminWorkspaceRow = InferSelectModel<typeof workspaces> & {
  ownerEmail: string
  outcome?: 'ok' | 'not_found' | 'conflict'
}

// Rows from the set-returning functions arrive as the driver sent them; fromDriverRow maps the
// table's columns (timestamps included) as a query-builder select would.
function parse(raw: Record<string, unknown>): AdminWorkspaceRow {
  return {
    ...fromDriverRow(workspaces, raw),
    ownerEmail: String(raw.owner_email),
    ...(raw.outcome ? { outcome: raw.outcome as AdminWorkspaceRow['outcome'] } : {}),
  }
}

export async function listWorkspaces(db: Db, status: string | undefined): Promise<AdminWorkspaceRow[]> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`select * from app.admin_list_workspaces(${status ?? null})`)
  return rows.map(parse)
}

/** The approval state machine (app.admin_transition_workspace, sql/120), as a platform admin. */
export async function transitionWorkspace(
  db: Db,
  t: { action: AdminAction; id: string; reason: string | null; trialEndsAt: Date | null },
): Promise<AdminWorkspaceRow> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select * from app.admin_transition_workspace(${t.action}::text, ${t.id}::uuid, ${t.reason}::text,
      ${t.trialEndsAt?.toISOString() ?? null}::timestamptz)`)
  return parse(rows[0]!)
}

export type AdminAuditRow = AuditRow & { cursorAt: string }

/**
 * One page of what platform admins see (app.admin_audit_log, which crosses tenants), newest
 * first, `limit` rows at most (101 at most). Mapped as the workspace log's rows are;
 * `cursorAt` is created_at with the microseconds a JavaScript Date would drop, for an exact
 * keyset cursor.
 */
export async function listAuditLog(db: Db, before: { at: string; id: string } | undefined, limit: number): Promise<AdminAuditRow[]> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select a.*, to_char(a.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at
      from app.admin_audit_log(${before?.at ?? null}::timestamptz, ${before?.id ?? null}::uuid, ${limit}::integer) a
     order by a.created_at desc, a.id desc`)
  return rows.map((raw) => ({ ...fromDriverRow(auditLog, raw), cursorAt: String(raw.cursor_at) }))
}

/** app.admin_reset_mfa (sql/180): the user's address and name, for the notification. */
export async function resetMfa(db: Db, userId: string, reason: string): Promise<{ email: string; name: string; sessionsRevoked: number }> {
  const { rows } = await db.execute<{ email: string; name: string; sessions_revoked: number }>(
    sql`select * from app.admin_reset_mfa(${userId}::uuid, ${reason})`,
  )
  const row = rows[0]!
  return { email: row.email, name: row.name, sessionsRevoked: row.sessions_revoked }
}

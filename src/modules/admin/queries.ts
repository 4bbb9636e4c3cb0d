import { sql } from 'drizzle-orm'
import type { Db } from '../../db/request-tx.js'

export type AdminWorkspaceRow = {
  outcome?: 'ok' | 'not_found' | 'conflict'
  id: string
  name: string
  status: string
  status_reason: string | null
  owner_id: string
  owner_email: string
  trial_ends_at: Date | null
  billing_status: string
  approved_at: Date | null
  created_at: Date
}

// Raw results through drizzle keep timestamps as PostgreSQL's text (drizzle parses dates only
// for its own column mappings), so they are converted here.
const date = (v: Date | string | null): Date | null => (v === null ? null : new Date(v))
function parse(row: AdminWorkspaceRow): AdminWorkspaceRow {
  return { ...row, trial_ends_at: date(row.trial_ends_at), approved_at: date(row.approved_at), created_at: date(row.created_at)! }
}

export async function listWorkspaces(db: Db, status: string | undefined): Promise<AdminWorkspaceRow[]> {
  const { rows } = await db.execute<AdminWorkspaceRow>(sql`select * from app.admin_list_workspaces(${status ?? null})`)
  return rows.map(parse)
}

export async function transitionWorkspace(
  db: Db,
  t: { id: string; from: string[]; to: string | null; reason: string | null; setReason: boolean; trialEndsAt: Date | null },
): Promise<AdminWorkspaceRow> {
  const { rows } = await db.execute<AdminWorkspaceRow>(sql`
    select * from app.admin_transition_workspace(
      ${t.id}::uuid, ${`{${t.from.join(',')}}`}::text[], ${t.to}::text, ${t.reason}::text,
      ${t.trialEndsAt?.toISOString() ?? null}::timestamptz, ${t.setReason})`)
  return parse(rows[0]!)
}

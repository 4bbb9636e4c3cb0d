import { eq, sql } from 'drizzle-orm'
import type { Db } from '../../db/request-tx.js'
import { workspaces } from '../../db/schema/index.js'

/** What app.apply_billing_event (sql/220) did with an event. */
export type BillingOutcome = 'applied' | 'unchanged' | 'replayed' | 'ignored' | 'unknown_workspace'

export interface BillingEventInput {
  id: string
  type: string
  /** data.object.metadata.workspaceId when it is a UUID; null otherwise (no such workspace). */
  workspaceId: string | null
  /** data.object.status as the provider sent it (the database maps it). */
  status: string | null
  /** data.object.current_period_end. */
  periodEnd: Date | null
}

/**
 * app.apply_billing_event (sql/220): checks the billing key, records the event id (a replay
 * changes nothing) and sets the workspace's billing state, audited in its chain.
 */
export async function applyBillingEvent(db: Db, key: Buffer, e: BillingEventInput): Promise<BillingOutcome> {
  const { rows } = await db.execute<{ outcome: BillingOutcome }>(
    sql`select app.apply_billing_event(${key}::bytea, ${e.id}::text, ${e.type}::text, ${e.workspaceId}::uuid, ${e.status}::text,
                                       ${e.periodEnd?.toISOString() ?? null}::timestamptz) as outcome`,
  )
  return rows[0]!.outcome
}

/** The request workspace's billing state (RLS: the runtime reads its own workspace's row only). */
export async function billingOf(db: Db, workspaceId: string) {
  const [row] = await db
    .select({
      status: workspaces.billingStatus,
      trialEndsAt: workspaces.trialEndsAt,
      periodEndsAt: workspaces.billingPeriodEndsAt,
      graceEndsAt: workspaces.billingGraceEndsAt,
    })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId))
  return row
}

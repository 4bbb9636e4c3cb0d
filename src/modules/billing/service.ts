// Billing (API.md "Billing"): the provider's signed subscription events, and a workspace's
// billing state for its owners. The webhook's signature is checked before anything else
// (routes.ts); what an event does to a workspace is decided by the database
// (app.apply_billing_event, sql/220), which the runtime login cannot call without the billing key.
import type { Ctx, WorkspaceCtx } from '../../context.js'
import { isUuid } from '../../schemas/common.js'
import type { BillingT, WebhookEventT } from './schemas.js'
import * as q from './queries.js'

// PostgreSQL's timestamptz reaches year 294276; a provider's period end is a few years ahead.
const MAX_PERIOD_END_SECONDS = 253402300799 // 9999-12-31T23:59:59Z

/** The fields of a subscription event that matter here, read defensively from the signed JSON. */
export function eventInput(event: WebhookEventT): q.BillingEventInput {
  const object = event.data?.object
  const sub = typeof object === 'object' && object !== null ? (object as Record<string, unknown>) : {}
  const metadata = typeof sub.metadata === 'object' && sub.metadata !== null ? (sub.metadata as Record<string, unknown>) : {}
  const workspaceId = typeof metadata.workspaceId === 'string' && isUuid(metadata.workspaceId) ? metadata.workspaceId.toLowerCase() : null
  const status = typeof sub.status === 'string' && sub.status.length <= 64 ? sub.status : null
  const end = sub.current_period_end
  const periodEnd = typeof end === 'number' && Number.isInteger(end) && end > 0 && end <= MAX_PERIOD_END_SECONDS ? new Date(end * 1000) : null
  return { id: event.id, type: event.type, workspaceId, status, periodEnd }
}

/** Applies a verified event (sql/220) and says what it did. */
export async function receiveEvent(ctx: Ctx, key: Buffer, event: WebhookEventT): Promise<q.BillingOutcome> {
  const input = eventInput(event)
  const outcome = await q.applyBillingEvent(ctx.db, key, input)
  const log = { eventId: input.id, type: input.type, workspaceId: input.workspaceId, status: input.status, outcome }
  if (outcome === 'unknown_workspace') ctx.log.warn(log, 'billing event for no known workspace: acknowledged, no effect')
  else ctx.log.info(log, 'billing event')
  return outcome
}

export async function workspaceBilling(ctx: WorkspaceCtx): Promise<BillingT> {
  const row = await q.billingOf(ctx.db, ctx.workspace.id)
  // The gate chain resolved this workspace in this transaction: its row is there.
  return {
    status: row!.status,
    trialEndsAt: row!.trialEndsAt?.toISOString() ?? null,
    currentPeriodEnd: row!.periodEndsAt?.toISOString() ?? null,
    graceEndsAt: row!.graceEndsAt?.toISOString() ?? null,
  }
}

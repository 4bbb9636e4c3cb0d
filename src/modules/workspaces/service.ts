// The client's view of a workspace: state, trial banner data and billing.
import type { WorkspaceT } from './schemas.js'
import type { BillingStatus, WorkspaceStatus } from '../../db/schema/index.js'
import { trialOver } from '../../plugins/gates.js'

const DAY = 24 * 3600 * 1000

export interface WorkspaceState {
  id: string
  name: string
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- names the known values; string admits any other the row holds
  status: WorkspaceStatus | string
  statusReason: string | null
  trialEndsAt: Date | null
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- as for status
  billingStatus: BillingStatus | string
  /** A past_due subscription keeps writes until then (sql/220). */
  billingGraceEndsAt?: Date | null
}

/**
 * `now` is the database's time, the clock its write gate uses, so banner and gate agree:
 * `expired` is true exactly when the trial has ended and the billing rule refuses writes (the
 * trial gate's 402; an active, trialing or past_due-within-grace subscription keeps them).
 */
export function toWorkspaceView(ws: WorkspaceState, now: Date): WorkspaceT {
  const endsAt = ws.trialEndsAt
  const expired = endsAt !== null && trialOver(ws, now)
  return {
    id: ws.id,
    name: ws.name,
    status: ws.status,
    statusReason: ws.statusReason,
    trial: {
      endsAt: endsAt?.toISOString() ?? null,
      daysLeft: endsAt ? Math.max(0, Math.ceil((endsAt.getTime() - now.getTime()) / DAY)) : null,
      expired,
    },
    billing: { status: ws.billingStatus },
  }
}

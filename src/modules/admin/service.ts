// The workspace approval state machine, as data. Each action names the states it may start
// from; app.admin_transition_workspace applies it as a compare-and-set under a row lock, so an
// invalid or raced transition answers 409 conflict and changes nothing.
import type { WorkspaceStatus } from '../../db/schema/index.js'

export type AdminAction = 'approve' | 'reject' | 'suspend' | 'reinstate' | 'trial'

export const TRANSITIONS: Record<AdminAction, { from: WorkspaceStatus[]; to: WorkspaceStatus | null }> = {
  approve: { from: ['pending_approval'], to: 'active' },
  reject: { from: ['pending_approval'], to: 'rejected' },
  suspend: { from: ['active'], to: 'suspended' },
  reinstate: { from: ['suspended'], to: 'active' },
  // Extending or ending a trial only makes sense once the workspace was approved.
  trial: { from: ['active', 'suspended'], to: null },
}

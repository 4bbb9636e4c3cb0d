// The workspace approval actions. The state machine itself — which states each action starts
// from and leads to — is the database's (app.admin_transition_workspace, sql/120), applied as a
// compare-and-set under a row lock, so an invalid or raced transition answers 409 conflict and
// changes nothing, and only a platform administrator may run it.
export const ADMIN_ACTIONS = ['approve', 'reject', 'suspend', 'reinstate', 'trial'] as const

export type AdminAction = (typeof ADMIN_ACTIONS)[number]

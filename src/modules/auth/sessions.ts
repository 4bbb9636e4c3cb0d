// The signed-in user's sessions: listing them, revoking one or every other one (API.md
// GET/DELETE /sessions), and ending the one a sign-in request presented.
import { notFound } from '../../errors.js'
import { recordEvent } from '../../audit/events.js'
import type { Ctx, UserCtx } from '../../context.js'
import * as q from './queries.js'

export async function listSessions(ctx: UserCtx) {
  const current = ctx.principal.sessionId
  const rows = await q.listLiveSessions(ctx.db)
  return rows.map((s) => ({
    id: s.id,
    createdAt: s.createdAt.toISOString(),
    lastSeenAt: s.lastSeenAt.toISOString(),
    ip: s.ip,
    userAgent: s.userAgent,
    current: s.id === current,
  }))
}

/**
 * Revokes one of the caller's live sessions. Another user's session is invisible under RLS, so
 * it answers 404 exactly like an unknown id: the answer says nothing about other accounts.
 * Answers whether it was the session this request came with.
 */
export async function revokeSession(ctx: UserCtx, sessionId: string): Promise<boolean> {
  if (!(await q.revokeOwnSession(ctx.db, sessionId))) throw notFound('No such session')
  await recordEvent(ctx.db, { action: 'auth.session_revoked', entityType: 'session', entityId: sessionId, platform: true })
  return sessionId === ctx.principal.sessionId
}

/** Signs out every other session of the caller; this one stays. Audited with the count. */
export async function revokeOtherSessions(ctx: UserCtx): Promise<void> {
  const revoked = await q.revokeOtherSessions(ctx.db, ctx.principal.sessionId)
  await recordEvent(ctx.db, { action: 'auth.sessions_revoked', entityType: 'session', entityId: ctx.principal.sessionId, after: { revoked }, platform: true })
}

/**
 * A sign-in that presents a live session ends it first (audited as that session's user): one
 * browser holds one session, and a session planted in a victim's browser before they sign in
 * (session fixation) or left behind by the previous account on a shared computer does not live
 * on beside the new one. Runs in the sign-in's transaction, so a refused sign-in keeps it.
 */
export async function endPresentedSession(ctx: Ctx): Promise<void> {
  const { principal } = ctx
  if (!principal?.sessionId) return
  await q.revokeOwnSession(ctx.db, principal.sessionId)
  await recordEvent(ctx.db, { action: 'auth.session_revoked', entityType: 'session', entityId: principal.sessionId, after: { reason: 'signed_in_again' }, platform: true })
}

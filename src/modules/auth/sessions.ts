// The signed-in user's sessions: listing them and revoking one (API.md GET/DELETE /sessions).
import { notFound } from '../../errors.js'
import { recordEvent } from '../../audit/events.js'
import type { UserCtx } from '../../context.js'
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

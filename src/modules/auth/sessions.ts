// The signed-in user's sessions: listing them and revoking one (API.md GET/DELETE /sessions).
import type { FastifyReply, FastifyRequest } from 'fastify'
import { notFound } from '../../errors.js'
import { recordEvent } from '../../audit/events.js'
import { tx } from './service.js'
import { clearSessionCookie } from '../../plugins/auth.js'
import * as q from './queries.js'

export async function listSessions(request: FastifyRequest) {
  const current = request.principal!.sessionId
  const rows = await q.listLiveSessions(tx(request).db)
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
 */
export async function revokeSession(request: FastifyRequest, reply: FastifyReply, sessionId: string): Promise<void> {
  const db = tx(request).db
  if (!(await q.revokeOwnSession(db, sessionId))) throw notFound('No such session')
  await recordEvent(db, { action: 'auth.session_revoked', entityType: 'session', entityId: sessionId, platform: true })
  // Revoking the session this request came with is a sign-out: drop its cookie too.
  if (sessionId === request.principal!.sessionId) clearSessionCookie(request, reply)
}

// Refused attempts (sql/060_security_events.sql): a wrong password or code, a bad token, a
// forbidden or cross-tenant request, a CSRF refusal, a rate limit. Written after the request's
// own transaction has ended (which rolled back with the refusal), by app.record_security_event,
// which takes who from a live session's token hash, never from an argument; append-only like
// the audit log, but not hash-chained: a flood of refusals must not queue on a chain head.
import { sql } from 'drizzle-orm'
import { check, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'

export const securityEvents = pgTable(
  'security_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    // The API error code the request was answered with (invalid_credentials, forbidden, …).
    code: text('code').notNull(),
    method: text('method').notNull(),
    // The route pattern (/api/auth/login, /api/crm/contacts/:id), never the raw URL.
    route: text('route').notNull(),
    // The signed-in user whose session made the attempt, when it carried a live one.
    userId: uuid('user_id'),
    // The account an attempt was against (a sign-in's address, when an account holds it).
    targetUserId: uuid('target_user_id'),
    // The workspace the request named (X-Workspace-Id): its owners see the event.
    workspaceId: uuid('workspace_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    requestId: text('request_id'),
  },
  (t) => [
    index('security_events_created_idx').on(t.createdAt.desc(), t.id.desc()),
    index('security_events_workspace_idx').on(t.workspaceId, t.createdAt.desc(), t.id.desc()),
    index('security_events_ip_idx').on(t.ip, t.createdAt),
    check('security_events_code_is_short', sql`length(${t.code}) <= 40`),
  ],
)

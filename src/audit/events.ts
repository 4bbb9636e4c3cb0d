// Audit events the service records itself (sql/050 app.audit_event), in the request's
// transaction: an event exists exactly when the action it describes committed. Platform-level
// events (sign-in and account events) belong to no workspace; workspace events go to the
// context workspace's chain, never another's.
import { sql } from 'drizzle-orm'
import type { Db } from '../db/request-tx.js'

export interface AuditEvent {
  action: string
  entityType: string
  entityId: string
  before?: Record<string, unknown> | null
  after?: Record<string, unknown> | null
  /** true: a platform-level event; false: an event of the transaction's workspace. */
  platform: boolean
}

export async function recordEvent(db: Db, e: AuditEvent): Promise<void> {
  await db.execute(sql`select app.audit_event(${e.action}, ${e.entityType}, ${e.entityId},
    ${e.before ? JSON.stringify(e.before) : null}::jsonb, ${e.after ? JSON.stringify(e.after) : null}::jsonb, ${e.platform})`)
}

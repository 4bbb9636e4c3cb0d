// Audit log reads. Each takes the request transaction: under RLS app_runtime sees only the
// context workspace's rows, and the explicit workspace_id filter is there as well for the
// (workspace_id, chain_seq) indexes and as a second statement of the boundary.
import { and, asc, desc, eq, lt, type SQL } from 'drizzle-orm'
import { auditLog } from '../../db/schema/index.js'
import type { Db } from '../../db/request-tx.js'

export type AuditRow = typeof auditLog.$inferSelect

export interface AuditFilters {
  action?: string
  actorId?: string
  entityType?: string
  entityId?: string
  /** Rows strictly older than this chain position (the previous page's last). */
  beforeSeq?: number
}

/** One page of a workspace's log, newest first; `limit` rows at most. */
export async function listAuditLog(db: Db, workspaceId: string, filters: AuditFilters, limit: number): Promise<AuditRow[]> {
  const where: (SQL | undefined)[] = [eq(auditLog.workspaceId, workspaceId)]
  if (filters.action !== undefined) where.push(eq(auditLog.action, filters.action))
  if (filters.actorId !== undefined) where.push(eq(auditLog.actorUserId, filters.actorId))
  if (filters.entityType !== undefined) where.push(eq(auditLog.entityType, filters.entityType))
  if (filters.entityId !== undefined) where.push(eq(auditLog.entityId, filters.entityId))
  if (filters.beforeSeq !== undefined) where.push(lt(auditLog.chainSeq, filters.beforeSeq))
  return db
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(desc(auditLog.chainSeq))
    .limit(limit)
}

/** Every entry about one record, oldest first (the record's timeline). */
export async function listEntityHistory(db: Db, workspaceId: string, entityType: string, entityId: string): Promise<AuditRow[]> {
  return db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.workspaceId, workspaceId), eq(auditLog.entityType, entityType), eq(auditLog.entityId, entityId)))
    .orderBy(asc(auditLog.chainSeq))
}

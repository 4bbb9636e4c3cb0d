// Audit entry mapping, the filters and the keyset cursors. One mapping serves the workspace log,
// the admin log and a record's history, so the three never disagree on what an entry says.
import { decodeCursor, encodeCursor, isInstant } from '../../schemas/cursor.js'
import { isUuid } from '../../schemas/common.js'
import type { AuditFilters, AuditRow } from './queries.js'
import type { AuditEntryT, AuditLogQueryT, HistoryEntryT } from './schemas.js'

export function toAuditEntry(row: AuditRow): AuditEntryT {
  return {
    id: row.id,
    kind: row.kind as AuditEntryT['kind'],
    action: row.action,
    actorId: row.actorUserId,
    actorTokenId: row.actorTokenId,
    actingAsId: row.actingAsUserId,
    entityType: row.entityType,
    entityId: row.entityId,
    before: camelKeys(row.before),
    after: camelKeys(row.after),
    ip: row.ip,
    userAgent: row.userAgent,
    requestId: row.requestId,
    at: row.createdAt.toISOString(),
    seq: row.chainSeq,
  }
}

/** A record's timeline entry: what happened, by whom, when, and the record before and after. */
export function toHistoryEntry(row: AuditRow): HistoryEntryT {
  const { action, actorId, at, before, after } = toAuditEntry(row)
  return { action, actorId, at, before, after }
}

// Change rows hold the record as the database wrote it (to_jsonb of the row: snake_case column
// names); the API speaks camelCase everywhere, so the top-level keys are renamed, giving the
// names the resource itself uses (deletedAt, ownerId). Nested values, a jsonb column's own
// content, are left as they are. The database writes only objects or NULL here (to_jsonb of a
// row, jsonb_build_object), so anything else is not an entry's before/after.
function camelKeys(value: unknown): Record<string, unknown> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), v]),
  )
}

/** The query's filters for the database: `entity` is a type, or `type:id` for one record. */
export function toFilters(query: AuditLogQueryT): AuditFilters {
  const [entityType, entityId] = query.entity?.split(':', 2) ?? []
  return {
    action: query.action,
    // UUIDs are stored in PostgreSQL's lower-case text form; the client may send either case.
    actorId: query.actorId?.toLowerCase(),
    entityType,
    entityId: entityId?.toLowerCase(),
    beforeSeq: query.cursor ? decodeSeqCursor(query.cursor) : undefined,
  }
}

// The workspace log's cursor is the chain position of the page's last entry: positions are
// unique within a workspace's chain and only grow, so they order its rows with no ties.
export function encodeSeqCursor(row: AuditRow): string {
  return encodeCursor({ s: row.chainSeq })
}

function decodeSeqCursor(cursor: string): number {
  return decodeCursor(cursor, (k) => (typeof k.s === 'number' && Number.isSafeInteger(k.s) && k.s > 0 ? k.s : undefined))
}

// The admin log spans many chains, so its cursor is (created_at, id) of the page's last entry,
// the time with the microseconds PostgreSQL stores: rows written by one transaction share it.
export function encodeTimeCursor(row: { cursorAt: string; id: string }): string {
  return encodeCursor({ t: row.cursorAt, id: row.id })
}

export function decodeTimeCursor(cursor: string): { at: string; id: string } {
  return decodeCursor(cursor, (k) => (isInstant(k.t, 6) && isUuid(k.id) ? { at: k.t, id: k.id.toLowerCase() } : undefined))
}

/** Pages `rows` (fetched with one row beyond `limit`) into entries and the next page's cursor. */
export function page<R, E>(rows: R[], limit: number, toEntry: (row: R) => E, cursorOf: (row: R) => string): { entries: E[]; nextCursor: string | null } {
  const shown = rows.slice(0, limit)
  return { entries: shown.map(toEntry), nextCursor: rows.length > limit ? cursorOf(shown[shown.length - 1]!) : null }
}

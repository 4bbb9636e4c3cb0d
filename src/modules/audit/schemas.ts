import { Type, type Static } from 'typebox'
import { Cursor, DateTime, Limit, Nullable, Uuid, errorResponses } from '../../schemas/common.js'

// A row image or event payload: whatever the audited record held (secrets already removed by
// the database), so its properties are not fixed here. Serialised as it is, nested values too.
const Snapshot = Nullable(
  Type.Object(
    {},
    {
      additionalProperties: true,
      description: "The record's fields (camelCase) before or after the action; null when it did not exist",
    },
  ),
)

const Text = Nullable(Type.String())

export const AuditEntry = Type.Object(
  {
    id: Uuid,
    kind: Type.Union([Type.Literal('event'), Type.Literal('change')], {
      description: 'event: a sensitive action; change: the before/after of a business record',
    }),
    action: Type.String({ description: 'e.g. contact.update, workspace.approve' }),
    actorId: Nullable(Uuid),
    actorTokenId: Nullable(Uuid),
    actingAsId: Nullable(Uuid),
    entityType: Text,
    entityId: Text,
    before: Snapshot,
    after: Snapshot,
    ip: Text,
    userAgent: Text,
    requestId: Text,
    at: DateTime,
    seq: Type.Integer({ description: "Position in the workspace's hash chain" }),
  },
  { $id: 'AuditEntry' },
)
export type AuditEntryT = Static<typeof AuditEntry>

export const AdminAuditEntry = Type.Object(
  { ...AuditEntry.properties, workspaceId: Nullable(Uuid) },
  { $id: 'AdminAuditEntry', description: 'An audit entry with its workspace (null for a platform-level event)' },
)

export const HistoryEntry = Type.Pick(AuditEntry, ['action', 'actorId', 'at', 'before', 'after'])
export type HistoryEntryT = Static<typeof HistoryEntry>

const ACTION = '^[a-z_]+(\\.[a-z_]+)*$'
const ENTITY = '^[a-z_]+(:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$'

export const AuditLogQuery = Type.Object(
  {
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Limit),
    action: Type.Optional(Type.String({ maxLength: 100, pattern: ACTION, description: 'Exact action, e.g. contact.update' })),
    actorId: Type.Optional({ ...Uuid, description: 'Only what this user did' }),
    entity: Type.Optional(
      Type.String({
        maxLength: 140,
        pattern: ENTITY,
        description: 'An entity type (`contact`: every contact) or one record as `type:id` (`contact:<uuid>`)',
      }),
    ),
  },
  { additionalProperties: false },
)
export type AuditLogQueryT = Static<typeof AuditLogQuery>

export const AdminAuditLogQuery = Type.Object(
  { cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) },
  { additionalProperties: false },
)

/** A page of entries; `nextCursor` is null on the last page. */
export const AuditPage = <T extends typeof AuditEntry | typeof AdminAuditEntry>(entry: T) =>
  Type.Object({
    entries: Type.Array(entry, { description: 'Newest first' }),
    nextCursor: Nullable(Type.String()),
  })

export const schemas = {
  list: {
    tags: ['audit'],
    description: "The workspace's audit log, newest first (owners and admins)",
    querystring: AuditLogQuery,
    response: { 200: AuditPage(AuditEntry), ...errorResponses(400, 401, 403) },
  },
}

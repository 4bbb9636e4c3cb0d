import { Type } from 'typebox'
import { DateTime, IdParams, NullableDateTime, Uuid, errorResponses } from '../../schemas/common.js'
import { Workspace, WorkspaceStatus } from '../workspaces/schemas.js'
import { AdminAuditEntry, AdminAuditLogQuery, AuditPage } from '../audit/schemas.js'

export const AdminWorkspace = Type.Object(
  {
    ...Workspace.properties,
    ownerId: Uuid,
    ownerEmail: Type.String(),
    approvedAt: NullableDateTime,
    createdAt: DateTime,
  },
  { $id: 'AdminWorkspace' },
)

const Reason = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 1000, pattern: '\\S' }) }, { additionalProperties: false })
const MfaResetReason = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500, pattern: '\\S' }) }, { additionalProperties: false })
const Trial = Type.Object({ endsAt: DateTime }, { additionalProperties: false })
const Reply = Type.Object({ workspace: AdminWorkspace })
const errors = errorResponses(400, 401, 403, 404, 409)

export const schemas = {
  list: {
    tags: ['admin'],
    querystring: Type.Object({ status: Type.Optional(WorkspaceStatus) }, { additionalProperties: false }),
    response: { 200: Type.Object({ workspaces: Type.Array(AdminWorkspace) }), ...errorResponses(400, 401, 403) },
  },
  approve: { tags: ['admin'], params: IdParams, response: { 200: Reply, ...errors } },
  reject: { tags: ['admin'], params: IdParams, body: Reason, response: { 200: Reply, ...errors } },
  suspend: { tags: ['admin'], params: IdParams, body: Reason, response: { 200: Reply, ...errors } },
  reinstate: { tags: ['admin'], params: IdParams, response: { 200: Reply, ...errors } },
  trial: { tags: ['admin'], params: IdParams, body: Trial, response: { 200: Reply, ...errors } },
  mfaReset: {
    tags: ['admin'],
    description: "Removes a user's second factor and signs them out everywhere, with a reason: the recovery path for someone who lost every factor. The user is emailed; audited",
    params: IdParams,
    body: MfaResetReason,
    response: { 200: Type.Object({ userId: Uuid, sessionsRevoked: Type.Integer() }), ...errors },
  },
  auditLog: {
    tags: ['admin'],
    description: 'Platform-level audit events and every workspace transition, newest first',
    querystring: AdminAuditLogQuery,
    response: { 200: AuditPage(AdminAuditEntry), ...errorResponses(400, 401, 403) },
  },
}

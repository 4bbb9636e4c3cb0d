import { Type } from 'typebox'
import { DateTime, Email, IdParams, Uuid, errorResponses } from '../../schemas/common.js'
import { Role } from '../members/schemas.js'

export const Invite = Type.Object(
  { id: Uuid, email: Type.String(), role: Type.String(), expiresAt: DateTime, createdAt: DateTime, invitedBy: Uuid },
  { $id: 'Invite' },
)

export const CreateInviteBody = Type.Object({ email: Email, role: Role }, { additionalProperties: false })
export const AcceptInviteBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })

const writeErrors = errorResponses(400, 401, 402, 403, 404, 409, 415, 429)

export const schemas = {
  list: { tags: ['invites'], response: { 200: Type.Object({ invites: Type.Array(Invite) }), ...errorResponses(400, 401, 403) } },
  create: { tags: ['invites'], body: CreateInviteBody, response: { 201: Type.Object({ invite: Invite }), ...writeErrors } },
  revoke: { tags: ['invites'], params: IdParams, response: { 204: Type.Null(), ...writeErrors } },
  accept: { tags: ['invites'], body: AcceptInviteBody, response: { 200: Type.Object({ workspaceId: Uuid }), ...writeErrors } },
}

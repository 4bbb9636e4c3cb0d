import { Type } from 'typebox'
import { Cursor, DateTime, Limit, Nullable, Uuid, errorResponses } from '../../schemas/common.js'

const Text = Nullable(Type.String())
const NullableUuid = (description: string) => Type.Union([Uuid, Type.Null()], { description })

export const SecurityEvent = Type.Object(
  {
    id: Uuid,
    at: DateTime,
    code: Type.String({ description: 'The error code the attempt was refused with, e.g. invalid_credentials, not_a_member, rate_limited' }),
    method: Type.String(),
    route: Type.String({ description: 'The route pattern, e.g. /api/auth/login or /api/crm/contacts/:id' }),
    userId: NullableUuid('The signed-in user whose live session made the attempt'),
    targetUserId: NullableUuid('The account the attempt was against (a sign-in address held by an account)'),
    workspaceId: NullableUuid('The workspace the request named'),
    ip: Text,
    userAgent: Text,
    requestId: Text,
  },
  { additionalProperties: false },
)

const Query = Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) }, { additionalProperties: false })

const Page = Type.Object({
  events: Type.Array(SecurityEvent, { description: 'Newest first' }),
  nextCursor: Nullable(Type.String()),
})

export const schemas = {
  list: { tags: ['security'], querystring: Query, response: { 200: Page, ...errorResponses(400, 401, 403) } },
}

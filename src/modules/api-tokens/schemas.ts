import { Type, type Static } from 'typebox'
import { DateTime, IdParams, Name, NullableDateTime, Uuid, errorResponses } from '../../schemas/common.js'

// What a list shows of a token: never the token itself (shown once, at creation) nor its hash.
export const ApiToken = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    scopes: Type.Array(Type.String(), { description: 'Catalogue permissions; on each request only those the creator\'s role holds then count' }),
    hint: Type.String({ description: 'The token\'s last four characters' }),
    createdBy: Uuid,
    createdAt: DateTime,
    expiresAt: NullableDateTime,
    lastUsedAt: Type.Union([DateTime, Type.Null()], { description: 'Stamped at most once a minute' }),
    revokedAt: NullableDateTime,
  },
  { $id: 'ApiToken' },
)
export type ApiTokenT = Static<typeof ApiToken>

export const CreateApiTokenBody = Type.Object(
  {
    name: Type.String({ ...Name, maxLength: 100 }),
    scopes: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 100 }),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'ISO-8601 time in the future; none: the token does not expire' })),
  },
  { additionalProperties: false },
)

const writeErrors = errorResponses(400, 401, 402, 403, 404, 415, 429)

export const schemas = {
  list: {
    tags: ['api-tokens'],
    response: { 200: Type.Object({ apiTokens: Type.Array(ApiToken) }), ...errorResponses(400, 401, 403, 429) },
  },
  create: {
    tags: ['api-tokens'],
    body: CreateApiTokenBody,
    response: {
      201: Type.Object({ token: Type.String({ description: 'gate_<workspace short id>_<secret>: shown this once, never again' }), apiToken: ApiToken }),
      ...writeErrors,
    },
  },
  revoke: { tags: ['api-tokens'], params: IdParams, response: { 204: Type.Null(), ...writeErrors } },
}

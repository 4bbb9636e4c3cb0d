import { Type, type Static } from 'typebox'
import { HistoryEntry } from '../../audit/schemas.js'
import { Cursor, DateTime, Email, IdParams, Limit, Name, Nullable, NullableDateTime, Uuid, errorResponses } from '../../../schemas/common.js'

const Phone = Type.String({ minLength: 3, maxLength: 40, pattern: '^[+0-9 ().\\/-]+$' })

export const Contact = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    email: Nullable(Type.String()),
    phone: Nullable(Type.String()),
    departmentId: Nullable(Uuid),
    ownerId: Nullable(Uuid),
    createdAt: DateTime,
    updatedAt: DateTime,
    deletedAt: NullableDateTime,
  },
  { $id: 'Contact' },
)
export type ContactT = Static<typeof Contact>

export const CreateContactBody = Type.Object(
  {
    name: Name,
    email: Type.Optional(Nullable(Email)),
    phone: Type.Optional(Nullable(Phone)),
    departmentId: Type.Optional(Nullable(Uuid)),
    ownerId: Type.Optional(Nullable(Uuid)),
  },
  { additionalProperties: false },
)
export type CreateContactBodyT = Static<typeof CreateContactBody>

export const UpdateContactBody = Type.Object(
  {
    name: Type.Optional(Name),
    email: Type.Optional(Nullable(Email)),
    phone: Type.Optional(Nullable(Phone)),
    departmentId: Type.Optional(Nullable(Uuid)),
    ownerId: Type.Optional(Nullable(Uuid)),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateContactBodyT = Static<typeof UpdateContactBody>

export const ListQuery = Type.Object(
  {
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Limit),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive search in name and email' })),
  },
  { additionalProperties: false },
)

const One = Type.Object({ contact: Contact })
const readErrors = errorResponses(400, 401, 403, 404)
const writeErrors = errorResponses(400, 401, 402, 403, 404, 409, 415)

export const schemas = {
  list: {
    tags: ['contacts'],
    querystring: ListQuery,
    response: { 200: Type.Object({ contacts: Type.Array(Contact), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...readErrors },
  },
  create: { tags: ['contacts'], body: CreateContactBody, response: { 201: One, ...writeErrors } },
  get: { tags: ['contacts'], params: IdParams, response: { 200: One, ...readErrors } },
  update: { tags: ['contacts'], params: IdParams, body: UpdateContactBody, response: { 200: One, ...writeErrors } },
  remove: { tags: ['contacts'], params: IdParams, response: { 204: Type.Null(), ...writeErrors } },
  restore: { tags: ['contacts'], params: IdParams, response: { 200: One, ...writeErrors } },
  history: {
    tags: ['contacts'],
    description: "The contact's timeline from the audit log, oldest first: create, updates, delete, restore",
    params: IdParams,
    response: { 200: Type.Object({ entries: Type.Array(HistoryEntry) }), ...readErrors },
  },
}

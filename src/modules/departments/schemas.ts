import { Type, type Static } from 'typebox'
import { DateTime, IdParams, Name, Nullable, Uuid, errorResponses } from '../../schemas/common.js'

export const Department = Type.Object(
  { id: Uuid, name: Type.String(), parentId: Nullable(Uuid), createdAt: DateTime, updatedAt: DateTime },
  { $id: 'Department' },
)
export type DepartmentT = Static<typeof Department>

const DepartmentName = Type.String({ ...Name, maxLength: 100 })

export const CreateDepartmentBody = Type.Object(
  { name: DepartmentName, parentId: Type.Optional(Nullable(Uuid)) },
  { additionalProperties: false },
)
export const UpdateDepartmentBody = Type.Object(
  { name: Type.Optional(DepartmentName), parentId: Type.Optional(Nullable(Uuid)) },
  { additionalProperties: false, minProperties: 1 },
)

const writeErrors = errorResponses(400, 401, 402, 403, 404, 409, 415, 429)

export const schemas = {
  list: { tags: ['departments'], response: { 200: Type.Object({ departments: Type.Array(Department) }), ...errorResponses(400, 401, 403) } },
  create: { tags: ['departments'], body: CreateDepartmentBody, response: { 201: Type.Object({ department: Department }), ...writeErrors } },
  update: { tags: ['departments'], params: IdParams, body: UpdateDepartmentBody, response: { 200: Type.Object({ department: Department }), ...writeErrors } },
  remove: { tags: ['departments'], params: IdParams, response: { 204: Type.Null(), ...writeErrors } },
}

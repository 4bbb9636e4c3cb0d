import { Type, type Static } from 'typebox'
import { errorResponses } from '../../schemas/common.js'

export const RoleView = Type.Object(
  {
    id: Type.String({ description: "A built-in role's name, or a custom role's id" }),
    name: Type.String(),
    permissions: Type.Array(Type.String()),
    builtIn: Type.Boolean(),
  },
  { $id: 'Role' },
)
export type RoleViewT = Static<typeof RoleView>

// A role's name: shown in member lists and invitation emails, so no control characters.
const RoleName = Type.String({ minLength: 1, maxLength: 60, pattern: '^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$' })
const PermissionList = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 })

export const CreateRoleBody = Type.Object({ name: RoleName, permissions: PermissionList }, { additionalProperties: false })
export const UpdateRoleBody = Type.Object(
  { name: Type.Optional(RoleName), permissions: Type.Optional(PermissionList) },
  { additionalProperties: false, minProperties: 1 },
)
// A built-in role's name or a custom role's id: the built-ins answer 409 to a change.
export const RoleParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }) }, { additionalProperties: false })

const writeErrors = errorResponses(400, 401, 402, 403, 404, 409, 415, 429)

export const schemas = {
  list: { tags: ['roles'], response: { 200: Type.Object({ roles: Type.Array(RoleView) }), ...errorResponses(400, 401, 403) } },
  create: { tags: ['roles'], body: CreateRoleBody, response: { 201: Type.Object({ role: RoleView }), ...writeErrors } },
  update: { tags: ['roles'], params: RoleParams, body: UpdateRoleBody, response: { 200: Type.Object({ role: RoleView }), ...writeErrors } },
  remove: { tags: ['roles'], params: RoleParams, response: { 204: Type.Null(), ...writeErrors } },
}



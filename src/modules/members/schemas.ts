import { Type, type Static } from 'typebox'
import { DateTime, Nullable, Uuid, errorResponses } from '../../schemas/common.js'
import { BUILT_IN_ROLE_NAMES } from '../../rbac/permissions.js'

export const Member = Type.Object(
  {
    userId: Uuid,
    email: Type.String(),
    name: Type.String(),
    role: Type.String(),
    departmentId: Type.Union([Uuid, Type.Null()]),
    scopes: Type.Object({ contacts: Type.Union([Type.Literal('all'), Type.Literal('department'), Type.Literal('own')]) }),
    mfaEnabled: Type.Boolean(),
    joinedAt: DateTime,
  },
  { $id: 'Member' },
)
export type MemberT = Static<typeof Member>

export const Role = Type.Union([...BUILT_IN_ROLE_NAMES.map((r) => Type.Literal(r)), Uuid], {
  description: "A built-in role (owner, admin, manager, agent) or the id of one of the workspace's custom roles",
})

export const ContactsScope = Type.Union([Type.Literal('all'), Type.Literal('department'), Type.Literal('own')], {
  description: 'Which contacts the member sees: every one, their department\'s (and its sub-departments\'), or their own',
})

export const UpdateMemberBody = Type.Object(
  {
    role: Type.Optional(Role),
    departmentId: Type.Optional(Nullable(Uuid)),
    scopes: Type.Optional(Type.Object({ contacts: ContactsScope }, { additionalProperties: false })),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateMemberBodyT = Static<typeof UpdateMemberBody>

export const MemberParams = Type.Object({ userId: Uuid }, { additionalProperties: false })

export const schemas = {
  list: { tags: ['members'], response: { 200: Type.Object({ members: Type.Array(Member) }), ...errorResponses(400, 401, 403) } },
  update: {
    tags: ['members'],
    params: MemberParams,
    body: UpdateMemberBody,
    response: { 200: Type.Object({ member: Member }), ...errorResponses(400, 401, 402, 403, 404, 409) },
  },
  remove: { tags: ['members'], params: MemberParams, response: { 204: Type.Null(), ...errorResponses(400, 401, 402, 403, 404, 409) } },
}

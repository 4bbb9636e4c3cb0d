import { Type, type Static } from 'typebox'
import { Name, NullableDateTime, Uuid, errorResponses } from '../../schemas/common.js'

export const WorkspaceStatus = Type.Union(
  ['pending_approval', 'active', 'rejected', 'suspended'].map((s) => Type.Literal(s)),
)

export const Workspace = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    status: Type.String(),
    statusReason: Type.Union([Type.String(), Type.Null()]),
    trial: Type.Object({
      endsAt: NullableDateTime,
      daysLeft: Type.Union([Type.Integer(), Type.Null()]),
      expired: Type.Boolean(),
    }),
    billing: Type.Object({ status: Type.String() }),
  },
  { $id: 'Workspace' },
)
export type WorkspaceT = Static<typeof Workspace>

export const WorkspaceListItem = Type.Object({ id: Uuid, name: Type.String(), role: Type.String(), status: Type.String() })

export const CreateWorkspaceBody = Type.Object(
  { name: Name, inviteCode: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
)

export const DeleteWorkspaceBody = Type.Object(
  { confirm: Type.String({ minLength: 1, maxLength: 200, description: "The workspace's name, typed to confirm" }) },
  { additionalProperties: false },
)

export const schemas = {
  create: { tags: ['workspaces'], body: CreateWorkspaceBody, response: { 201: Type.Object({ workspace: Workspace }), ...errorResponses(400, 401, 403, 409) } },
  list: { tags: ['workspaces'], response: { 200: Type.Object({ workspaces: Type.Array(WorkspaceListItem) }), ...errorResponses(401) } },
  remove: { tags: ['workspaces'], body: DeleteWorkspaceBody, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 415, 429) } },
  current: { tags: ['workspaces'], response: { 200: Type.Object({ workspace: Workspace }), ...errorResponses(400, 401, 403) } },
  permissions: {
    tags: ['workspaces'],
    response: {
      200: Type.Object({
        permissions: Type.Array(Type.Object({ name: Type.String(), description: Type.String() })),
        // What each built-in role may do: the table the README shows too.
        builtInRoles: Type.Array(Type.Object({ name: Type.String(), permissions: Type.Array(Type.String()) })),
      }),
      ...errorResponses(400, 401, 403),
    },
  },
}


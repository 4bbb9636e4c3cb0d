// Custom roles (API.md /api/workspace/roles). The rules live in the database (sql/125):
// roles:manage, permissions from the catalogue, nobody creates, edits or deletes a role holding
// a permission they lack, a role still held or offered is not deleted. The checks here come
// first only to answer precisely: an unknown permission is named (400), a built-in role or a
// built-in's name answers 409, a name taken answers 409.
import { AppError, notFound } from '../../errors.js'
import { driverError } from '../../db/request-tx.js'
import { BUILT_IN_ROLES, BUILT_IN_ROLE_NAMES, isBuiltInRole, isPermission } from '../../rbac/permissions.js'
import { isUuid } from '../../schemas/common.js'
import type { WorkspaceCtx } from '../../context.js'
import type { RoleViewT } from './schemas.js'
import * as q from './queries.js'

const NOT_FOUND = 'No such role'

function toRole(row: q.RoleRow): RoleViewT {
  return { id: row.id, name: row.name, permissions: row.permissions, builtIn: false }
}

const BUILT_IN_VIEWS: RoleViewT[] = BUILT_IN_ROLE_NAMES.map((name) => ({
  id: name,
  name,
  permissions: [...BUILT_IN_ROLES[name]].sort(),
  builtIn: true,
}))

export async function listRoles(ctx: WorkspaceCtx): Promise<RoleViewT[]> {
  return [...BUILT_IN_VIEWS, ...(await q.listRoles(ctx.db)).map(toRole)]
}

function checkInput(name: string | undefined, permissions: string[] | undefined): void {
  const unknown = permissions?.find((p) => !isPermission(p))
  if (unknown !== undefined) throw new AppError('validation_failed', `body.permissions: unknown permission ${JSON.stringify(unknown)}`)
  if (name !== undefined && isBuiltInRole(name.trim().toLowerCase())) {
    throw new AppError('conflict', `"${name.trim()}" is a built-in role's name`)
  }
}

function nameTaken(err: unknown, name: string | undefined): never {
  if (driverError(err)?.constraint === 'workspace_roles_name_is_unique') {
    throw new AppError('conflict', `A role named "${name?.trim()}" exists already`)
  }
  throw err
}

/** The custom role `id` names, or the error a built-in or unknown id answers. */
function customId(id: string): string {
  if (isBuiltInRole(id)) throw new AppError('conflict', 'Built-in roles cannot be changed or deleted')
  if (!isUuid(id)) throw notFound(NOT_FOUND)
  return id
}

export async function createRole(ctx: WorkspaceCtx, body: { name: string; permissions: string[] }): Promise<RoleViewT> {
  checkInput(body.name, body.permissions)
  const row = await q.createRole(ctx.db, body.name, body.permissions).catch((err: unknown) => nameTaken(err, body.name))
  return toRole(row)
}

export async function updateRole(ctx: WorkspaceCtx, id: string, body: { name?: string; permissions?: string[] }): Promise<RoleViewT> {
  const roleId = customId(id)
  checkInput(body.name, body.permissions)
  const row = await q.updateRole(ctx.db, roleId, body.name ?? null, body.permissions ?? null).catch((err: unknown) => nameTaken(err, body.name))
  if (!row) throw notFound(NOT_FOUND)
  return toRole(row)
}

export async function deleteRole(ctx: WorkspaceCtx, id: string): Promise<void> {
  if (!(await q.deleteRole(ctx.db, customId(id)))) throw notFound(NOT_FOUND)
}

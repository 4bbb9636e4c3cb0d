// Departments (API.md /api/workspace/departments): a tree per workspace. The database keeps it
// one (sql/127): a parent in the same workspace, no cycle, nothing deleted that members,
// contacts or sub-departments still point at. Its refusals become API answers here: a parent
// that is no department of this workspace is a 400, a cycle or a department still in use 409.
import { AppError, notFound } from '../../errors.js'
import { driverError } from '../../db/request-tx.js'
import type { WorkspaceCtx } from '../../context.js'
import type { DepartmentT } from './schemas.js'
import * as q from './queries.js'

const NOT_FOUND = 'No such department'

function toDepartment(row: q.DepartmentRow): DepartmentT {
  return { id: row.id, name: row.name, parentId: row.parentId, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() }
}

const IN_USE: Record<string, string> = {
  departments_parent_in_same_workspace: 'The department has sub-departments; move or delete them first',
  memberships_department_in_same_workspace: 'Members belong to the department; move them first',
  contacts_department_in_same_workspace: 'Contacts belong to the department; move them first',
}

function refused(err: unknown, deleting: boolean): never {
  const e = driverError(err)
  if (e?.code === '23503' && e.constraint) {
    if (deleting && IN_USE[e.constraint]) throw new AppError('conflict', IN_USE[e.constraint])
    if (!deleting && e.constraint === 'departments_parent_in_same_workspace') {
      throw new AppError('validation_failed', 'body.parentId must be a department of this workspace')
    }
  }
  if (e?.code === '23514' && (e.constraint === 'departments_tree_has_no_cycle' || e.constraint === 'departments_not_own_parent')) {
    throw new AppError('conflict', 'A department cannot be moved under itself or one of its own sub-departments')
  }
  throw err
}

export async function listDepartments(ctx: WorkspaceCtx): Promise<DepartmentT[]> {
  return (await q.listDepartments(ctx.db)).map(toDepartment)
}

export async function createDepartment(ctx: WorkspaceCtx, body: { name: string; parentId?: string | null }): Promise<DepartmentT> {
  const row = await q.createDepartment(ctx.db, body.name, body.parentId ?? null).catch((err: unknown) => refused(err, false))
  return toDepartment(row)
}

export async function updateDepartment(ctx: WorkspaceCtx, id: string, body: { name?: string; parentId?: string | null }): Promise<DepartmentT> {
  const parent = body.parentId === undefined ? null : { to: body.parentId }
  const row = await q.updateDepartment(ctx.db, id, body.name ?? null, parent).catch((err: unknown) => refused(err, false))
  if (!row) throw notFound(NOT_FOUND)
  return toDepartment(row)
}

export async function deleteDepartment(ctx: WorkspaceCtx, id: string): Promise<void> {
  const deleted = await q.deleteDepartment(ctx.db, id).catch((err: unknown) => refused(err, true))
  if (!deleted) throw notFound(NOT_FOUND)
}

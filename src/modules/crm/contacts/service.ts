// Contact mapping, the opaque list cursor, and the foreign keys' refusals.
import { AppError } from '../../../errors.js'
import { decodeCursor as decodeKey, encodeCursor as encodeKey, isInstant } from '../../../schemas/cursor.js'
import { isUuid } from '../../../schemas/common.js'
import { driverError } from '../../../db/request-tx.js'
import type { ContactRow } from './queries.js'
import type { ContactT } from './schemas.js'

export function toContact(row: ContactRow): ContactT {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    phone: row.phone,
    departmentId: row.departmentId,
    ownerId: row.ownerId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    deletedAt: row.deletedAt?.toISOString() ?? null,
  }
}

// The cursor is the (created_at, id) of the last row of the previous page (created_at is stored
// with millisecond precision, so a Date carries it exactly).
export function encodeCursor(row: ContactRow): string {
  return encodeKey({ t: row.createdAt.toISOString(), id: row.id })
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  return decodeKey(cursor, (k) => (isInstant(k.t, 3) && isUuid(k.id) ? { createdAt: new Date(k.t), id: k.id } : undefined))
}

/**
 * A write the database refused, as a client error: a contact's owner must be a member and its
 * department one of the workspace's (the foreign keys); the row must stay within the contacts
 * the member may see (the scope policies, sql/150).
 */
export function writeRefused(err: unknown, scope: string): AppError | undefined {
  const e = driverError(err)
  switch (e?.constraint) {
    case 'contacts_owner_is_a_member':
      return new AppError('validation_failed', 'body.ownerId must be a member of this workspace')
    case 'contacts_department_in_same_workspace':
      return new AppError('validation_failed', 'body.departmentId must be a department of this workspace')
  }
  if (e?.code === '42501' && /row-level security policy "contacts are (added|changed) within the member's scope"/.test(e.message ?? '')) {
    return new AppError('forbidden', `The contact would be outside the contacts you may see (your scope: ${scope})`)
  }
  return undefined
}

// Contact mapping and the opaque list cursor.
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

/** Maps the owner foreign key's violation to a client error (the owner must be a member). */
export function ownerNotMember(err: unknown): boolean {
  return driverError(err)?.constraint === 'contacts_owner_is_a_member'
}

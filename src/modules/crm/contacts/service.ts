// Contact mapping and the opaque list cursor.
import { AppError } from '../../../errors.js'
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

// The cursor is the (created_at, id) of the last row of the previous page, in base64url JSON
// (created_at is stored with millisecond precision, so a Date carries it exactly).
export function encodeCursor(row: ContactRow): string {
  return Buffer.from(JSON.stringify({ t: row.createdAt.toISOString(), id: row.id })).toString('base64url')
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const ISO_INSTANT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { t?: unknown; id?: unknown }
    const createdAt = new Date(String(value.t))
    // Exactly what encodeCursor writes: a four-digit year, so the instant is one PostgreSQL holds.
    if (typeof value.t === 'string' && ISO_INSTANT.test(value.t) && !Number.isNaN(createdAt.getTime()) && typeof value.id === 'string' && UUID.test(value.id)) {
      return { createdAt, id: value.id }
    }
  } catch {
    // fall through
  }
  throw new AppError('validation_failed', 'querystring.cursor is not a cursor this service issued')
}

/** Maps the owner foreign key's violation to a client error (the owner must be a member). */
export function ownerNotMember(err: unknown): boolean {
  return driverError(err)?.constraint === 'contacts_owner_is_a_member'
}

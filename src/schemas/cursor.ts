// Opaque keyset cursors, one codec for every list: base64url JSON of the last row's sort key.
// A cursor is accepted back only in exactly the form this service wrote it, so a forged or
// damaged one is a 400 naming the field, never a 500 from a query over a malformed key.
import { AppError } from '../errors.js'

export type CursorKey = Record<string, string | number>

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

/** Decodes `cursor` and hands its key to `read`, which returns the typed key or undefined. */
export function decodeCursor<T>(cursor: string, read: (key: Record<string, unknown>) => T | undefined): T {
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    key = undefined
  }
  const value = key !== null && typeof key === 'object' && !Array.isArray(key) ? read(key as Record<string, unknown>) : undefined
  if (value === undefined) throw new AppError('validation_failed', 'querystring.cursor is not a cursor this service issued')
  return value
}


// An instant as encodeCursor callers write it: four-digit year, UTC, `digits` fractional digits.
// The round trip through Date rejects what the pattern lets through but the calendar does not
// (Feb 30, 24:00), which JavaScript would roll over and PostgreSQL would refuse.
export function isInstant(value: unknown, digits: 3 | 6): value is string {
  if (typeof value !== 'string') return false
  if (!new RegExp(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{${digits}}Z$`).test(value)) return false
  const date = new Date(value)
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 23) === value.slice(0, 23)
}

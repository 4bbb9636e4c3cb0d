// Rows of a drizzle table that arrive through db.execute (from a set-returning function, say)
// come as the driver sent them: column names, timestamps as text. fromDriverRow maps them
// exactly as a query-builder select of the table would, through each column's own
// mapFromDriverValue, so one row type and one mapping serve both kinds of query.
import { getTableColumns, type InferSelectModel } from 'drizzle-orm'
import type { PgTable } from 'drizzle-orm/pg-core'

export function fromDriverRow<T extends PgTable>(table: T, raw: Record<string, unknown>): InferSelectModel<T> {
  const row: Record<string, unknown> = {}
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = raw[column.name]
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value)
  }
  return row as InferSelectModel<T>
}

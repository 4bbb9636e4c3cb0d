// Shared schema primitives: one definition each, used by every module's schemas.ts and so by
// validation, TypeScript types and the OpenAPI document alike.
import { Type, type Static } from 'typebox'

// The one UUID shape the service accepts, for schemas and for checks in code alike.
const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
const UUID_RE = new RegExp(UUID_PATTERN)

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value)
}

// The pattern as well as the format: ajv's "uuid" format also accepts "urn:uuid:…", which
// PostgreSQL does not.
export const Uuid = Type.String({ format: 'uuid', pattern: UUID_PATTERN, description: 'UUID' })
export const DateTime = Type.String({ format: 'date-time', description: 'ISO-8601 UTC time' })
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
export const NullableDateTime = Nullable(DateTime)
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 })

/** Emails are compared case-insensitively and without surrounding space. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase()
}
// A person's, a workspace's or a contact's name: shown in lists, emails and email subjects, so
// no control characters (a line break in a subject, an escape sequence in a log) and not blank.
export const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$' })

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false })

export const WorkspaceHeaders = Type.Object({
  'x-workspace-id': Type.Optional(Type.String({ description: 'The workspace to act in (cookie sessions)' })),
})

export const ErrorBody = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    code: Type.String(),
    message: Type.String(),
  },
  { $id: 'Error', description: 'Every error response (see API.md)' },
)

export const Cursor = Type.String({ maxLength: 200, description: 'Opaque cursor from a previous page' })
export const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 50 })

export type ErrorBodyT = Static<typeof ErrorBody>

/** Error responses a route may answer, for the OpenAPI document. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody]))
}

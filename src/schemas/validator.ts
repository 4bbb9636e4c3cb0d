// Request validation. Two Ajv instances: bodies are JSON and keep their types (a number where a
// string is expected is a 400, not silently "5"); params, query strings and headers are text and
// are coerced to the schema's types. Unknown properties are rejected, never silently dropped.
import { Ajv, type Options } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv

const common: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false }
const bodyAjv = addFormats(new Ajv({ ...common, coerceTypes: false }))
const textAjv = addFormats(new Ajv({ ...common, coerceTypes: 'array' }))

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object)

// The typed Gatehouse client for single-page apps: openapi-fetch over the generated types
// (schema.d.ts, `npm run api:types`). Every call sends the session cookie (`credentials:
// 'include'`, so it works across origins listed in CORS_ORIGINS too) and JSON; a workspace
// route names its workspace with the X-Workspace-Id header. Errors come back in the API's one
// shape, `{statusCode, error, code, message}`, whose `code` a screen maps to a message.
//
//   const api = gatehouseClient('https://gatehouse.example.com')
//   const { data, error } = await api.GET('/api/crm/contacts', { headers: { 'x-workspace-id': id }, params: { query: { q: 'ada' } } })
import createClient from 'openapi-fetch'
import type { paths } from './schema.js'

export type { paths }

/** The error body every API error answers with (API.md, Errors). */
export interface ApiError {
  statusCode: number
  error: string
  code: string
  message: string
}

export function gatehouseClient(baseUrl = '', fetchImpl?: typeof fetch) {
  return createClient<paths>({ baseUrl, credentials: 'include', ...(fetchImpl ? { fetch: fetchImpl } : {}) })
}

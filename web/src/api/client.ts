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
import { ApiFailure } from './errors.js'

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

// ---- The console's own client: same origin, the chosen workspace on every workspace route. ----

export const api = gatehouseClient('')

let currentWorkspace: string | null = null

/** The workspace every /api/workspace/** and /api/crm/** call names (X-Workspace-Id). */
export function useWorkspaceHeader(id: string | null): void {
  currentWorkspace = id
}

api.use({
  onRequest({ request }) {
    const path = new URL(request.url).pathname
    if (currentWorkspace && /^\/api\/(workspace|crm)(\/|$)/.test(path)) request.headers.set('x-workspace-id', currentWorkspace)
    return request
  },
})

type Listener = (failure: ApiFailure) => void
const listeners = new Set<Listener>()

/** Called with every failed call (the app signs out on 401, opens billing on 402). */
export function onFailure(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/**
 * Awaits an openapi-fetch call and returns its data, or throws an ApiFailure with the API's
 * `code` (or `network` when the service could not be reached).
 */
export async function call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response }
  try {
    result = await request
  } catch {
    throw notify(new ApiFailure(0, 'network', ''))
  }
  const { data, error, response } = result
  if (response.ok) return data as T
  const body = (error ?? {}) as Partial<ApiError>
  const retry = Number(response.headers.get('retry-after'))
  throw notify(new ApiFailure(response.status, body.code ?? (response.status >= 500 ? 'internal' : 'not_found'), body.message ?? '', retry > 0 ? retry : undefined))
}

function notify(failure: ApiFailure): ApiFailure {
  for (const listener of listeners) listener(failure)
  return failure
}

// The typed API client stays true to the routes: the committed web/src/api/schema.d.ts is what
// `npm run api:types` generates from the service's OpenAPI document today (a route or schema
// changed without regenerating fails here, and so CI), and the client built on it talks to the
// service as an SPA would: cookie included, typed paths, the API's error shape.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { API_TYPES_FILE, generateApiTypes } from '../../src/api-types.js'
import { gatehouseClient, type ApiError } from '../../web/src/api/client.js'

t.test('the committed types are the routes\' (run `npm run api:types` after changing a route)', async (t) => {
  const committed = await readFile(API_TYPES_FILE, 'utf8')
  const generated = await generateApiTypes()
  t.ok(generated.includes('"/api/crm/contacts"') && generated.includes('"/api/workspace/channels/{type}"'), 'every route')
  t.ok(committed === generated, `${API_TYPES_FILE} is up to date with the routes`)
})

t.test('the client sends the cookie, JSON and the workspace header, and returns the error shape', async (t) => {
  const seen: Request[] = []
  const fake: typeof fetch = async (input) => {
    const request = input as Request
    seen.push(request)
    return new Response(JSON.stringify({ statusCode: 403, error: 'Forbidden', code: 'not_a_member', message: 'You are not a member of this workspace' }),
      { status: 403, headers: { 'content-type': 'application/json' } })
  }
  const api = gatehouseClient('https://gatehouse.test', fake)
  const { data, error } = await api.GET('/api/crm/contacts', { headers: { 'x-workspace-id': '00000000-0000-4000-8000-000000000000' }, params: { query: { q: 'ada' } } })
  t.equal(data, undefined)
  t.equal((error as ApiError).code, 'not_a_member')
  t.equal(seen[0]!.url, 'https://gatehouse.test/api/crm/contacts?q=ada')
  t.equal(seen[0]!.credentials, 'include', 'the session cookie goes along')
  t.equal(seen[0]!.headers.get('x-workspace-id'), '00000000-0000-4000-8000-000000000000')
})

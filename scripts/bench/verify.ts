// Before any load: each scenario answers correctly once over real HTTP (a wrong cookie signature
// or a missing fixture fails here, loudly, instead of producing a fast table of 401s), and one
// gated write and one gated list are replayed inside the service to count their round trips.
import type { Child, ProbeAnswer } from './children.js'
import type { Scenario } from './load.js'
import type { Report } from './report.js'
import type { Tenant } from './seed.js'

/** One request of each scenario over real HTTP: a broken fixture fails here, not as 100 % 4xx. */
export async function smokeTest(list: Scenario[]): Promise<void> {
  for (const s of list) {
    const spec = s.request.setupRequest!({ method: s.request.method, path: s.request.path ?? '/', headers: { ...s.request.headers }, body: s.request.body }, {})!
    const res = await fetch(new URL(spec.path!, s.baseUrl), { method: spec.method, headers: spec.headers, body: spec.body?.toString() })
    const body = (await res.json()) as { contacts?: unknown[]; nextCursor?: unknown }
    const expected = s.kind === 'insert' ? 201 : 200
    if (res.status !== expected) throw new Error(`${s.name}: expected ${expected}, got ${res.status} ${JSON.stringify(body)}`)
    if (s.kind === 'list' && (body.contacts?.length !== 50 || !body.nextCursor)) {
      throw new Error(`${s.name}: expected a full page of 50 with a next cursor, got ${body.contacts?.length} rows`)
    }
  }
}

/** Replays one gated write and one gated list in the service child, recording each client.query. */
export async function countRoundTrips(service: Child, t: Tenant): Promise<Report['roundTrips']> {
  const headers = { cookie: t.cookie, 'x-workspace-id': t.workspaceId }
  const write = await service.ask<ProbeAnswer>({
    type: 'probe', method: 'POST', url: '/api/crm/contacts',
    headers: { ...headers, 'content-type': 'application/json' }, body: { name: 'Probe contact' },
  })
  const list = await service.ask<ProbeAnswer>({ type: 'probe', method: 'GET', url: '/api/crm/contacts?limit=50', headers })
  if (write.status !== 201 || list.status !== 200 || list.rows !== 50) {
    throw new Error(`round-trip probe failed: write ${write.status}, list ${list.status} with ${list.rows} rows`)
  }
  return { gatedWrite: write.statements, gatedList: list.statements }
}

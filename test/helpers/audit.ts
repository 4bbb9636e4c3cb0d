// Reading the audit trail in tests: through the API (every page), and as the database holds it
// (superuser, RLS bypassed), to compare the two.
import type { TestContext } from './app.js'

export const UA = 'GatehouseAuditTest/1.0 (+https://example.test)'
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export type Snapshot = Record<string, unknown> | null
export interface Entry {
  id: string
  kind: 'event' | 'change'
  action: string
  actorId: string | null
  actorTokenId: string | null
  actingAsId: string | null
  entityType: string | null
  entityId: string | null
  before: Snapshot
  after: Snapshot
  ip: string | null
  userAgent: string | null
  requestId: string | null
  at: string
  seq: number
  workspaceId?: string | null
}

/** Every page of an audit list, following nextCursor; the entries in order and the page sizes. */
export async function listAll(
  ctx: TestContext,
  headers: Record<string, string>,
  url: string,
  query: string,
): Promise<{ entries: Entry[]; pages: number[] }> {
  const entries: Entry[] = []
  const pages: number[] = []
  let cursor: string | null = null
  do {
    const params: string = [query, cursor ? `cursor=${encodeURIComponent(cursor)}` : ''].filter(Boolean).join('&')
    const res = await ctx.app.inject({ method: 'GET', url: params ? `${url}?${params}` : url, headers })
    if (res.statusCode !== 200) throw new Error(`${url}?${params}: ${res.statusCode} ${res.body}`)
    const body = res.json<{ entries: Entry[]; nextCursor: string | null }>()
    entries.push(...body.entries)
    pages.push(body.entries.length)
    cursor = body.nextCursor
    if (pages.length > 100) throw new Error('pagination does not end')
  } while (cursor)
  return { entries, pages }
}

/** The ids of a workspace's audit rows, newest first, as the database holds them. */
export async function auditIds(ctx: TestContext, workspaceId: string): Promise<string[]> {
  const rows = await ctx.sql<{ id: string }>('select id from audit_log where workspace_id = $1 order by chain_seq desc', [workspaceId])
  return rows.map((r) => r.id)
}

/** How many audit rows the database holds, in every chain. */
export async function auditRowCount(ctx: TestContext): Promise<number> {
  const rows = await ctx.sql<{ n: number }>('select count(*)::int as n from audit_log')
  return rows[0]!.n
}

// BENCH_SCOPED (default 1): the contacts scopes on a big workspace. One extra workspace, "Bench
// scoped", holds 100 000 contacts (one every 10 ms back from now, so every created_at is distinct
// and the list has a stable order) spread over a 3-level department tree (a root, 3 departments
// under it, 3 under each of those: 13) and owned by 30 agents (scope 'own': ≈ 3 300 contacts
// each); 3 managers, each placed in one of the 3 middle departments, see that department and the
// 3 below it (scope 'department': ≈ 4/13 of the workspace); the owner sees all of it. The list of
// 50 is measured for the owner, round-robin over the agents and over the managers, against the
// bare baseline listing the newest 50 of the same 100 000 rows (bench.contacts, copied by
// ./seed.ts with every other contact). Before any load, every member's first page is compared
// with the page the scope should give, computed as the superuser: a scope answering too few or
// the wrong rows would flatter the figures.
//
// Written set-based as the superuser, inside ./seed.ts's transaction, like the other fixtures,
// with one difference: the 100 000 contacts are inserted with the contacts audit triggers off,
// so the workspace has no audit rows for them (an import, not 100 000 API calls). Sealing them
// would chain 100 000 rows under one chain head in one transaction — minutes of seeding — and
// the list reads no audit row.
import { randomUUID } from 'node:crypto'
import { sign } from '@fastify/cookie'
import pg from 'pg'
import { hashToken, newToken } from '../../src/crypto/tokens.js'
import type { Config } from '../../src/config.js'
import { gatedHeaders, roundRobin, type Scenario } from './load.js'
import type { Tenant } from './seed.js'

export const SCOPED_CONTACTS = 100_000
export const SCOPED_AGENTS = 30
export const SCOPED_MANAGERS = 3
/** A root, 3 departments under it, 3 under each of those. */
export const SCOPED_DEPARTMENTS = 13

/** The four scenarios' names (the report finds them by name). */
export const SCOPED_NAMES = {
  bare: 'bare list, 100k workspace',
  owner: 'gated list, 100k, owner (all)',
  agents: 'gated list, 100k, agents (own)',
  managers: 'gated list, 100k, managers (department)',
} as const

export interface ScopedMember extends Tenant {
  role: 'owner' | 'agent' | 'manager'
  /** The member's own department (none for the owner). */
  departmentId: string | null
}

export interface ScopedFixture {
  workspaceId: string
  owner: ScopedMember
  agents: ScopedMember[]
  managers: ScopedMember[]
  /** The tree: the root, the 3 middle departments, and the 9 leaves (3 per middle one, in order). */
  departments: { root: string; middle: string[]; leaves: string[] }
  /** How long the big workspace's inserts took, inside the seed's transaction (ms). */
  seedMs: number
}

/**
 * Seeds the big workspace with `client`, inside the caller's transaction: before it copies
 * contacts into bench.contacts, so these rows are copied with the others, once; and before it
 * inserts any contact, since ALTER TABLE is refused while contacts has audit events pending.
 */
export async function seedScoped(
  client: pg.Client,
  opts: { config: Config; cookieName: string; passwordHash: string },
): Promise<ScopedFixture> {
  const started = Date.now()
  const workspaceId = randomUUID()
  const root = randomUUID()
  const middle = Array.from({ length: 3 }, () => randomUUID())
  const leaves = Array.from({ length: 9 }, () => randomUUID())
  const all = [root, ...middle, ...leaves]

  type Seat = { role: ScopedMember['role']; departmentId: string | null; userId: string; token: string }
  const seat = (role: Seat['role'], departmentId: string | null): Seat => ({ role, departmentId, userId: randomUUID(), token: newToken() })
  const seats: Seat[] = [
    seat('owner', null),
    // Agents spread over every department, managers one in each middle department.
    ...Array.from({ length: SCOPED_AGENTS }, (_, i) => seat('agent', all[i % all.length]!)),
    ...middle.map((d) => seat('manager', d)),
  ]
  const owner = seats[0]!

  await client.query(
    `insert into users (id, email, name, password_hash, email_verified_at)
     select u, 'bench-scoped-' || r || '-' || i || '@bench.test', 'Bench scoped ' || r || ' ' || i, $3, now()
       from unnest($1::uuid[], $2::text[]) with ordinality as t(u, r, i)`,
    [seats.map((s) => s.userId), seats.map((s) => s.role), opts.passwordHash],
  )
  await client.query(
    `insert into workspaces (id, name, owner_id, status, trial_ends_at, billing_status, approved_at)
     values ($1, 'Bench scoped', $2, 'active', now() + interval '14 days', 'trialing', now())`,
    [workspaceId, owner.userId],
  )
  // Level by level: each department's parent exists before it (the foreign key and the cycle
  // trigger both look it up).
  const addDepartments = (ids: string[], names: string[], parents: (string | null)[]) =>
    client.query(
      `insert into departments (workspace_id, id, name, parent_id)
       select $1, d, n, p from unnest($2::uuid[], $3::text[], $4::uuid[]) as t(d, n, p)`,
      [workspaceId, ids, names, parents],
    )
  await addDepartments([root], ['Company'], [null])
  await addDepartments(middle, middle.map((_, i) => `Region ${i + 1}`), middle.map(() => root))
  await addDepartments(leaves, leaves.map((_, i) => `Team ${Math.floor(i / 3) + 1}.${(i % 3) + 1}`), leaves.map((_, i) => middle[Math.floor(i / 3)]!))
  // contacts_scope stays NULL: each role's default scope (app.default_contacts_scope).
  await client.query(
    `insert into memberships (workspace_id, user_id, role, department_id)
     select $1, u, r, d from unnest($2::uuid[], $3::text[], $4::uuid[]) as t(u, r, d)`,
    [workspaceId, seats.map((s) => s.userId), seats.map((s) => s.role), seats.map((s) => s.departmentId)],
  )
  await client.query(
    `insert into sessions (user_id, token_hash, expires_at, idle_timeout_seconds)
     select u, decode(h, 'hex'), now() + make_interval(secs => $3), $4
       from unnest($1::uuid[], $2::text[]) as t(u, h)`,
    [seats.map((s) => s.userId), seats.map((s) => hashToken(s.token).toString('hex')), opts.config.sessionAbsoluteSeconds, opts.config.sessionIdleSeconds],
  )
  // Each contact in a random department, owned by a random agent, imported by the owner; one
  // every 10 ms back from now. A fixed seed: every run has the same spread.
  const agents = seats.filter((s) => s.role === 'agent')
  await client.query('alter table public.contacts disable trigger contacts_audit, disable trigger contacts_audit_actor')
  await client.query('select setseed(0.4217)')
  await client.query(
    `insert into contacts (workspace_id, name, email, department_id, owner_id, created_by, created_at, updated_at)
     select $1, 'Scoped contact ' || g, 'scoped-' || g || '@example.test',
            x.departments[1 + floor(random() * ${SCOPED_DEPARTMENTS})::int], x.agents[1 + floor(random() * ${SCOPED_AGENTS})::int], $4,
            now() - g * interval '10 milliseconds', now() - g * interval '10 milliseconds'
       from (select $2::uuid[] as departments, $3::uuid[] as agents) as x, generate_series(1, ${SCOPED_CONTACTS}) as g`,
    [workspaceId, all, agents.map((a) => a.userId), owner.userId],
  )
  await client.query('alter table public.contacts enable trigger contacts_audit, enable trigger contacts_audit_actor')

  const member = (s: Seat): ScopedMember => ({
    role: s.role,
    departmentId: s.departmentId,
    userId: s.userId,
    workspaceId,
    cookie: `${opts.cookieName}=${encodeURIComponent(sign(s.token, opts.config.sessionSecret))}`,
  })
  return {
    workspaceId,
    owner: member(owner),
    agents: agents.map(member),
    managers: seats.filter((s) => s.role === 'manager').map(member),
    departments: { root, middle, leaves },
    seedMs: Date.now() - started,
  }
}

/** The four scenarios: the bare list of the big workspace, and the gated list for each scope. */
export function scopedScenarios(f: ScopedFixture, bareUrl: string, gatedUrl: string): Scenario[] {
  // One workspace, read only: out of the soak and of the many-workspace CPU ratios.
  const common = { kind: 'list', workspaces: 'one' } as const
  const gated = (members: ScopedMember[]) => ({
    method: 'GET' as const,
    path: '/api/crm/contacts?limit=50',
    setupRequest: roundRobin(members, (t, req) => ({ ...req, headers: gatedHeaders(t, req) })),
  })
  return [
    {
      name: SCOPED_NAMES.bare, side: 'bare', ...common, audit: false, baseUrl: bareUrl,
      request: { method: 'GET', setupRequest: (req) => ({ ...req, path: `/bare/contacts?workspace=${f.workspaceId}` }) },
    },
    { name: SCOPED_NAMES.owner, side: 'gated', ...common, audit: true, baseUrl: gatedUrl, request: gated([f.owner]) },
    { name: SCOPED_NAMES.agents, side: 'gated', ...common, audit: true, baseUrl: gatedUrl, request: gated(f.agents) },
    { name: SCOPED_NAMES.managers, side: 'gated', ...common, audit: true, baseUrl: gatedUrl, request: gated(f.managers) },
  ]
}

/** The departments a manager of the i-th middle department sees: it and the 3 below it. */
const covers = (f: ScopedFixture, i: number) => [f.departments.middle[i]!, ...f.departments.leaves.slice(i * 3, i * 3 + 3)]

/** What each member's list should contain: their scope's contacts, as the superuser reads them. */
function expectedScope(f: ScopedFixture, m: ScopedMember): { sql: string; params: unknown[] } {
  const base = 'select id from contacts where workspace_id = $1 and deleted_at is null'
  const page = 'order by created_at desc, id desc limit 50'
  if (m.role === 'owner') return { sql: `${base} ${page}`, params: [f.workspaceId] }
  if (m.role === 'agent') return { sql: `${base} and owner_id = $2 ${page}`, params: [f.workspaceId, m.userId] }
  // A manager: their middle department and the 3 below it, and any contact they own (none here).
  const covered = covers(f, f.departments.middle.indexOf(m.departmentId!))
  return { sql: `${base} and (department_id = any($2::uuid[]) or owner_id = $3) ${page}`, params: [f.workspaceId, covered, m.userId] }
}

/**
 * Before any load: every member's first page over real HTTP (each agent's, each manager's, the
 * owner's) and the bare baseline's are exactly the 50 newest contacts their scope covers, as the
 * superuser computes them — 50 rows each, so a scope that returns too few (or the wrong ones)
 * fails here instead of flattering the figures. Returns the smallest scope size, for the log.
 */
export async function verifyScoped(f: ScopedFixture, superUrl: string, bareUrl: string, gatedUrl: string): Promise<{ ownMin: number; departmentMin: number }> {
  const client = new pg.Client({ connectionString: superUrl })
  await client.connect()
  try {
    const check = async (label: string, url: string, headers: Record<string, string>, expected: { sql: string; params: unknown[] }) => {
      const res = await fetch(url, { headers })
      const body = (await res.json()) as { contacts?: { id: string }[]; nextCursor?: unknown }
      if (res.status !== 200) throw new Error(`${label}: expected 200, got ${res.status} ${JSON.stringify(body)}`)
      const want = (await client.query<{ id: string }>(expected.sql, expected.params)).rows.map((r) => r.id)
      const got = (body.contacts ?? []).map((c) => c.id)
      if (want.length !== 50 || got.length !== 50 || !body.nextCursor || got.some((id, i) => id !== want[i])) {
        throw new Error(`${label}: expected the ${want.length} newest contacts of its scope with a next cursor, got ${got.length} rows, ` +
          `${got.filter((id, i) => id !== want[i]).length} of them not the expected ones`)
      }
    }
    await check(SCOPED_NAMES.bare, `${bareUrl}/bare/contacts?workspace=${f.workspaceId}`, {}, expectedScope(f, f.owner))
    for (const m of [f.owner, ...f.agents, ...f.managers]) {
      await check(`${m.role} ${m.userId}`, `${gatedUrl}/api/crm/contacts?limit=50`, gatedHeaders(m, { headers: {} }), expectedScope(f, m))
    }
    // The scopes' sizes, for the log: the smallest agent's and the smallest manager's.
    const own = await client.query<{ n: number }>(
      'select min(n)::int as n from (select count(*) as n from contacts where workspace_id = $1 group by owner_id) as o', [f.workspaceId])
    const departments = await Promise.all(f.departments.middle.map(async (_, i) =>
      (await client.query<{ n: number }>('select count(*)::int as n from contacts where workspace_id = $1 and department_id = any($2::uuid[])',
        [f.workspaceId, covers(f, i)])).rows[0]!.n))
    return { ownMin: own.rows[0]!.n, departmentMin: Math.min(...departments) }
  } finally {
    await client.end()
  }
}

// Bench fixtures, written directly as the superuser for speed (registering 200 owners through
// the API would spend minutes in argon2 and the outbox). The rows are what the API would have
// produced: a verified owner with one precomputed argon2id hash, an approved workspace with an
// active trial, the owner's membership, a session whose token_hash is SHA-256 of a random token
// (invariant 7), and 60 contacts per workspace so that a list of 50 is a full page with a next
// cursor. The cookie is signed exactly as @fastify/cookie signs it with SESSION_SECRET. The bare
// baseline gets the same contacts in a plain table of its own (bench.contacts). With `scoped`,
// the same transaction also seeds the 100 000-contact workspace of ./scoped.ts, before the copy,
// so bench.contacts gets its rows too, once.
import { randomUUID } from 'node:crypto'
import { sign } from '@fastify/cookie'
import pg from 'pg'
import { hashPassword } from '../../src/crypto/passwords.js'
import { hashToken, newToken } from '../../src/crypto/tokens.js'
import type { Config } from '../../src/config.js'
import { seedScoped, type ScopedFixture } from './scoped.js'

export interface Tenant {
  userId: string
  workspaceId: string
  /** The whole `Cookie` header value for this owner's session. */
  cookie: string
}

export const CONTACTS_PER_WORKSPACE = 60

export async function seed(
  superUrl: string,
  config: Config,
  cookieName: string,
  count: number,
  opts: { scoped: boolean },
): Promise<{ tenants: Tenant[]; scoped: ScopedFixture | null }> {
  const passwordHash = await hashPassword(`bench-${randomUUID()}`, config.passwordPeppers)
  const tenants = Array.from({ length: count }, () => ({ userId: randomUUID(), workspaceId: randomUUID(), token: newToken() }))
  const users = tenants.map((t) => t.userId)
  const workspaces = tenants.map((t) => t.workspaceId)

  const client = new pg.Client({ connectionString: superUrl })
  await client.connect()
  try {
    await client.query('begin')
    await client.query(
      `insert into users (id, email, name, password_hash, email_verified_at)
       select u, 'bench-owner-' || i || '@bench.test', 'Bench Owner ' || i, $2, now()
         from unnest($1::uuid[]) with ordinality as t(u, i)`,
      [users, passwordHash],
    )
    await client.query(
      `insert into workspaces (id, name, owner_id, status, trial_ends_at, billing_status, approved_at)
       select w, 'Bench ' || i, u, 'active', now() + interval '14 days', 'trialing', now()
         from unnest($1::uuid[], $2::uuid[]) with ordinality as t(w, u, i)`,
      [workspaces, users],
    )
    await client.query(
      `insert into memberships (workspace_id, user_id, role) select w, u, 'owner' from unnest($1::uuid[], $2::uuid[]) as t(w, u)`,
      [workspaces, users],
    )
    await client.query(
      `insert into sessions (user_id, token_hash, expires_at, idle_timeout_seconds)
       select u, decode(h, 'hex'), now() + make_interval(secs => $3), $4
         from unnest($1::uuid[], $2::text[]) as t(u, h)`,
      [users, tenants.map((t) => hashToken(t.token).toString('hex')), config.sessionAbsoluteSeconds, config.sessionIdleSeconds],
    )
    // Before any contact is inserted here: it switches the contacts audit triggers off for its
    // own insert, which PostgreSQL refuses while this transaction has audit events pending.
    const scoped = opts.scoped ? await seedScoped(client, { config, cookieName, passwordHash }) : null
    // Distinct created_at values (one second apart) give the list a stable, index-ordered page.
    await client.query(
      `insert into contacts (workspace_id, name, email, owner_id, created_by, created_at, updated_at)
       select w, 'Seed contact ' || g, 'seed-' || g || '@example.test', u, u,
              now() - g * interval '1 second', now() - g * interval '1 second'
         from unnest($1::uuid[], $2::uuid[]) as t(w, u), generate_series(1, ${CONTACTS_PER_WORKSPACE}) as g`,
      [workspaces, users],
    )
    // The bare baseline's table: the same columns and rows, a primary key and an index for its
    // list, and nothing else — no row-level security, no trigger, no foreign key (a plain app's
    // table; scripts/bench/bare-child.ts).
    // In a schema of its own: start-up refuses any table in public or app without forced RLS.
    await client.query('create schema bench')
    await client.query(`
      create table bench.contacts (
        workspace_id uuid not null, id uuid not null default gen_random_uuid(), name text not null, email text, phone text,
        department_id uuid, owner_id uuid, created_by uuid,
        created_at timestamptz(3) not null default now(), updated_at timestamptz(3) not null default now(), deleted_at timestamptz(3),
        primary key (workspace_id, id))`)
    await client.query('create index bench_contacts_list_idx on bench.contacts (workspace_id, created_at desc, id desc)')
    await client.query(`insert into bench.contacts select workspace_id, id, name, email, phone, department_id, owner_id, created_by,
                               created_at, updated_at, deleted_at from contacts`)
    await client.query('commit')
    // Fresh statistics, so the planner sees the real table sizes from the first request.
    await client.query('analyze')
    return { tenants: tenants.map(tenantOf), scoped }
  } finally {
    await client.end()
  }

  function tenantOf(t: (typeof tenants)[number]): Tenant {
    return {
      userId: t.userId,
      workspaceId: t.workspaceId,
      // Browsers send the value as Set-Cookie encoded it (@fastify/cookie encodes by default).
      cookie: `${cookieName}=${encodeURIComponent(sign(t.token, config.sessionSecret))}`,
    }
  }
}

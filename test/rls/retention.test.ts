// Retention (sql/190): app.sweep_expired deletes sessions, email links and MFA challenges past
// their retention, a bounded batch at a time, and nothing younger, whoever calls it; the runtime
// deletes none of them directly.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { permissionDenied, pgError, rows, seedUser, tokenHash } from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

const user = await seedUser(su)

/** A session with the given times (days ago; null: not set); returns its id. */
async function session(s: { createdDaysAgo: number; lastSeenDaysAgo: number; expiresInDays: number; revokedDaysAgo?: number }): Promise<string> {
  const [row] = await rows<{ id: string }>(su,
    `insert into sessions (user_id, token_hash, created_at, last_seen_at, expires_at, idle_timeout_seconds, revoked_at)
     values ($1, $2, now() - make_interval(days => $3), now() - make_interval(days => $4), now() + make_interval(days => $5), 7 * 86400,
             case when $6::int is not null then now() - make_interval(days => $6::int) end)
     returning id`,
    [user, tokenHash(), s.createdDaysAgo, s.lastSeenDaysAgo, s.expiresInDays, s.revokedDaysAgo ?? null])
  return row!.id
}

async function token(usedDaysAgo: number | null, expiresInDays: number): Promise<string> {
  const [row] = await rows<{ id: string }>(su,
    `insert into email_tokens (user_id, purpose, token_hash, expires_at, used_at)
     values ($1, 'reset_password', $2, now() + make_interval(days => $3), case when $4::int is not null then now() - make_interval(days => $4::int) end)
     returning id`, [user, tokenHash(), expiresInDays, usedDaysAgo])
  return row!.id
}

async function challenge(usedDaysAgo: number | null, expiresInDays: number): Promise<string> {
  const [row] = await rows<{ id: string }>(su,
    `insert into mfa_challenges (user_id, token_hash, expires_at, used_at)
     values ($1, $2, now() + make_interval(days => $3), case when $4::int is not null then now() - make_interval(days => $4::int) end)
     returning id`, [user, tokenHash(), expiresInDays, usedDaysAgo])
  return row!.id
}

const exists = async (table: string, id: string) => (await rows(su, `select 1 from ${table} where id = $1`, [id])).length === 1

t.test('the sweep deletes what is past its retention and nothing younger', async (t) => {
  // Threat (to the data): a sweep that removes a live session, or a table that grows without end.
  const keep = {
    live: await session({ createdDaysAgo: 90, lastSeenDaysAgo: 1, expiresInDays: 30 }),
    revokedRecently: await session({ createdDaysAgo: 60, lastSeenDaysAgo: 20, expiresInDays: 30, revokedDaysAgo: 20 }),
    idleRecently: await session({ createdDaysAgo: 60, lastSeenDaysAgo: 30, expiresInDays: 30 }), // idle since 23 days
    tokenUsedRecently: await token(3, -1),
    tokenLive: await token(null, 1),
    challengeRecent: await challenge(null, 0),
  }
  const gone = {
    revokedLongAgo: await session({ createdDaysAgo: 90, lastSeenDaysAgo: 40, expiresInDays: 30, revokedDaysAgo: 40 }),
    expiredLongAgo: await session({ createdDaysAgo: 400, lastSeenDaysAgo: 40, expiresInDays: -35 }),
    idleLongAgo: await session({ createdDaysAgo: 90, lastSeenDaysAgo: 45, expiresInDays: 300 }), // idle since 38 days
    tokenUsedLongAgo: await token(10, -5),
    tokenExpiredLongAgo: await token(null, -8),
    challengeOld: await challenge(2, -2),
  }
  const swept = await rows<{ what: string; deleted: number }>(runtime, 'select * from app.sweep_expired(1000)')
  t.same(Object.fromEntries(swept.map((r) => [r.what, r.deleted])), { sessions: 3, email_tokens: 2, mfa_challenges: 1, security_events: 0 })
  for (const [name, id] of Object.entries(keep)) {
    t.ok(await exists(name.startsWith('token') ? 'email_tokens' : name.startsWith('challenge') ? 'mfa_challenges' : 'sessions', id), `${name} stays`)
  }
  for (const [name, id] of Object.entries(gone)) {
    t.notOk(await exists(name.startsWith('token') ? 'email_tokens' : name.startsWith('challenge') ? 'mfa_challenges' : 'sessions', id), `${name} is gone`)
  }
})

t.test('a sweep is a bounded batch', async (t) => {
  for (let i = 0; i < 3; i++) await session({ createdDaysAgo: 90, lastSeenDaysAgo: 40, expiresInDays: 30, revokedDaysAgo: 40 })
  const first = await rows<{ what: string; deleted: number }>(runtime, 'select * from app.sweep_expired(2)')
  t.equal(first.find((r) => r.what === 'sessions')?.deleted, 2, 'two at most')
  const second = await rows<{ what: string; deleted: number }>(runtime, 'select * from app.sweep_expired(2)')
  t.equal(second.find((r) => r.what === 'sessions')?.deleted, 1, 'the rest at the next call')
})

t.test('the runtime deletes none of them directly', async (t) => {
  // Threat: an injected statement signs everyone out, or erases the links and challenges of an attack.
  for (const table of ['sessions', 'email_tokens', 'mfa_challenges']) {
    t.same(await pgError(runtime.query(`delete from ${table}`)), permissionDenied('table', table), table)
  }
})

t.test('security events are kept 90 days: the sweep removes older ones, and nobody removes a younger one', async (t) => {
  // Threat: a flood fills the disk over months, or someone erases a recent attack's trail.
  const event = async (daysAgo: number) => (await rows<{ id: string }>(su,
    `insert into security_events (code, method, route, created_at) values ('forbidden', 'GET', '/retention', now() - make_interval(days => $1)) returning id`,
    [daysAgo]))[0]!.id
  const recent = await event(89)
  const old = await event(91)
  const swept = await rows<{ what: string; deleted: number }>(runtime, 'select * from app.sweep_expired(1000)')
  t.equal(swept.find((r) => r.what === 'security_events')?.deleted, 1)
  t.ok(await exists('security_events', recent), 'an 89-day-old event stays')
  t.notOk(await exists('security_events', old), 'a 91-day-old one is gone')
  // Even a superuser deleting by hand is refused for a younger event (the guard is ENABLE ALWAYS).
  t.same(await pgError(su.query('delete from security_events where id = $1', [recent])),
    { code: '42501', message: 'security_events rows are kept for 90 days: DELETE is not allowed before' })
  t.ok(await exists('security_events', recent))
})

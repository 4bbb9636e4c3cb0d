// security_events (sql/060) as an injected statement would meet it: the runtime login reads and
// writes nothing directly; app.record_security_event takes the user only from a live session's
// token hash, accepts only the recorded refusal codes and caps a flood; the log is append-only
// for the schema owner too; only platform administrators (with a second factor) and a
// workspace's owners read it, each through a function that checks them.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  inRequest, ownerOf, permissionDenied, pgError, refusal, rows, seedMfa, seedSession, seedTenant, seedUser, tokenHash,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)
const owner = await connect(t, db.ownerUrl)

const a = await seedTenant(su)
const b = await seedTenant(su)

const RECORD = 'select app.record_security_event($1, $2, $3, $4, $5, $6, $7, $8, $9) as recorded'
const record = (code: string, token: Buffer | null, workspaceId: string | null, ip = '192.0.2.1') =>
  runtime.query<{ recorded: boolean }>(RECORD, [code, 'GET', '/api/crm/contacts', token, null, workspaceId, ip, 'RlsTest/1.0', 'rls-req'])

t.test('the runtime reads and writes no security event directly', async (t) => {
  // Threat: an injected statement reads who was refused where, or erases or forges the trail.
  await record('forbidden', null, b.workspaceId)
  for (const statement of [
    'select * from security_events',
    `insert into security_events (code, method, route) values ('forbidden', 'GET', '/x')`,
    `update security_events set code = 'rate_limited'`,
    'delete from security_events',
    'truncate security_events',
  ]) {
    t.same(await pgError(inRequest(runtime, ownerOf(b), (sql) => sql.query(statement))), permissionDenied('table', 'security_events'), statement)
  }
})

t.test('the schema owner cannot change or remove an event either', async (t) => {
  // Threat: whoever holds the owner login cleans up after an attack.
  await record('forbidden', null, b.workspaceId)
  const all = () => rows(su, 'select id, code from security_events order by id')
  const before = await all()
  for (const statement of [`update security_events set code = 'rate_limited'`, 'delete from security_events']) {
    const outcome = await owner.query(statement).then((r) => `${r.rowCount} rows`, (err: { code?: string }) => `error ${err.code}`)
    t.ok(['0 rows', 'error 42501'].includes(outcome), `${statement}: ${outcome}`)
  }
  t.equal((await pgError(owner.query('truncate security_events')))?.code, '42501', 'truncate: refused')
  t.same(await all(), before, 'every event is as it was')
})

t.test('who made the attempt comes only from a live session', async (t) => {
  // Threat: an injected call records attempts in someone else's name, or with a made-up code.
  t.same((await record('not_a_member', a.session, b.workspaceId)).rows, [{ recorded: true }])
  await record('not_a_member', tokenHash(), b.workspaceId)
  const revoked = await seedSession(su, a.ownerId, { revoked: true })
  await record('not_a_member', revoked, b.workspaceId)
  const recorded = await rows<{ user_id: string | null }>(su,
    `select user_id from security_events where code = 'not_a_member' and workspace_id = $1 order by created_at`, [b.workspaceId])
  t.same(recorded.map((r) => r.user_id), [a.ownerId, null, null], 'a live session names its user; an unknown or revoked one names nobody')
  t.same(await pgError(record('contact.update', null, null)), refusal('GHINV', 'not a refusal that is recorded: contact.update'), 'only refusal codes')
  t.same(await pgError(record(null as unknown as string, null, null)), refusal('GHINV', 'not a refusal that is recorded: <NULL>'), 'a code is required')
})

t.test('a flood is capped at 60 events a minute per address', async (t) => {
  // Threat: a flood of refusals (or of injected calls) fills the disk.
  const outcomes: boolean[] = []
  for (let i = 0; i < 65; i++) outcomes.push((await record('rate_limited', null, null, '198.51.100.7')).rows[0]!.recorded)
  t.equal(outcomes.filter(Boolean).length, 60, '60 recorded')
  t.same(outcomes.slice(60), [false, false, false, false, false], 'the rest answered false')
  t.equal((await record('rate_limited', null, null, '198.51.100.8')).rows[0]!.recorded, true, 'another address is recorded')
})

t.test('platform administrators with a second factor read every event; others are refused', async (t) => {
  const listAll = 'select * from app.admin_security_events(null, null, 100)'
  t.same(await pgError(inRequest(runtime, ownerOf(a), (sql) => sql.query(listAll))), refusal('GHFBD', 'Platform administrators only'), 'a tenant owner')
  const admin = await seedUser(su)
  await su.query('insert into platform_admins (email, user_id, granted_at) select email, id, now() from users where id = $1', [admin])
  await seedMfa(su, admin)
  const passwordOnly = await seedSession(su, admin)
  t.equal((await pgError(inRequest(runtime, { session: passwordOnly }, (sql) => sql.query(listAll))))?.code, 'GHMFR', 'an administrator without a second factor')
  const session = await seedSession(su, admin, { mfa: true })
  const events = await inRequest(runtime, { session }, (sql) => rows<{ workspace_id: string | null }>(sql, listAll))
  t.ok(events.some((e) => e.workspace_id === b.workspaceId), "every workspace's events")
})

t.test("a workspace's owners read the events that named it, and only those", async (t) => {
  // Threat: a member reads who probed the workspace (owners only), or one tenant reads another's.
  const mine = 'select workspace_id from app.workspace_security_events(null, null, 100)'
  await record('forbidden', null, a.workspaceId)
  const forB = await inRequest(runtime, ownerOf(b), (sql) => rows<{ workspace_id: string }>(sql, mine))
  t.ok(forB.length > 0)
  t.ok(forB.every((e) => e.workspace_id === b.workspaceId), "only B's")
  const member = await seedUser(su)
  await su.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'admin')`, [b.workspaceId, member])
  const memberSession = await seedSession(su, member)
  t.same(await pgError(inRequest(runtime, { session: memberSession, workspaceId: b.workspaceId }, (sql) => sql.query(mine))),
    refusal('GHFBD', 'Your role lacks the permission security:read'), 'an admin of B')
  t.same(await pgError(inRequest(runtime, { session: a.session, workspaceId: b.workspaceId }, (sql) => sql.query(mine))),
    refusal('GHMEM', 'You are not a member of this workspace'), "A's owner naming B")
})

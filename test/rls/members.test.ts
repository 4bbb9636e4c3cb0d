// sql/080 and app.reissue_session, as the runtime role with no HTTP in between: the member list
// stays inside the context workspace, a role change marks the member's sessions however it is
// made, the last owner cannot go, and a re-issue replaces a session exactly once.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { asTenant, pgError, rows, seedSession, seedTenant, seedUser, tokenHash } from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

const a = await seedTenant(su)
const b = await seedTenant(su)
const colleague = await seedUser(su)
await su.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'member')`, [a.workspaceId, colleague])

const reissued = async (hash: Buffer) =>
  (await rows<{ id: string | null }>(runtime, 'select app.reissue_session($1, $2) as id', [hash, tokenHash()]))[0]!.id

t.test('app.workspace_members lists the context workspace only, and nobody without context', async (t) => {
  const listed = (ctx: { workspaceId?: string; userId?: string }) =>
    asTenant(runtime, ctx, (sql) => rows<{ user_id: string }>(sql, 'select user_id from app.workspace_members()'))
  t.same((await listed({ workspaceId: a.workspaceId, userId: a.ownerId })).map((r) => r.user_id), [a.ownerId, colleague])
  t.same((await listed({ workspaceId: b.workspaceId, userId: b.ownerId })).map((r) => r.user_id), [b.ownerId])
  t.same(await listed({ userId: a.ownerId }), [], 'a user with no workspace context sees no members')
  t.same(await listed({}), [], 'no context: nobody')
  // The function reads the MFA flag, never the secret envelope.
  const privileged = await rows<{ ok: boolean }>(su, `select has_column_privilege('app_privileged', 'user_mfa', 'secret_encrypted', 'select') as ok`)
  t.equal(privileged[0]!.ok, false, 'app_privileged cannot read MFA secrets')
})

t.test('a role change marks every live session of the member, whoever makes it', async (t) => {
  const live = await seedSession(su, colleague)
  const revoked = await seedSession(su, colleague, { revoked: true })
  const owners = await seedSession(su, a.ownerId)
  await asTenant(runtime, { workspaceId: a.workspaceId, userId: a.ownerId }, (sql) =>
    sql.query(`update memberships set role = 'admin' where user_id = $1`, [colleague]))
  const marks = await rows<{ token_hash: Buffer; reissue_required: boolean }>(su,
    'select token_hash, reissue_required from sessions where token_hash = any($1)', [[live, revoked, owners]])
  const mark = (h: Buffer) => marks.find((m) => m.token_hash.equals(h))!.reissue_required
  t.same([mark(live), mark(revoked), mark(owners)], [true, false, false], 'the live session of the member only')

  // A superuser's direct edit has the same effect: the trigger, not the handler, decides.
  const another = await seedSession(su, colleague)
  await su.query(`update memberships set role = 'viewer' where workspace_id = $1 and user_id = $2`, [a.workspaceId, colleague])
  t.equal((await rows<{ r: boolean }>(su, 'select reissue_required as r from sessions where token_hash = $1', [another]))[0]!.r, true)
})

t.test('app.reissue_session replaces a marked session once, keeping its lifetime', async (t) => {
  const user = await seedUser(su)
  const unmarked = await seedSession(su, user)
  t.equal(await reissued(unmarked), null, 'an unmarked session is not re-issued')
  t.equal(await reissued(tokenHash()), null, 'an unknown token neither')

  const old = await seedSession(su, user)
  await su.query('update sessions set reissue_required = true where token_hash = $1', [old])
  const id = await reissued(old)
  t.ok(id, 'a marked one is')
  t.equal(await reissued(old), null, 'exactly once')
  const [o, n] = await rows<{ id: string; expires_at: Date; revoked_at: Date | null; replaced_by: string | null }>(su,
    'select id, expires_at, revoked_at, replaced_by from sessions where token_hash = $1 or id = $2 order by revoked_at nulls last', [old, id])
  t.match(o, { replaced_by: id })
  t.ok(o!.revoked_at)
  t.same(n!.expires_at, o!.expires_at, 'the same absolute expiry')

  // An expired or revoked marked session is not brought back to life.
  const expired = await seedSession(su, user, { expiresIn: -1 })
  const revoked = await seedSession(su, user, { revoked: true })
  await su.query('update sessions set reissue_required = true where token_hash = any($1)', [[expired, revoked]])
  t.same([await reissued(expired), await reissued(revoked)], [null, null])
})

t.test('app.begin_request resolves a just-replaced token as its replacement, briefly', async (t) => {
  const user = await seedUser(su)
  const old = await seedSession(su, user)
  await su.query('update sessions set reissue_required = true where token_hash = $1', [old])
  const resolve = async (hash: Buffer) =>
    (await asTenant(runtime, {}, (sql) => rows<{ session_id: string; reissue: boolean }>(sql, 'select session_id, reissue from app.begin_request($1, null)', [hash])))[0]
  t.match(await resolve(old), { reissue: true }, 'a marked session says so')
  const id = await reissued(old)
  t.match(await resolve(old), { session_id: id, reissue: false }, 'the old token now resolves as the new session')
  await su.query(`update sessions set revoked_at = now() where id = $1`, [id])
  t.equal(await resolve(old), undefined, 'not once the replacement is revoked')
  await su.query(`update sessions set revoked_at = null where id = $1`, [id])
  await su.query(`update sessions set revoked_at = now() - interval '61 seconds' where token_hash = $1`, [old])
  t.equal(await resolve(old), undefined, 'nor after 60 seconds')
})

t.test('a workspace keeps an owner, whatever path the change takes', async (t) => {
  // Threat: a direct UPDATE or DELETE (a route that skips the service's check) orphans a tenant.
  const tenant = await seedTenant(su, { contacts: 0 })
  const demote = await pgError(asTenant(runtime, { workspaceId: tenant.workspaceId, userId: tenant.ownerId }, (sql) =>
    sql.query(`update memberships set role = 'admin' where user_id = $1`, [tenant.ownerId])))
  t.match(demote, { code: '23514', constraint: 'memberships_workspace_keeps_an_owner' })
  const remove = await pgError(asTenant(runtime, { workspaceId: tenant.workspaceId, userId: tenant.ownerId }, (sql) =>
    sql.query(`delete from memberships where user_id = $1`, [tenant.ownerId])))
  t.match(remove, { code: '23514' })
  t.match(await pgError(su.query(`update memberships set role = 'member' where workspace_id = $1`, [tenant.workspaceId])), { code: '23514' }, 'the superuser too')

  // With a second owner one may go; deleting the workspace takes its owners with it.
  const second = await seedUser(su)
  await su.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'owner')`, [tenant.workspaceId, second])
  await su.query(`update memberships set role = 'member' where workspace_id = $1 and user_id = $2`, [tenant.workspaceId, tenant.ownerId])
  t.equal((await rows(su, `select 1 from memberships where workspace_id = $1 and role = 'owner'`, [tenant.workspaceId])).length, 1)
  await su.query('delete from workspaces where id = $1', [tenant.workspaceId])
  t.equal((await rows(su, 'select 1 from memberships where workspace_id = $1', [tenant.workspaceId])).length, 0)
})

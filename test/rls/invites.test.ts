// workspace_invites and app.accept_invite (sql/085), as the runtime role: invitations stay in
// their tenant, only the privileged function spends one, and only for the invited address.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { asTenant, permissionDenied, pgError, rlsViolation, rows, seedInvite, seedTenant, seedUser, tokenHash, type Sql } from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

const a = await seedTenant(su)
const b = await seedTenant(su)

const emailOf = async (userId: string) => (await rows<{ email: string }>(su, 'select email from users where id = $1', [userId]))[0]!.email
const accept = (sql: Sql, hash: Buffer) => rows<{ outcome: string; workspace_id: string | null }>(sql, 'select * from app.accept_invite($1)', [hash])

t.test("a tenant sees and touches only its own invitations", async (t) => {
  // Threat: a handler that forgets its WHERE lists or revokes another tenant's invitations.
  const invitee = await seedUser(su)
  const ofB = await seedInvite(su, b.workspaceId, b.ownerId, await emailOf(invitee))
  const inA = { workspaceId: a.workspaceId, userId: a.ownerId }
  await asTenant(runtime, inA, async (sql) => {
    t.same(await rows(sql, 'select id from workspace_invites'), [], "B's invitation is invisible")
    t.equal((await sql.query('update workspace_invites set revoked_at = now() where id = $1', [ofB.id])).rowCount, 0)
  })
  const forged = await pgError(asTenant(runtime, inA, (sql) => sql.query(
    `insert into workspace_invites (workspace_id, email, role, token_hash, invited_by, expires_at)
     values ($1, 'x@rls.test', 'owner', $2, $3, now() + interval '1 day')`, [b.workspaceId, tokenHash(), a.ownerId])))
  t.same(forged, rlsViolation('workspace_invites'), "an invitation into B's workspace is refused")
  const accepted = await pgError(asTenant(runtime, { workspaceId: b.workspaceId, userId: b.ownerId }, (sql) =>
    sql.query('update workspace_invites set accepted_at = now() where id = $1', [ofB.id])))
  t.same(accepted, permissionDenied('table', 'workspace_invites'), 'only app.accept_invite marks one accepted')
})

t.test('app.accept_invite spends an invitation for the invited, verified address only', async (t) => {
  const invitee = await seedUser(su)
  const other = await seedUser(su)
  const inv = await seedInvite(su, a.workspaceId, a.ownerId, await emailOf(invitee))
  t.match(await pgError(asTenant(runtime, {}, (sql) => accept(sql, inv.hash))), { code: '42501' }, 'no user: refused')
  t.same(await asTenant(runtime, { userId: other }, (sql) => accept(sql, inv.hash)), [{ outcome: 'wrong_email', workspace_id: null }])
  t.same(await asTenant(runtime, { userId: invitee }, (sql) => accept(sql, tokenHash())), [{ outcome: 'invalid_token', workspace_id: null }])
  t.same(await asTenant(runtime, { userId: invitee }, (sql) => accept(sql, inv.hash)), [{ outcome: 'ok', workspace_id: a.workspaceId }])
  t.same(await rows(su, 'select role from memberships where workspace_id = $1 and user_id = $2', [a.workspaceId, invitee]), [{ role: 'member' }])
  t.same(await asTenant(runtime, { userId: invitee }, (sql) => accept(sql, inv.hash)), [{ outcome: 'invalid_token', workspace_id: null }], 'once')
  t.same(await rows(su, 'select 1 from memberships where user_id = $1', [other]), [], 'the other user joined nothing')
})

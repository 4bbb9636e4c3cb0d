// workspace_invites, app.create_invite, app.revoke_invite and app.accept_invite (sql/140), as the
// runtime login with arbitrary SQL and no HTTP in between: the runtime only reads its own
// workspace's invitations; inviting checks members:manage and "nobody grants what they do not
// hold" in the database; an invitation is spent only by the signed-in user whose verified address
// it names, and makes them a member with exactly its role; nothing else makes anyone a member.
// Fixtures are inserted as superuser, every request is opened the real way (app.begin_request
// with a session's token hash), and every "nothing changed" is checked as superuser.
import t, { type Test } from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  inRequest,
  ownerOf,
  permissionDenied,
  ROLE_LABEL_SQL,
  rows,
  seedCustomRole,
  seedInvite,
  seedMembership,
  seedSession,
  seedTenant,
  seedUser,
  tokenHash,
  type PgError,
  type Request,
  type Sql,
  type Tenant,
  type TenantState,
  refusal,
  refusedUnchanged as refusedAndUnchanged,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

type Role = 'owner' | 'admin' | 'agent' | 'viewer'

interface Person {
  id: string
  email: string
  /** Their live session (its token hash). */
  session: Buffer
}

/** A user (verified unless told otherwise) with a live session. */
async function person(opts: { verified?: boolean } = {}): Promise<Person> {
  const id = await seedUser(su, opts)
  const [{ email }] = (await rows<{ email: string }>(su, 'select email from users where id = $1', [id])) as [{ email: string }]
  return { id, email, session: await seedSession(su, id) }
}

/** A new person made a member of `tenant` with `role` (as superuser; 'viewer': the custom "Viewer" role). */
async function addMember(tenant: Tenant, role: Role): Promise<Person> {
  const p = await person()
  await seedMembership(su, tenant.workspaceId, p.id, role)
  return p
}

const within = (tenant: Tenant, p: Person): Request => ({ session: p.session, workspaceId: tenant.workspaceId })
const signedIn = (p: Person): Request => ({ session: p.session })

const createInvite = (req: Request, email: string, role: string, hash = tokenHash(), expires = `now() + interval '1 day'`) =>
  inRequest(runtime, req, (sql) =>
    rows<{ id: string; workspace_id: string; email: string; role: string; invited_by: string }>(sql,
      `select id, workspace_id, email, role, invited_by from app.create_invite($1, $2, $3, ${expires})`, [email, role, hash]))
const revokeInvite = (req: Request, id: string) =>
  inRequest(runtime, req, async (sql) => (await rows<{ ok: boolean }>(sql, 'select app.revoke_invite($1) as ok', [id]))[0]!.ok)
const accept = (sql: Sql, hash: Buffer) =>
  rows<{ outcome: string; workspace_id: string | null }>(sql, 'select * from app.accept_invite($1)', [hash])
const acceptAs = (req: Request, hash: Buffer) => inRequest(runtime, req, (sql) => accept(sql, hash))

const LACKS_MANAGE = refusal('GHFBD', 'Your role lacks the permission members:manage')
const cannotGrant = (caller: Role, role: Role) => refusal('GHFBD', `Your role (${caller}) cannot grant the role ${role}`)
const noSuchRole = (role: string) => refusal('GHINV', `No such role in this workspace: ${role}`)
const NOT_A_MEMBER = refusal('GHMEM', 'You are not a member of this workspace')
const SIGN_IN = refusal('GHAUT', 'Sign in first')

/** Every invitation and every membership, as superuser. */
const everything = async () => ({
  invites: await rows(su, 'select * from workspace_invites order by id'),
  memberships: await rows(su, 'select workspace_id, user_id, role, role_id, created_at from memberships order by workspace_id, user_id'),
})

/** `op` fails with exactly `expected`, and no invitation or membership anywhere changed. */
const refusedUnchanged = (t: Test, op: () => Promise<unknown>, expected: PgError, label: string) =>
  refusedAndUnchanged(t, everything, op, expected, label)

/** `op` answers `expected`, and no invitation or membership anywhere changed. */
async function answersUnchanged(t: Test, op: () => Promise<unknown>, expected: unknown, label: string): Promise<void> {
  const before = await everything()
  t.same(await op(), expected, label)
  t.same(await everything(), before, `${label}: nothing changed`)
}

/** A membership's role as a built-in name or the custom role's name (e.g. 'Viewer'), as superuser. */
const membershipOf = (workspaceId: string, userId: string) =>
  rows(su, `select ${ROLE_LABEL_SQL} as role from memberships m where m.workspace_id = $1 and m.user_id = $2`, [workspaceId, userId])
const inviteState = (id: string) =>
  rows(su, 'select accepted_at is not null as accepted, accepted_by, revoked_at is not null as revoked from workspace_invites where id = $1', [id])
const OPEN = [{ accepted: false, accepted_by: null, revoked: false }]

const a = await seedTenant(su)
const b = await seedTenant(su)
const admin = await addMember(a, 'admin')
const member = await addMember(a, 'agent')
const viewer = await addMember(a, 'viewer')
/** A's custom "Viewer" role (what the former built-in viewer is now), as the API names it: its id. */
const viewerRole = await seedCustomRole(su, a.workspaceId)
/** B's custom "Viewer" role: not a role of A's workspace. */
const bViewerRole = await seedCustomRole(su, b.workspaceId)

t.test('a tenant reads only its own invitations and writes none directly', async (t) => {
  // Threat: a handler that forgets its WHERE (or an injected statement) lists, revokes, accepts or plants invitations in any tenant.
  const ofA = await seedInvite(su, a.workspaceId, a.ownerId)
  const ofB = await seedInvite(su, b.workspaceId, b.ownerId)
  await inRequest(runtime, ownerOf(a), async (sql) => {
    t.same(await rows(sql, 'select id from workspace_invites'), [{ id: ofA.id }], 'only A\'s invitation is visible')
    t.same(await rows(sql, 'select id from workspace_invites where id = $1', [ofB.id]), [], 'B\'s, named by id, is not')
  })
  const denied: Array<[string, unknown[]]> = [
    ['select token_hash from workspace_invites', []],
    [`insert into workspace_invites (workspace_id, email, role, token_hash, invited_by, expires_at)
      values ($1, 'x@rls.test', 'owner', $2, $3, now() + interval '1 day')`, [a.workspaceId, tokenHash(), a.ownerId]],
    [`insert into workspace_invites (workspace_id, email, role, token_hash, invited_by, expires_at)
      values ($1, 'x@rls.test', 'owner', $2, $3, now() + interval '1 day')`, [b.workspaceId, tokenHash(), a.ownerId]],
    ['update workspace_invites set revoked_at = now() where id = $1', [ofA.id]],
    ['update workspace_invites set revoked_at = now() where id = $1', [ofB.id]],
    [`update workspace_invites set role = 'owner' where id = $1`, [ofA.id]],
    ['update workspace_invites set accepted_at = now(), accepted_by = $2 where id = $1', [ofA.id, a.ownerId]],
    ['update workspace_invites set expires_at = now() + interval \'1 year\' where id = $1', [ofA.id]],
    ['delete from workspace_invites where id = $1', [ofA.id]],
  ]
  for (const [text, values] of denied) {
    await refusedUnchanged(t, () => inRequest(runtime, ownerOf(a), (sql) => sql.query(text, values)), permissionDenied('table', 'workspace_invites'), text)
  }
  await answersUnchanged(t, () => revokeInvite(ownerOf(a), ofB.id), false, 'app.revoke_invite of B\'s invitation from A: none here')
  t.same(await inviteState(ofB.id), OPEN, 'B\'s invitation is still open')
  t.equal(await revokeInvite(ownerOf(a), ofA.id), true, 'A\'s owner revokes A\'s invitation')
  t.same(await inviteState(ofA.id), [{ accepted: false, accepted_by: null, revoked: true }])
})

t.test('only a member with members:manage invites, and only to a role they hold', async (t) => {
  // Threat: a member or viewer invites people, or an admin invites an owner (billing:read is the owners' alone), escalating through a confederate's account.
  const email = (await person()).email
  await refusedUnchanged(t, () => createInvite(within(a, member), email, 'agent'), LACKS_MANAGE, 'a member invites a member')
  await refusedUnchanged(t, () => createInvite(within(a, member), email, 'admin'), LACKS_MANAGE, 'a member invites an admin')
  await refusedUnchanged(t, () => createInvite(within(a, viewer), email, viewerRole), LACKS_MANAGE, 'a "Viewer" invites a "Viewer"')
  await refusedUnchanged(t, () => createInvite(within(a, admin), email, 'owner'), cannotGrant('admin', 'owner'), 'an admin invites an owner')
  await refusedUnchanged(t, () => createInvite(within(a, admin), email, 'superuser'), noSuchRole('superuser'), 'an admin invites to a role that does not exist')
  await refusedUnchanged(t, () => createInvite(ownerOf(a), email, 'superuser'), noSuchRole('superuser'), 'the owner neither')
  await refusedUnchanged(t, () => createInvite(ownerOf(a), email, 'viewer'), noSuchRole('viewer'), 'nor to the retired built-in viewer')
  await refusedUnchanged(t, () => createInvite(ownerOf(a), email, bViewerRole), noSuchRole(bViewerRole), 'nor to another workspace\'s custom role')
  await refusedUnchanged(t, () => createInvite(ownerOf(a), member.email, 'admin'),
    refusal('GHCFL', `${member.email} is already a member of this workspace`), 'a member is not invited again (to a better role)')
  await refusedUnchanged(t, () => createInvite(ownerOf(a), email, 'admin', tokenHash(), `now() + interval '31 days'`),
    refusal('GHINV', 'an invitation lives 30 days at most'), 'an invitation for longer than 30 days')
  // Revoking is managing members too.
  const open = await seedInvite(su, a.workspaceId, a.ownerId)
  await refusedUnchanged(t, () => revokeInvite(within(a, member), open.id), LACKS_MANAGE, 'a member revokes an invitation')
  await refusedUnchanged(t, () => revokeInvite(within(a, viewer), open.id), LACKS_MANAGE, 'a viewer revokes an invitation')

  const [byAdmin] = await createInvite(within(a, admin), email, 'admin')
  t.match(byAdmin, { workspace_id: a.workspaceId, email, role: 'admin', invited_by: admin.id }, 'an admin invites an admin, in their workspace, as themselves')
  const [byOwner] = await createInvite(ownerOf(a), email, 'owner')
  t.match(byOwner, { workspace_id: a.workspaceId, email, role: 'owner', invited_by: a.ownerId }, 'the owner invites an owner')
  t.same(await inviteState(byAdmin!.id), [{ accepted: false, accepted_by: null, revoked: true }], 'the new invitation replaced the open one for the address')
  t.same(await inviteState(byOwner!.id), OPEN)
})

t.test('an invitation needs a sealed workspace that takes writes', async (t) => {
  // Threat: an invitation is issued with no workspace context (none named, not a member, no session) or into a workspace that is not approved or not paid up.
  const email = (await person()).email
  const cases: Array<[string, Request, PgError]> = [
    ['signed in, no workspace', { session: a.session }, NOT_A_MEMBER],
    ['signed in, naming a workspace they are not a member of', { session: a.session, workspaceId: b.workspaceId }, NOT_A_MEMBER],
    ['naming the workspace, no session', { workspaceId: a.workspaceId }, SIGN_IN],
    ['an unknown session', { session: tokenHash(), workspaceId: a.workspaceId }, SIGN_IN],
  ]
  for (const [label, req, expected] of cases) {
    await refusedUnchanged(t, () => createInvite(req, email, 'agent'), expected, `${label}: create`)
  }
  const closed: Array<[string, TenantState, PgError]> = [
    ['pending approval', { status: 'pending_approval' }, refusal('GHWPA', 'This workspace is waiting for approval')],
    ['suspended', { status: 'suspended' }, refusal('GHWSU', 'This workspace is suspended')],
    ['rejected', { status: 'rejected' }, refusal('GHWRJ', 'This workspace was rejected')],
    ['with an expired, unpaid trial', { trialDays: -1 }, refusal('GHTRX', 'The trial has ended; subscribe to keep making changes')],
  ]
  for (const [label, state, expected] of closed) {
    const ws = await seedTenant(su, { contacts: 0, ...state })
    const open = await seedInvite(su, ws.workspaceId, ws.ownerId)
    await refusedUnchanged(t, () => createInvite(ownerOf(ws), email, 'agent'), expected, `${label}: create`)
    await refusedUnchanged(t, () => revokeInvite(ownerOf(ws), open.id), expected, `${label}: revoke`)
  }
})

t.test('app.accept_invite spends an invitation for the signed-in holder of its verified address only', async (t) => {
  // Threat: someone other than the invitee (another user, an unverified claimant of the address, nobody at all) joins with an invitation link.
  const invitee = await person()
  const other = await person()
  const [inv] = await createInvite(ownerOf(a), invitee.email, viewerRole, tokenHash())
  const hash = (await rows<{ token_hash: Buffer }>(su, 'select token_hash from workspace_invites where id = $1', [inv!.id]))[0]!.token_hash

  await refusedUnchanged(t, () => acceptAs({}, hash), SIGN_IN, 'no session')
  await refusedUnchanged(t, () => acceptAs({ session: tokenHash() }, hash), SIGN_IN, 'an unknown session')
  const expiredSession = await seedSession(su, invitee.id, { expiresIn: -1 })
  await refusedUnchanged(t, () => acceptAs({ session: expiredSession }, hash), SIGN_IN, 'the invitee\'s expired session')
  await answersUnchanged(t, () => acceptAs(signedIn(other), hash), [{ outcome: 'wrong_email', workspace_id: null }], 'another user')
  await answersUnchanged(t, () => acceptAs(ownerOf(a), hash), [{ outcome: 'wrong_email', workspace_id: null }], 'the inviting owner')
  await answersUnchanged(t, () => acceptAs(signedIn(invitee), tokenHash()), [{ outcome: 'invalid_token', workspace_id: null }], 'an unknown token')
  t.same(await inviteState(inv!.id), OPEN, 'the invitation is still open')

  t.same(await acceptAs(signedIn(invitee), hash), [{ outcome: 'ok', workspace_id: a.workspaceId }], 'the invitee')
  t.same(await membershipOf(a.workspaceId, invitee.id), [{ role: 'Viewer' }], 'joined with the invitation\'s role')
  t.same(await inviteState(inv!.id), [{ accepted: true, accepted_by: invitee.id, revoked: false }], 'spent by the invitee')
  await answersUnchanged(t, () => acceptAs(signedIn(invitee), hash), [{ outcome: 'invalid_token', workspace_id: null }], 'once')
  t.same(await rows(su, 'select workspace_id from memberships where user_id = $1', [other.id]), [], 'the other user joined nothing')
})

t.test('an unverified holder of the invited address cannot accept', async (t) => {
  // Threat: someone registers the invited address without proving they own it and joins with the link.
  const claimant = await person({ verified: false })
  const inv = await seedInvite(su, a.workspaceId, a.ownerId, claimant.email)
  await answersUnchanged(t, () => acceptAs(signedIn(claimant), inv.hash), [{ outcome: 'wrong_email', workspace_id: null }], 'unverified')
  t.same(await inviteState(inv.id), OPEN, 'the invitation is still open')
})

t.test('an expired or revoked invitation is spent by nobody', async (t) => {
  // Threat: an old or withdrawn invitation link still lets its invitee in.
  const late = await person()
  const expired = await seedInvite(su, a.workspaceId, a.ownerId, late.email)
  await su.query(`update workspace_invites set expires_at = now() - interval '1 second' where id = $1`, [expired.id])
  await answersUnchanged(t, () => acceptAs(signedIn(late), expired.hash), [{ outcome: 'invalid_token', workspace_id: null }], 'expired')
  const dropped = await person()
  const withdrawn = await seedInvite(su, a.workspaceId, a.ownerId, dropped.email)
  t.equal(await revokeInvite(ownerOf(a), withdrawn.id), true, 'revoked by the owner')
  await answersUnchanged(t, () => acceptAs(signedIn(dropped), withdrawn.hash), [{ outcome: 'invalid_token', workspace_id: null }], 'revoked')
  t.same(await rows(su, 'select 1 from memberships where user_id = any($1)', [[late.id, dropped.id]]), [], 'neither is a member')
})

t.test('the joined role is exactly the invitation\'s', async (t) => {
  // Threat: accepting an invitation grants a role other than the one the inviter was allowed to offer.
  for (const [role, ref, inviter] of [
    ['owner', 'owner', ownerOf(a)], ['admin', 'admin', within(a, admin)], ['agent', 'agent', within(a, admin)], ['Viewer', viewerRole, ownerOf(a)],
  ] as const) {
    const invitee = await person()
    const hash = tokenHash()
    await createInvite(inviter, invitee.email, ref, hash)
    t.same(await acceptAs(signedIn(invitee), hash), [{ outcome: 'ok', workspace_id: a.workspaceId }], `${role}: accepted`)
    t.same(await membershipOf(a.workspaceId, invitee.id), [{ role }], `${role}: joined as ${role}`)
  }
  // An invitation left over for someone who is a member already changes nothing (create_invite
  // refuses such an invitation; this one predates the membership).
  const already = await addMember(a, 'viewer')
  const hash = tokenHash()
  await su.query(
    `insert into workspace_invites (workspace_id, email, role, token_hash, invited_by, expires_at)
     values ($1, $2, 'owner', $3, $4, now() + interval '1 day')`, [a.workspaceId, already.email, hash, a.ownerId])
  t.same(await acceptAs(signedIn(already), hash), [{ outcome: 'ok', workspace_id: a.workspaceId }], 'a member accepts an owner invitation')
  t.same(await membershipOf(a.workspaceId, already.id), [{ role: 'Viewer' }], 'and stays a "Viewer"')
})

t.test('nothing but an accepted invitation or a new workspace makes the runtime\'s user a member', async (t) => {
  // Threat: the runtime login inserts a membership with a role of its choosing, through the table, through app_privileged's insert policy, or by riding on an invitation accepted in the same transaction.
  const invitee = await person()
  const inv = await seedInvite(su, a.workspaceId, a.ownerId, invitee.email)
  const insert = `insert into memberships (workspace_id, user_id, role) values ($1, $2, $3)`
  const forged: Array<[string, (sql: Sql) => Promise<unknown>, PgError]> = [
    ['a direct insert as owner', (sql) => sql.query(insert, [a.workspaceId, invitee.id, 'owner']), permissionDenied('table', 'memberships')],
    ['a direct insert into B', (sql) => sql.query(insert, [b.workspaceId, invitee.id, 'agent']), permissionDenied('table', 'memberships')],
    ['becoming app_privileged', (sql) => sql.query('set role app_privileged'), refusal('42501', 'permission denied to set role "app_privileged"')],
    ['becoming app_privileged for the transaction', (sql) => sql.query('set local role app_privileged'), refusal('42501', 'permission denied to set role "app_privileged"')],
    ['asking the insert policy\'s check', (sql) => sql.query(`select app.membership_is_being_granted($1, $2, 'owner', null, null)`, [a.workspaceId, invitee.id]),
      permissionDenied('function', 'membership_is_being_granted')],
    ['a forged owner row after accepting as member, in the same transaction', async (sql) => {
      t.same(await accept(sql, inv.hash), [{ outcome: 'ok', workspace_id: a.workspaceId }], 'accepted (then rolled back)')
      return sql.query(insert, [a.workspaceId, invitee.id, 'owner'])
    }, permissionDenied('table', 'memberships')],
    ['a role raised after accepting, in the same transaction', async (sql) => {
      t.same(await accept(sql, inv.hash), [{ outcome: 'ok', workspace_id: a.workspaceId }], 'accepted (then rolled back)')
      return sql.query(`update memberships set role = 'owner' where workspace_id = $1 and user_id = $2`, [a.workspaceId, invitee.id])
    }, permissionDenied('table', 'memberships')],
    ['a second workspace joined after accepting, in the same transaction', async (sql) => {
      t.same(await accept(sql, inv.hash), [{ outcome: 'ok', workspace_id: a.workspaceId }], 'accepted (then rolled back)')
      return sql.query(insert, [b.workspaceId, invitee.id, 'agent'])
    }, permissionDenied('table', 'memberships')],
  ]
  for (const [label, op, expected] of forged) {
    await refusedUnchanged(t, () => inRequest(runtime, signedIn(invitee), op), expected, label)
  }
  t.same(await inviteState(inv.id), OPEN, 'the invitation is still open')
  t.same(await rows(su, 'select workspace_id from memberships where user_id = $1', [invitee.id]), [], 'the invitee is a member of nothing')
})

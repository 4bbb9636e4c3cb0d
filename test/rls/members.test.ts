// sql/130 and app.reissue_session, as the runtime login with arbitrary SQL and no HTTP in between:
// the runtime only reads memberships; every change goes through app.change_member_role and
// app.remove_member, which check in the database who may change whom (members:manage, nobody
// grants what they do not hold, the last owner stays); a role change marks the member's sessions;
// a re-issue replaces a session exactly once. Fixtures are inserted as superuser, every request
// is opened the real way (app.begin_request with a session's token hash), and every "nothing
// changed" is checked as superuser.
import t, { type Test } from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  beginRequest,
  inRequest,
  ownerOf,
  permissionDenied,
  pgError,
  plantSettings,
  ROLE_LABEL_SQL,
  rows,
  seedCustomRole,
  seedMember,
  seedMfa,
  seedSession,
  seedTenant,
  seedUser,
  tokenHash,
  type PgError,
  type Request,
  type Sql,
  type Tenant,
  refusal,
  refusedUnchanged as refusedAndUnchanged,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

type Role = 'owner' | 'admin' | 'agent' | 'viewer'

interface Member {
  id: string
  /** The member's live session (its token hash). */
  session: Buffer
}

/** A new user with a live session, made a member of `tenant` with `role` (as superuser; 'viewer': the custom "Viewer" role). */
async function addMember(tenant: Tenant, role: Role): Promise<Member> {
  return seedMember(su, tenant.workspaceId, role)
}

/** `member`, signed in, acting in `tenant`'s workspace. */
const within = (tenant: Tenant, member: Member): Request => ({ session: member.session, workspaceId: tenant.workspaceId })
const ownerMember = (tenant: Tenant): Member => ({ id: tenant.ownerId, session: tenant.session })

const changeRole = (req: Request, userId: string, role: string) =>
  inRequest(runtime, req, (sql) => sql.query('select app.change_member_role($1, $2)', [userId, role]))
const removeMemberOn = (client: Sql, req: Request, userId: string) =>
  inRequest(client, req, (sql) => sql.query('select app.remove_member($1)', [userId]))
const removeMember = (req: Request, userId: string) => removeMemberOn(runtime, req, userId)

const LACKS_MANAGE = refusal('GHFBD', 'Your role lacks the permission members:manage')
/** How a refusal names a role: a built-in name, or a custom role's quoted name. */
const shown = (role: Role) => role === 'viewer' ? '"Viewer"' : role
const cannotChange = (caller: Role, member: Role) => refusal('GHFBD', `Your role (${shown(caller)}) cannot change a member who is ${shown(member)}`)
const cannotGrant = (caller: Role, role: Role) => refusal('GHFBD', `Your role (${shown(caller)}) cannot grant the role ${shown(role)}`)
const noSuchRole = (role: string) => refusal('GHINV', `No such role in this workspace: ${role}`)
const NOT_FOUND = refusal('GHNFD', 'No such member')
const NOT_A_MEMBER = refusal('GHMEM', 'You are not a member of this workspace')
const SIGN_IN = refusal('GHAUT', 'Sign in first')
const LAST_OWNER_DEMOTED = refusal('GHCFL', 'The last owner cannot be demoted; make another member an owner first')
const LAST_OWNER_LEAVES = refusal('GHCFL', 'The last owner cannot leave; make another member an owner first')

/** A member's role as a built-in name or the custom role's name (e.g. 'Viewer'), as superuser. */
const roleIn = async (tenant: Tenant, userId: string) =>
  (await rows<{ role: string }>(su, `select ${ROLE_LABEL_SQL} as role from memberships m where m.workspace_id = $1 and m.user_id = $2`,
    [tenant.workspaceId, userId]))
    .map((r) => r.role)
/** Every membership and every session's re-issue mark, as superuser. */
const everything = async () => ({
  memberships: await rows(su, 'select workspace_id, user_id, role, role_id, created_at from memberships order by workspace_id, user_id'),
  roles: await rows(su, 'select workspace_id, id, name, permissions from workspace_roles order by workspace_id, id'),
  marks: await rows(su, 'select id, reissue_required from sessions order by id'),
})

/** `op` fails with exactly `expected`, and no membership anywhere (nor any session's mark) changed. */
const refusedUnchanged = (t: Test, op: () => Promise<unknown>, expected: PgError, label: string) =>
  refusedAndUnchanged(t, everything, op, expected, label)

const a = await seedTenant(su)
const b = await seedTenant(su)
const colleague = await addMember(a, 'agent')
await seedMfa(su, colleague.id)

// One workspace with one member of each role, for the refusals (which change nothing).
const team = await seedTenant(su, { contacts: 0 })
const owner = ownerMember(team)
const admin = await addMember(team, 'admin')
const member = await addMember(team, 'agent')
const viewer = await addMember(team, 'viewer')
/** The team's custom "Viewer" role (what the former built-in viewer is now), as the API names it: its id. */
const viewerRole = await seedCustomRole(su, team.workspaceId)
/** B's custom "Viewer" role: not a role of the team's workspace. */
const bViewerRole = await seedCustomRole(su, b.workspaceId)

const reissued = async (hash: Buffer) =>
  (await rows<{ id: string | null }>(runtime, 'select app.reissue_session($1, $2) as id', [hash, tokenHash()]))[0]!.id

t.test('app.workspace_members lists the sealed workspace only, and nobody without one', async (t) => {
  // Threat: the member list function, which crosses users, lists another tenant's members or lists members to a request with no workspace.
  const listed = (req: Request) =>
    inRequest(runtime, req, async (sql) => (await rows<{ user_id: string }>(sql, 'select user_id from app.workspace_members()')).map((r) => r.user_id))
  t.same(await listed(ownerOf(a)), [a.ownerId, colleague.id], 'A\'s owner: A\'s members')
  t.same(await listed(within(a, colleague)), [a.ownerId, colleague.id], 'A\'s member: A\'s members')
  t.same(await listed(ownerOf(b)), [b.ownerId], 'B\'s owner: B\'s members')
  t.same(await listed({ session: a.session, workspaceId: b.workspaceId }), [], 'A\'s owner naming B\'s workspace: nobody')
  t.same(await listed({ session: a.session }), [], 'a user with no workspace: nobody')
  t.same(await listed({ workspaceId: a.workspaceId }), [], 'no session: nobody')
  // It shows whether a member uses MFA, never their secret envelope (which only its own user reads).
  const listing = await inRequest(runtime, ownerOf(a), (sql) => rows(sql, 'select * from app.workspace_members()'))
  t.same(listing.map((r) => Object.keys(r)), [a.ownerId, colleague.id].map(() =>
    ['user_id', 'email', 'name', 'role', 'department_id', 'contacts_scope', 'mfa_enabled', 'joined_at']), 'no secret among the columns')
  t.same(listing.map((r) => [r.user_id, r.role, r.mfa_enabled]), [[a.ownerId, 'owner', false], [colleague.id, 'agent', true]], 'the colleague uses MFA')
})

t.test('the runtime cannot write memberships directly, not even in its own workspace', async (t) => {
  // Threat: an injected statement run as the runtime login grants, changes or removes a membership without the database's checks.
  const denied: Array<[string, unknown[]]> = [
    [`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'owner')`, [team.workspaceId, await seedUser(su)]],
    [`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'owner')`, [b.workspaceId, team.ownerId]],
    [`update memberships set role = 'owner', role_id = null where workspace_id = $1 and user_id = $2`, [team.workspaceId, viewer.id]],
    [`update memberships set role = 'custom', role_id = $3 where workspace_id = $1 and user_id = $2`, [team.workspaceId, member.id, viewerRole]],
    [`update memberships set role = 'agent' where workspace_id = $1 and user_id = $2`, [team.workspaceId, team.ownerId]],
    [`update memberships set workspace_id = $1 where user_id = $2`, [b.workspaceId, viewer.id]],
    ['delete from memberships where workspace_id = $1 and user_id = $2', [team.workspaceId, admin.id]],
    ['delete from memberships where workspace_id = $1', [b.workspaceId]],
  ]
  for (const [text, values] of denied) {
    await refusedUnchanged(t, () => inRequest(runtime, ownerOf(team), (sql) => sql.query(text, values)), permissionDenied('table', 'memberships'), text)
  }
  // Nor through the role catalogue the checks read: whoever could write it could grant anything.
  for (const text of [
    `insert into role_permissions (role, permission) values ('agent', 'members:manage')`,
    `update role_permissions set role = 'agent'`,
    'delete from role_permissions',
    'select * from role_permissions',
  ]) {
    t.same(await pgError(inRequest(runtime, ownerOf(team), (sql) => sql.query(text))), permissionDenied('table', 'role_permissions'), text)
  }
  for (const text of [
    `insert into permissions (name, description) values ('everything:manage', 'Anything at all')`,
    `update permissions set name = 'members:manage' where name = 'contacts:read'`,
    'delete from permissions',
    'select * from permissions',
  ]) {
    t.same(await pgError(inRequest(runtime, ownerOf(team), (sql) => sql.query(text))), permissionDenied('table', 'permissions'), text)
  }
  // Nor through a custom role: the runtime reads its workspace's, and changes them only through app.create_role and its kin.
  for (const [text, values] of [
    [`update workspace_roles set permissions = permissions || '{members:manage}' where workspace_id = $1 and id = $2`, [team.workspaceId, viewerRole]],
    [`insert into workspace_roles (workspace_id, name, permissions) values ($1, 'Boss', '{members:manage}')`, [team.workspaceId]],
    ['delete from workspace_roles where workspace_id = $1 and id = $2', [team.workspaceId, viewerRole]],
  ] as Array<[string, unknown[]]>) {
    await refusedUnchanged(t, () => inRequest(runtime, ownerOf(team), (sql) => sql.query(text, values)), permissionDenied('table', 'workspace_roles'), text)
  }
  t.same(
    await rows(su, `select count(*)::int as n from role_permissions where role = 'agent' and permission = 'members:manage'`),
    [{ n: 0 }],
    'an agent still lacks members:manage',
  )
  t.same(
    await rows(su, 'select permissions from workspace_roles where workspace_id = $1 and id = $2', [team.workspaceId, viewerRole]),
    [{ permissions: ['workspace:read', 'members:read', 'contacts:read'] }],
    'the "Viewer" role still lacks members:manage',
  )
})

t.test('the runtime cannot call the helpers behind the member functions', async (t) => {
  // Threat: the runtime calls a helper of the privileged functions directly, skipping the checks that wrap it.
  const calls: Array<[string, string, unknown[]]> = [
    ['lock_for_member_change', 'select * from app.lock_for_member_change($1, true)', [viewer.id]],
    ['role_covers', `select app.role_covers('owner', '{}'::text[], 'owner', '{}'::text[])`, []],
    ['role_permissions_of', `select app.role_permissions_of($1, 'owner', null)`, [team.workspaceId]],
    ['resolve_role', `select * from app.resolve_role('owner')`, []],
    ['caller_role', 'select * from app.caller_role()', []],
    ['role_label', `select app.role_label($1, 'custom', $2)`, [team.workspaceId, viewerRole]],
    ['require_permission', `select app.require_permission('{members:manage}'::text[], 'members:manage')`, []],
    ['check_role_change', `select app.check_role_change('Boss', null, '{members:manage}'::text[])`, []],
    ['is_current_workspace_member', 'select app.is_current_workspace_member($1)', [viewer.id]],
    ['membership_is_being_granted', `select app.membership_is_being_granted($1, $2, 'owner', null, null)`, [team.workspaceId, viewer.id]],
    ['sync_role_permissions', `select app.sync_role_permissions('{}'::jsonb, '{"agent": ["members:manage"]}'::jsonb)`, []],
    ['assert_current_workspace_writable', 'select app.assert_current_workspace_writable()', []],
    ['seal_context', `select app.seal_context('request', $1, null, $2, null, null, null)`, [owner.id, team.workspaceId]],
    ['reseal_context', 'select app.reseal_context($1, null, $2)', [owner.id, team.workspaceId]],
  ]
  for (const [name, text, values] of calls) {
    await refusedUnchanged(t, () => inRequest(runtime, within(team, viewer), (sql) => sql.query(text, values)), permissionDenied('function', name), name)
  }
})

t.test('an admin can neither make, demote nor remove an owner', async (t) => {
  // Threat: an admin escalates to owner (billing:read is the owners' alone), or deposes the owner.
  const asAdmin = within(team, admin)
  await refusedUnchanged(t, () => changeRole(asAdmin, member.id, 'owner'), cannotGrant('admin', 'owner'), 'make a member an owner')
  await refusedUnchanged(t, () => changeRole(asAdmin, admin.id, 'owner'), cannotGrant('admin', 'owner'), 'make themselves an owner')
  await refusedUnchanged(t, () => changeRole(asAdmin, owner.id, 'admin'), cannotChange('admin', 'owner'), 'demote the owner to admin')
  await refusedUnchanged(t, () => changeRole(asAdmin, owner.id, viewerRole), cannotChange('admin', 'owner'), 'demote the owner to "Viewer"')
  await refusedUnchanged(t, () => removeMember(asAdmin, owner.id), cannotChange('admin', 'owner'), 'remove the owner')
  await refusedUnchanged(t, () => changeRole(asAdmin, member.id, 'superuser'), noSuchRole('superuser'), 'grant a role that does not exist')
  await refusedUnchanged(t, () => changeRole(asAdmin, member.id, 'viewer'), noSuchRole('viewer'), 'grant the retired built-in viewer')
  await refusedUnchanged(t, () => changeRole(asAdmin, member.id, bViewerRole), noSuchRole(bViewerRole), 'grant another workspace\'s custom role')
  t.same(await roleIn(team, owner.id), ['owner'], 'the owner is still the owner')
  t.same(await roleIn(team, admin.id), ['admin'], 'the admin is still an admin')
})

t.test('a member without members:manage changes nobody, themselves included', async (t) => {
  // Threat: a member or a viewer escalates themselves, or changes or removes someone else.
  for (const [role, ref, caller] of [['agent', 'agent', member], ['viewer', viewerRole, viewer]] as const) {
    const req = within(team, caller)
    await refusedUnchanged(t, () => changeRole(req, caller.id, 'admin'), LACKS_MANAGE, `a ${role} makes themselves admin`)
    await refusedUnchanged(t, () => changeRole(req, caller.id, 'owner'), LACKS_MANAGE, `a ${role} makes themselves owner`)
    await refusedUnchanged(t, () => changeRole(req, caller.id, ref), LACKS_MANAGE, `a ${role} "changes" themselves to their own role`)
    for (const target of [owner, admin, member, viewer].filter((m) => m !== caller)) {
      await refusedUnchanged(t, () => changeRole(req, target.id, viewerRole), LACKS_MANAGE, `a ${role} changes another member`)
      await refusedUnchanged(t, () => removeMember(req, target.id), LACKS_MANAGE, `a ${role} removes another member`)
    }
  }
  t.same(await roleIn(team, member.id), ['agent'])
  t.same(await roleIn(team, viewer.id), ['Viewer'])
})

t.test('another tenant\'s member is not found', async (t) => {
  // Threat: a caller with members:manage in their own workspace changes or removes a member of another tenant by user id.
  for (const [label, req] of [['the owner', ownerOf(team)], ['an admin', within(team, admin)]] as const) {
    await refusedUnchanged(t, () => changeRole(req, b.ownerId, viewerRole), NOT_FOUND, `${label}: demote B's owner`)
    await refusedUnchanged(t, () => changeRole(req, b.ownerId, bViewerRole), NOT_FOUND, `${label}: demote B's owner to B's own "Viewer"`)
    await refusedUnchanged(t, () => removeMember(req, b.ownerId), NOT_FOUND, `${label}: remove B's owner`)
    await refusedUnchanged(t, () => changeRole(req, colleague.id, 'admin'), NOT_FOUND, `${label}: promote A's member`)
    await refusedUnchanged(t, () => changeRole(req, '00000000-0000-4000-8000-000000000000', viewerRole), NOT_FOUND, `${label}: an unknown user`)
  }
  t.same(await roleIn(b, b.ownerId), ['owner'], 'B\'s owner is still B\'s owner')
  t.same(await roleIn(a, colleague.id), ['agent'], 'A\'s member is still a member')
})

t.test('the last owner can be neither demoted nor removed', async (t) => {
  // Threat: the sole owner leaves or demotes themselves, orphaning the workspace.
  for (const role of ['admin', 'agent', viewerRole]) {
    await refusedUnchanged(t, () => changeRole(ownerOf(team), owner.id, role), LAST_OWNER_DEMOTED, `to ${role}`)
  }
  await refusedUnchanged(t, () => removeMember(ownerOf(team), owner.id), LAST_OWNER_LEAVES, 'leaving')
  t.same(await roleIn(team, owner.id), ['owner'])
})

t.test('without a sealed workspace the member functions refuse', async (t) => {
  // Threat: a request that has no workspace (none named, a workspace the user is not a member of, no session, forged settings) changes memberships anyway.
  const cases: Array<[string, Request, PgError]> = [
    ['signed in, no workspace', { session: owner.session }, NOT_A_MEMBER],
    ['signed in, naming a workspace they are not a member of', { session: owner.session, workspaceId: b.workspaceId }, NOT_A_MEMBER],
    ['naming the workspace, no session', { workspaceId: team.workspaceId }, SIGN_IN],
    ['an unknown session', { session: tokenHash(), workspaceId: team.workspaceId }, SIGN_IN],
    ['nothing at all', {}, SIGN_IN],
  ]
  for (const [label, req, expected] of cases) {
    await refusedUnchanged(t, () => changeRole(req, member.id, 'admin'), expected, `${label}: change a role`)
    await refusedUnchanged(t, () => removeMember(req, member.id), expected, `${label}: remove a member`)
  }
  // The retired custom settings name the owner and the workspace: the database ignores them.
  const forged = (text: string, values: unknown[]) => () => inRequest(runtime, {}, async (sql) => {
    await plantSettings(sql, { 'app.workspace_id': team.workspaceId, 'app.user_id': owner.id })
    return sql.query(text, values)
  })
  await refusedUnchanged(t, forged('select app.change_member_role($1, $2)', [member.id, 'admin']), SIGN_IN, 'forged settings: change a role')
  await refusedUnchanged(t, forged('select app.remove_member($1)', [member.id]), SIGN_IN, 'forged settings: remove a member')
})

t.test('members:manage changes and removes exactly what its role covers', async (t) => {
  // Threat: checks so strict that owners and admins cannot manage their workspace (or a refusal that only looks like one).
  const ws = await seedTenant(su, { contacts: 0 })
  const wsAdmin = await addMember(ws, 'admin')
  const wsMember = await addMember(ws, 'agent')
  const wsViewer = await addMember(ws, 'viewer')
  const leaver = await addMember(ws, 'agent')
  const wsViewerRole = await seedCustomRole(su, ws.workspaceId)
  await changeRole(within(ws, wsAdmin), wsMember.id, wsViewerRole)
  t.same(await roleIn(ws, wsMember.id), ['Viewer'], 'an admin demotes a member to "Viewer"')
  await changeRole(within(ws, wsAdmin), wsViewer.id, 'admin')
  t.same(await roleIn(ws, wsViewer.id), ['admin'], 'an admin makes a "Viewer" an admin (a role it holds)')
  await removeMember(within(ws, wsAdmin), wsViewer.id)
  t.same(await roleIn(ws, wsViewer.id), [], 'an admin removes another admin')
  await removeMember(within(ws, leaver), leaver.id)
  t.same(await roleIn(ws, leaver.id), [], 'a member leaves without members:manage')
  await changeRole(ownerOf(ws), wsAdmin.id, 'owner')
  t.same(await roleIn(ws, wsAdmin.id), ['owner'], 'the owner makes the admin an owner')
  await changeRole(within(ws, wsAdmin), ws.ownerId, 'agent')
  t.same(await roleIn(ws, ws.ownerId), ['agent'], 'with two owners, one demotes the other')
  await refusedUnchanged(t, () => removeMember(within(ws, wsAdmin), wsAdmin.id), LAST_OWNER_LEAVES, 'and is now the last owner')
})

t.test('a member who still owns contacts is not removed', async (t) => {
  // Threat: removing a member leaves contacts owned by someone outside the workspace (deleted ones included).
  const ws = await seedTenant(su, { contacts: 0 })
  const holder = await addMember(ws, 'agent')
  await su.query(
    `insert into contacts (workspace_id, name, owner_id, created_by, deleted_at) values ($1, 'kept', $2, $2, null), ($1, 'binned', $2, $2, now())`,
    [ws.workspaceId, holder.id],
  )
  await refusedUnchanged(t, () => removeMember(ownerOf(ws), holder.id),
    refusal('GHCFL', 'The member still owns 2 contacts (deleted ones included); give them to another member first'), 'removed by the owner')
  await refusedUnchanged(t, () => removeMember(within(ws, holder), holder.id),
    refusal('GHCFL', 'The member still owns 2 contacts (deleted ones included); give them to another member first'), 'leaving')
  t.same(await roleIn(ws, holder.id), ['agent'])
})

t.test('a role change through app.change_member_role marks every live session of the member', async (t) => {
  // Threat: a member keeps using a token issued before their role changed (API.md: a new token on role change).
  const ws = await seedTenant(su, { contacts: 0 })
  const target = await addMember(ws, 'agent')
  const revoked = await seedSession(su, target.id, { revoked: true })
  const other = await seedSession(su, target.id)
  const bystander = await addMember(ws, 'agent')
  const marks = async () => {
    const found = await rows<{ token_hash: Buffer; reissue_required: boolean }>(su,
      'select token_hash, reissue_required from sessions where token_hash = any($1)', [[target.session, other, revoked, ws.session, bystander.session]])
    return [target.session, other, revoked, ws.session, bystander.session].map((h) => found.find((m) => m.token_hash.equals(h))!.reissue_required)
  }
  await changeRole(ownerOf(ws), target.id, 'agent')
  t.same(await marks(), [false, false, false, false, false], 'a "change" to the same role marks nothing')
  await changeRole(ownerOf(ws), target.id, 'admin')
  t.same(await marks(), [true, true, false, false, false], 'both live sessions of the member, not the revoked one, the changer\'s or a bystander\'s')
  t.same(await roleIn(ws, target.id), ['admin'])
})

t.test('a superuser\'s direct role edit marks the member\'s sessions too', async (t) => {
  // Threat: a role change made outside app.change_member_role (a maintenance edit) leaves the member's old tokens unmarked (sql/130: "any role change, however made").
  const ws = await seedTenant(su, { contacts: 0 })
  const target = await addMember(ws, 'agent')
  await su.query(`update memberships set role = 'custom', role_id = $3 where workspace_id = $1 and user_id = $2`,
    [ws.workspaceId, target.id, await seedCustomRole(su, ws.workspaceId)])
  t.same(await roleIn(ws, target.id), ['Viewer'], 'the role changed')
  t.same(await rows(su, 'select reissue_required from sessions where token_hash = $1', [target.session]), [{ reissue_required: true }], 'the member\'s live session is marked')
})

t.test('app.reissue_session replaces a marked session once, keeping its lifetime', async (t) => {
  // Threat: a token from before a role change is re-issued twice, or an unmarked, expired or revoked session gets a fresh one.
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
  // Threat: the old token of a re-issued session keeps working indefinitely, or after its replacement is revoked.
  const user = await seedUser(su)
  const old = await seedSession(su, user)
  await su.query('update sessions set reissue_required = true where token_hash = $1', [old])
  const resolve = (hash: Buffer) => beginRequest(runtime, { session: hash })
  t.match(await resolve(old), { user_id: user, reissue: true }, 'a marked session says so')
  const id = await reissued(old)
  t.match(await resolve(old), { user_id: user, session_id: id, reissue: false }, 'the old token now resolves as the new session')
  await su.query(`update sessions set revoked_at = now() where id = $1`, [id])
  t.equal(await resolve(old), undefined, 'not once the replacement is revoked')
  await su.query(`update sessions set revoked_at = null where id = $1`, [id])
  await su.query(`update sessions set revoked_at = now() - interval '61 seconds' where token_hash = $1`, [old])
  t.equal(await resolve(old), undefined, 'nor after 60 seconds')
})

t.test('of two owners leaving at once, exactly one goes', async (t) => {
  // Threat: two owners each see the other still there and leave concurrently, orphaning the workspace.
  const ws = await seedTenant(su, { contacts: 0 })
  const first = ownerMember(ws)
  const second = await addMember(ws, 'owner')
  const racer = await connect(t, db.appUrl)
  const racerPid = (await rows<{ pid: number }>(racer, 'select pg_backend_pid() as pid'))[0]!.pid

  let racing: Promise<PgError | null>
  await runtime.query('begin')
  try {
    await beginRequest(runtime, within(ws, first))
    await runtime.query('select app.remove_member($1)', [first.id])
    racing = pgError(removeMemberOn(racer, within(ws, second), second.id))
    // Commit only once the second is provably waiting on the first one's locks.
    let blocked = false
    for (let i = 0; i < 10_000 && !blocked; i++) {
      const [w] = await rows<{ n: number }>(su, 'select cardinality(pg_blocking_pids($1)) as n', [racerPid])
      blocked = w!.n > 0
    }
    t.ok(blocked, 'the second waits for the first')
    await runtime.query('commit')
  } catch (err) {
    await runtime.query('rollback')
    throw err
  }
  t.same(await racing, LAST_OWNER_LEAVES, 'the second finds itself the last owner')
  t.same(await roleIn(ws, first.id), [], 'the first left')
  t.same(await roleIn(ws, second.id), ['owner'], 'the second is still the owner')
})

t.test('a workspace keeps an owner, even against a superuser\'s direct edit', async (t) => {
  // Threat: a path that skips the functions' checks (a maintenance edit) orphans a tenant.
  const tenant = await seedTenant(su, { contacts: 0 })
  t.match(await pgError(su.query(`update memberships set role = 'agent' where workspace_id = $1`, [tenant.workspaceId])),
    { code: '23514', constraint: 'memberships_workspace_keeps_an_owner' }, 'demoting the last owner')
  t.match(await pgError(su.query('delete from memberships where workspace_id = $1', [tenant.workspaceId])),
    { code: '23514', constraint: 'memberships_workspace_keeps_an_owner' }, 'removing the last owner')
  t.same(await roleIn(tenant, tenant.ownerId), ['owner'])

  // With a second owner one may go; deleting the workspace takes its owners with it.
  const second = await seedUser(su)
  await su.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, 'owner')`, [tenant.workspaceId, second])
  await su.query(`update memberships set role = 'agent' where workspace_id = $1 and user_id = $2`, [tenant.workspaceId, tenant.ownerId])
  t.equal((await rows(su, `select 1 from memberships where workspace_id = $1 and role = 'owner'`, [tenant.workspaceId])).length, 1)
  await su.query('delete from workspaces where id = $1', [tenant.workspaceId])
  t.equal((await rows(su, 'select 1 from memberships where workspace_id = $1', [tenant.workspaceId])).length, 0)
})


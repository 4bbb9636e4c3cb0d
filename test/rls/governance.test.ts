// sql/125 (custom roles) and sql/127 (departments), and app.place_member (sql/130), as the
// runtime login with arbitrary SQL and no HTTP in between: the runtime only reads roles and
// departments; the definer functions check roles:manage / departments:manage / members:manage
// and "nobody grants what they do not hold" in the database; the tree has no cycle and no parent
// in another workspace, even when two moves race; nothing in use is deleted. Fixtures are
// inserted as superuser, every request is opened the real way, every "nothing changed" checked
// as superuser.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  inRequest,
  ownerOf,
  permissionDenied,
  pgError,
  refusal,
  refusedUnchanged,
  rows,
  seedCustomRole,
  seedDepartment,
  seedMember,
  seedTenant,
  type Request,
  type Sql,
  type Tenant,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)
const second = await connect(t, db.appUrl)

const member = (tenant: Tenant, role: string) => seedMember(su, tenant.workspaceId, role)

const call = (req: Request, text: string, values: unknown[] = [], client: Sql = runtime) =>
  inRequest(client, req, (sql) => sql.query(text, values))
const rolesOf = (tenant: Tenant) =>
  rows(su, 'select name, permissions from workspace_roles where workspace_id = $1 order by name', [tenant.workspaceId])
const departmentsOf = (tenant: Tenant) =>
  rows(su, 'select id, name, parent_id from departments where workspace_id = $1 order by created_at, id', [tenant.workspaceId])
const placementOf = (tenant: Tenant, userId: string) =>
  rows(su, 'select role, role_id, department_id, contacts_scope from memberships where workspace_id = $1 and user_id = $2', [tenant.workspaceId, userId])

const department = (tenant: Tenant, name: string, parentId: string | null = null) => seedDepartment(su, tenant.workspaceId, name, parentId)

const a = await seedTenant(su, { contacts: 0 })
const b = await seedTenant(su, { contacts: 0 })
const admin = await member(a, 'admin')
const agent = await member(a, 'agent')

t.test('the runtime writes no role and no department itself, in its own workspace or another', async (t) => {
  await seedCustomRole(su, b.workspaceId, 'B role')
  const bDept = await department(b, 'B sales')
  for (const [table, text, values] of [
    ['workspace_roles', `insert into workspace_roles (workspace_id, name, permissions) values ($1, 'Mine', '{billing:read}')`, [a.workspaceId]],
    ['workspace_roles', `update workspace_roles set permissions = '{billing:read}'`, []],
    ['workspace_roles', 'delete from workspace_roles', []],
    ['departments', `insert into departments (workspace_id, name) values ($1, 'Mine')`, [a.workspaceId]],
    ['departments', 'update departments set parent_id = null', []],
    ['departments', 'delete from departments where id = $1', [bDept]],
    ['permissions', `insert into permissions (name, description) values ('god:mode', 'x')`, []],
    ['role_permissions', `insert into role_permissions (role, permission) values ('agent', 'billing:read')`, []],
  ] as const) {
    t.same(await pgError(call(ownerOf(a), text, [...values])), permissionDenied('table', table), text)
  }
  t.same(await rolesOf(b), [{ name: 'B role', permissions: ['workspace:read', 'members:read', 'contacts:read'] }])
  t.same((await departmentsOf(b)).map((d) => d.name), ['B sales'])
  t.same(await rows(runtime, 'select * from workspace_roles'), [], 'without a context it reads none')
})

t.test('custom roles: roles:manage, the catalogue, and nobody grants what they lack, checked by the database', async (t) => {
  const create = (req: Request, name: string, perms: string[]) => call(req, 'select id from app.create_role($1, $2)', [name, perms])
  await refusedUnchanged(t, () => rolesOf(a), () => create(agent, 'Mine', []), refusal('GHFBD', 'Your role lacks the permission roles:manage'), 'an agent')
  await refusedUnchanged(t, () => rolesOf(a), () => create(admin, 'Treasurer', ['billing:read']),
    refusal('GHFBD', 'Your role cannot grant the permission billing:read, which it lacks'), 'an admin grants billing:read')
  await refusedUnchanged(t, () => rolesOf(a), () => create(ownerOf(a), 'Odd', ['contacts:read', 'contacts:fly']),
    refusal('GHINV', 'Unknown permission: contacts:fly'), 'an unknown permission')
  await refusedUnchanged(t, () => rolesOf(a), () => create(ownerOf(a), ' Owner ', []), refusal('GHCFL', '"Owner" is a built-in role\'s name'), 'a built-in name')

  const [treasurer] = (await create(ownerOf(a), 'Treasurer', ['workspace:read', 'billing:read'])).rows as { id: string }[]
  t.ok(treasurer, 'an owner creates it')
  t.same(await pgError(create(ownerOf(a), 'TREASURER', [])), { code: '23505', message: 'duplicate key value violates unique constraint "workspace_roles_name_is_unique"', constraint: 'workspace_roles_name_is_unique' })
  await refusedUnchanged(t, () => rolesOf(a), () => call(admin, 'select app.update_role($1, $2, null)', [treasurer!.id, 'Renamed']),
    refusal('GHFBD', 'Your role cannot grant the permission billing:read, which it lacks'), 'an admin edits a role above them')
  await refusedUnchanged(t, () => rolesOf(a), () => call(admin, 'select app.delete_role($1)', [treasurer!.id]),
    refusal('GHFBD', 'Your role cannot grant the permission billing:read, which it lacks'), 'an admin deletes a role above them')
  await refusedUnchanged(t, () => placementOf(a, agent.id), () => call(admin, 'select app.change_member_role($1, $2)', [agent.id, treasurer!.id]),
    refusal('GHFBD', 'Your role (admin) cannot grant the role "Treasurer"'), 'an admin assigns it')

  // Another workspace's role: B's owner cannot touch A's, nor give it to B's members.
  t.same((await call(ownerOf(b), 'select * from app.update_role($1, $2, null)', [treasurer!.id, 'Stolen'])).rows, [], "B's owner finds no such role")
  t.same((await call(ownerOf(b), 'select app.delete_role($1) as deleted', [treasurer!.id])).rows, [{ deleted: false }])
  const bMember = await member(b, 'agent')
  await refusedUnchanged(t, () => placementOf(b, bMember.id), () => call(ownerOf(b), 'select app.change_member_role($1, $2)', [bMember.id, treasurer!.id]),
    refusal('GHINV', `No such role in this workspace: ${treasurer!.id}`), "B's owner assigns A's role")
  await refusedUnchanged(t, () => rows(su, 'select count(*)::int as n from workspace_invites'),
    () => call(ownerOf(b), `select id from app.create_invite('x@rls.test', $1, $2, now() + interval '1 day')`, [treasurer!.id, Buffer.alloc(32, 7)]),
    refusal('GHINV', `No such role in this workspace: ${treasurer!.id}`), "B's owner offers A's role")

  // Forged membership rows: the database refuses a custom role of another workspace or no role id.
  t.same(await pgError(su.query(`update memberships set role = 'custom', role_id = $1 where workspace_id = $2 and user_id = $3`,
    [treasurer!.id, b.workspaceId, bMember.id])), {
    code: '23503',
    message: 'insert or update on table "memberships" violates foreign key constraint "memberships_role_in_same_workspace"',
    constraint: 'memberships_role_in_same_workspace',
  }, "even the superuser cannot give B's member A's role")
  t.same(await pgError(su.query(`update memberships set role = 'custom' where workspace_id = $1 and user_id = $2`, [b.workspaceId, bMember.id])),
    { code: '23514', message: 'new row for relation "memberships" violates check constraint "memberships_role_is_known"', constraint: 'memberships_role_is_known' })
})

t.test('departments: a tree in one workspace, checked by the database, even when two moves race', async (t) => {
  const sales = (await call(ownerOf(a), 'select id from app.create_department($1, null)', ['Sales'])).rows[0]!.id as string
  const east = (await call(admin, 'select id from app.create_department($1, $2)', ['East', sales])).rows[0]!.id as string
  const city = (await call(admin, 'select id from app.create_department($1, $2)', ['City', east])).rows[0]!.id as string
  const bDept = await department(b, 'B only')

  await refusedUnchanged(t, () => departmentsOf(a), () => call(agent, 'select app.create_department($1, null)', ['Mine']),
    refusal('GHFBD', 'Your role lacks the permission departments:manage'), 'an agent')
  const cycle = { code: '23514', message: 'a department cannot be moved under itself or one of its own sub-departments', constraint: 'departments_tree_has_no_cycle' }
  await refusedUnchanged(t, () => departmentsOf(a), () => call(admin, 'select app.update_department($1, null, true, $2)', [sales, city]), cycle, 'under its grandchild')
  await refusedUnchanged(t, () => departmentsOf(a), () => call(admin, 'select app.update_department($1, null, true, $1)', [east]), cycle, 'under itself')
  const crossTenant = {
    code: '23503',
    message: 'insert or update on table "departments" violates foreign key constraint "departments_parent_in_same_workspace"',
    constraint: 'departments_parent_in_same_workspace',
  }
  await refusedUnchanged(t, () => departmentsOf(a), () => call(admin, 'select app.update_department($1, null, true, $2)', [east, bDept]), crossTenant, "under B's department")
  await refusedUnchanged(t, () => departmentsOf(a), () => call(admin, 'select app.create_department($1, $2)', ['Spy', bDept]), crossTenant, "created under B's department")
  t.same((await call(ownerOf(b), 'select * from app.update_department($1, $2, false, null)', [sales, 'Taken'])).rows, [], "B's owner renames none of A's")
  t.same((await call(ownerOf(b), 'select app.delete_department($1) as deleted', [sales])).rows, [{ deleted: false }])

  // Two moves that each look fine alone but together close a loop: the per-workspace lock makes
  // the second see the first. North and South are siblings; one goes under the other at once.
  const north = (await call(admin, 'select id from app.create_department($1, null)', ['North'])).rows[0]!.id as string
  const south = (await call(admin, 'select id from app.create_department($1, null)', ['South'])).rows[0]!.id as string
  await runtime.query('begin')
  await runtime.query('select * from app.begin_request($1, $2)', [admin.session, a.workspaceId])
  await runtime.query('select app.update_department($1, null, true, $2)', [north, south])
  const racing = pgError(call(ownerOf(a), 'select app.update_department($1, null, true, $2)', [south, north], second))
  await new Promise((resolve) => setTimeout(resolve, 100)) // let the second move reach the lock
  await runtime.query('commit')
  t.same(await racing, cycle, 'the second move is refused once the first commits')
  t.same((await departmentsOf(a)).filter((d) => d.id === north || d.id === south).map((d) => [d.name, d.parent_id]),
    [['North', south], ['South', null]])

  // In use: children, members, contacts.
  const inUse = (constraint: string, table: string) => ({
    code: '23503',
    message: `update or delete on table "departments" violates foreign key constraint "${constraint}" on table "${table}"`,
    constraint,
  })
  await refusedUnchanged(t, () => departmentsOf(a), () => call(admin, 'select app.delete_department($1)', [east]),
    inUse('departments_parent_in_same_workspace', 'departments'), 'a department with a sub-department')
  await call(admin, 'select app.place_member($1, true, $2, false, null)', [agent.id, city])
  await refusedUnchanged(t, () => departmentsOf(a), () => call(admin, 'select app.delete_department($1)', [city]),
    inUse('memberships_department_in_same_workspace', 'memberships'), 'a department with a member')
  await call(admin, 'select app.place_member($1, true, null, false, null)', [agent.id])
  await su.query(`insert into contacts (workspace_id, name, department_id) values ($1, 'In city', $2)`, [a.workspaceId, city])
  await refusedUnchanged(t, () => departmentsOf(a), () => call(admin, 'select app.delete_department($1)', [city]),
    inUse('contacts_department_in_same_workspace', 'contacts'), 'a department with a contact')
  await refusedUnchanged(t, () => departmentsOf(a), () => call(admin, 'select app.delete_department($1)', [south]),
    inUse('departments_parent_in_same_workspace', 'departments'), 'the department the race put a child under')
  await su.query('delete from contacts where workspace_id = $1 and department_id = $2', [a.workspaceId, city])
  t.same((await call(admin, 'select app.delete_department($1) as deleted', [city])).rows, [{ deleted: true }], 'emptied, it goes')
})

t.test('placing members: members:manage, a department of this workspace, no scope wider than the placer\'s own', async (t) => {
  const tenant = await seedTenant(su, { contacts: 0 })
  const boss = await member(tenant, 'admin')
  const manager = await member(tenant, 'manager')
  const worker = await member(tenant, 'agent')
  const dept = await department(tenant, 'Support')
  const place = (req: Request, userId: string, dept: string | null, scope: string | null) =>
    call(req, 'select app.place_member($1, $2, $3, $4, $5)', [userId, dept !== undefined, dept, scope !== null, scope])

  await refusedUnchanged(t, () => placementOf(tenant, worker.id), () => place(worker, worker.id, dept, 'all'),
    refusal('GHFBD', 'Your role lacks the permission members:manage'), 'an agent widens their own scope')
  const hr = await seedCustomRole(su, tenant.workspaceId, 'HR',
    ['workspace:read', 'members:read', 'members:manage', 'contacts:read', 'contacts:create', 'contacts:update', 'contacts:delete'])
  const recruiter = await member(tenant, 'agent')
  await su.query(`update memberships set role = 'custom', role_id = $1 where workspace_id = $2 and user_id = $3`, [hr, tenant.workspaceId, recruiter.id])
  await refusedUnchanged(t, () => placementOf(tenant, worker.id), () => place(recruiter, worker.id, null, 'all'),
    refusal('GHFBD', 'You see own contacts, so you cannot let anyone see all'), 'a placer who sees their own contacts gives "all"')
  await refusedUnchanged(t, () => placementOf(tenant, worker.id), () => place(boss, worker.id, b.contactIds[0] ?? '00000000-0000-4000-8000-000000000000', null),
    { code: '23503', message: 'insert or update on table "memberships" violates foreign key constraint "memberships_department_in_same_workspace"', constraint: 'memberships_department_in_same_workspace' },
    'a department that is not this workspace\'s')
  await refusedUnchanged(t, () => placementOf(tenant, manager.id), () => place(boss, manager.id, null, 'everything'),
    refusal('GHINV', 'scopes.contacts is all, department or own'), 'an unknown scope')

  await place(boss, manager.id, dept, 'department')
  t.same(await placementOf(tenant, manager.id), [{ role: 'manager', role_id: null, department_id: dept, contacts_scope: 'department' }])
  await place(boss, worker.id, dept, 'own')
  t.same(await placementOf(tenant, worker.id), [{ role: 'agent', role_id: null, department_id: dept, contacts_scope: 'own' }])
  await refusedUnchanged(t, () => placementOf(tenant, worker.id), () => call(ownerOf(a), 'select app.place_member($1, false, null, true, $2)', [worker.id, 'all']),
    refusal('GHNFD', 'No such member'), "another workspace's owner")
})

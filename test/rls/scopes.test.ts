// Contact visibility scopes and the _own permissions (sql/150, sql/050's audit log policy), as the
// runtime login with arbitrary SQL and no HTTP in between: whatever a statement asks, a member
// reads, changes and deletes only the contacts their sealed scope covers, reads the history of
// those only (the whole log needs audit:read), and cannot widen what was sealed for the request
// — not by writing the context, not by setting anything.
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  inRequest,
  ownerOf,
  permissionDenied,
  pgError,
  plantSettings,
  refusal,
  rows,
  seedCustomRole,
  seedDepartment,
  seedMember,
  seedTenant,
  type Request,
  type Tenant,
} from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

const tenant: Tenant = await seedTenant(su, { contacts: 0 })
const member = (role: string, contactsScope: string | null = null, departmentId: string | null = null) =>
  seedMember(su, tenant.workspaceId, role, { contactsScope, departmentId })
const department = (name: string, parentId: string | null = null) => seedDepartment(su, tenant.workspaceId, name, parentId)
async function contact(name: string, ownerId: string | null, departmentId: string | null = null): Promise<string> {
  const [row] = await rows<{ id: string }>(su, `insert into contacts (workspace_id, name, owner_id, department_id) values ($1, $2, $3, $4) returning id`,
    [tenant.workspaceId, name, ownerId, departmentId])
  return row!.id
}
const names = (req: Request, where = 'true') =>
  inRequest(runtime, req, async (sql) => (await sql.query<{ name: string }>(`select name from contacts where ${where} order by name`)).rows.map((r) => r.name))
const stored = () => rows(su, 'select name, owner_id, department_id, deleted_at is not null as deleted from contacts where workspace_id = $1 order by name', [tenant.workspaceId])

const east = await department('East')
const city = await department('City', east)
const west = await department('West')
const agent = await member('agent')
const colleague = await member('agent')
const manager = await member('manager', null, east)
const viewer = await member('viewer', 'all')
await contact('Agent own', agent.id)
await contact('Colleague own', colleague.id)
await contact('City lead', colleague.id, city)
await contact('East lead', null, east)
const westLead = await contact('West lead', tenant.ownerId, west)
await contact('Nobody', null)
// Each change goes through the capture, so every contact has a history row.
await inRequest(runtime, ownerOf(tenant), (sql) => sql.query(`update contacts set phone = '1' where workspace_id = $1`, [tenant.workspaceId]))

t.test('every statement sees the scope: an agent their own, a manager their tree and their own, all for all', async (t) => {
  t.same(await names(ownerOf(tenant)), ['Agent own', 'City lead', 'Colleague own', 'East lead', 'Nobody', 'West lead'])
  t.same(await names(agent), ['Agent own'])
  t.same(await names(agent, 'owner_id is distinct from owner_id or true'), ['Agent own'], 'a WHERE that asks for everything')
  t.same(await names(manager), ['City lead', 'East lead'])
  t.same(await names(viewer), ['Agent own', 'City lead', 'Colleague own', 'East lead', 'Nobody', 'West lead'], 'a custom role given "all"')
  t.same(await inRequest(runtime, agent, async (sql) => (await sql.query('select count(*)::int as n from contacts')).rows), [{ n: 1 }])
  t.same(await inRequest(runtime, manager, async (sql) =>
    (await sql.query('select count(*)::int as n from contacts c join departments d on d.id = c.department_id')).rows), [{ n: 2 }], 'through a join too')
})

t.test('writes outside the scope touch nothing; writes that would leave it are refused', async (t) => {
  const before = await stored()
  for (const text of [
    `update contacts set name = 'Taken' where workspace_id = $1 and name <> 'Agent own'`,
    `update contacts set deleted_at = now() where workspace_id = $1 and name <> 'Agent own'`,
    `delete from contacts where workspace_id = $1 and name <> 'Agent own'`,
  ]) {
    const res = await inRequest(runtime, agent, (sql) => sql.query(text, [tenant.workspaceId]))
    t.equal(res.rowCount, 0, `${text}: no row`)
  }
  t.same(await stored(), before, 'nothing changed')
  const leave = { code: '42501', message: 'new row violates row-level security policy "contacts are changed within the member\'s scope" for table "contacts"' }
  t.same(await pgError(inRequest(runtime, agent, (sql) => sql.query(`update contacts set owner_id = $1 where name = 'Agent own'`, [colleague.id]))),
    leave, 'an agent gives their contact away')
  t.same(await pgError(inRequest(runtime, manager, (sql) => sql.query(`update contacts set department_id = $1 where name = 'City lead'`, [west]))),
    leave, 'a manager moves one out of their tree')
  t.same(await pgError(inRequest(runtime, agent, (sql) =>
    sql.query(`insert into contacts (workspace_id, name, owner_id) values ($1, 'Planted', $2)`, [tenant.workspaceId, colleague.id]))),
  { code: '42501', message: 'new row violates row-level security policy "contacts are added within the member\'s scope" for table "contacts"' },
  'an agent creates one for someone else')
  t.same(await pgError(inRequest(runtime, viewer, (sql) =>
    sql.query(`insert into contacts (workspace_id, name) values ($1, 'By viewer')`, [tenant.workspaceId]))),
  { code: '42501', message: 'new row violates row-level security policy "contacts are added within the member\'s scope" for table "contacts"' },
  'a role without contacts:create')
  t.same(await pgError(inRequest(runtime, viewer, (sql) => sql.query(`update contacts set name = 'x' where id = $1`, [westLead]))),
    refusal('GHFBD', 'Your role lacks the permission contacts:update'), 'a role without contacts:update sees the row, and is refused')
  t.same(await stored(), before, 'nothing changed')
})

t.test('the _own permissions are checked on the record, as it was', async (t) => {
  const rep = await seedCustomRole(su, tenant.workspaceId, 'Rep', ['contacts:read', 'contacts:update_own', 'contacts:delete_own'])
  const seller = await member('agent', 'all')
  await su.query(`update memberships set role = 'custom', role_id = $1 where workspace_id = $2 and user_id = $3`, [rep, tenant.workspaceId, seller.id])
  const sellers = await contact('Seller own', seller.id)
  const before = await stored()
  t.same(await pgError(inRequest(runtime, seller, (sql) => sql.query(`update contacts set name = 'x' where id = $1`, [westLead]))),
    refusal('GHFBD', 'Your role lacks the permission contacts:update (this contact is not yours, or would not stay yours)'))
  t.same(await pgError(inRequest(runtime, seller, (sql) => sql.query('update contacts set owner_id = $1 where id = $2', [colleague.id, sellers]))),
    refusal('GHFBD', 'Your role lacks the permission contacts:update (this contact is not yours, or would not stay yours)'))
  t.same(await pgError(inRequest(runtime, seller, (sql) => sql.query('update contacts set deleted_at = now() where id = $1', [westLead]))),
    refusal('GHFBD', 'Your role lacks the permission contacts:delete (this contact is not yours)'))
  t.same(await pgError(inRequest(runtime, seller, (sql) => sql.query('delete from contacts where id = $1', [sellers]))),
    null, 'a hard delete needs contacts:delete: the row is simply not deletable (no error, no row)')
  t.same(await stored(), before, 'nothing changed')
  await inRequest(runtime, seller, (sql) => sql.query(`update contacts set name = 'Seller own, edited' where id = $1`, [sellers]))
  t.same((await stored()).filter((r) => r.owner_id === seller.id).map((r) => r.name), ['Seller own, edited'])
})

t.test('the audit log: the history of contacts in scope only, the whole log with audit:read', async (t) => {
  const entities = (req: Request) => inRequest(runtime, req, async (sql) =>
    (await sql.query<{ entity_type: string; n: number }>('select entity_type, count(*)::int as n from audit_log group by entity_type order by entity_type')).rows)
  const agentSees = await entities(agent)
  t.same(agentSees.map((r) => r.entity_type), ['contact'], 'an agent reads contact history only')
  t.equal(agentSees[0]!.n, 2, 'of the one contact they own (its creation and its change)')
  t.ok((await entities(ownerOf(tenant))).some((r) => r.entity_type === 'membership'), 'the owner reads the whole log')
})

t.test('what was sealed cannot be widened: not by writing the context, not by setting anything', async (t) => {
  t.same(await pgError(inRequest(runtime, agent, (sql) => sql.query(`update request_contexts set contacts_scope = 'all', permissions = '{audit:read}'`))),
    permissionDenied('table', 'request_contexts'))
  await plantSettings(runtime, { 'app.workspace_id': tenant.workspaceId, 'app.user_id': tenant.ownerId }, true)
  t.same(await names(agent), ['Agent own'], 'planted settings change nothing')
  t.same(await pgError(inRequest(runtime, agent, (sql) => sql.query(`select app.seal_context('request', $1, null, $2, null, null, null, '{contacts:read}', 'all', null)`,
    [agent.id, tenant.workspaceId]))), permissionDenied('function', 'seal_context'))
  await runtime.query('reset all')
})

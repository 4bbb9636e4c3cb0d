// Upgrading a database that has data, not a fresh one: migrations/0009_governance.sql renames the
// former built-in roles of existing rows. "member" becomes the built-in "agent" and "viewer" a
// custom role named "Viewer" in each workspace that uses it (a membership or an invitation), both
// seeing every contact (contacts_scope 'all'), so nobody loses or gains access. It runs as the
// schema owner, who is no superuser, on tables that force row-level security and carry the change
// capture and the role-change trigger: it switches both off around its updates and must switch
// them back on.
//
// Each case builds a scratch database at migration 0008 holding users, workspaces, memberships
// and invitations with the former roles, then runs the real migrate() (0009, sql/, the
// catalogue). The faithful case also applies the former sql/ and role catalogue (read from git: the
// parent of the commit that added 0009), as a database of the previous release has them; without
// the history (a shallow clone) it fails, saying so. The bare case has the 0008 tables only.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import pg from 'pg'
import { drizzle } from 'drizzle-orm/node-postgres'
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator'
import { makeTempDir, withDatabase } from '../../src/db/embedded.js'
import { MIGRATIONS_DIR, migrate, roleFromUrl } from '../../src/db/migrate.js'
import { ROOT } from '../../src/paths.js'
import { createTestDatabase } from '../helpers/db.js'

const VIEWER_PERMISSIONS = ['contacts:read', 'members:read', 'workspace:read']
const LAST_BEFORE = 8 // migrations/0008_security_events.sql
/** How many migrations a database up to date has recorded. */
const journalEntries = (JSON.parse(await readFile(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length

// The built-in roles of the previous release (its src/rbac/permissions.ts), which its migrate()
// wrote with app.sync_role_permissions(jsonb).
const FORMER_CATALOGUE_ALL = ['workspace:read', 'contacts:read', 'contacts:create', 'contacts:update', 'contacts:delete',
  'contacts:restore', 'audit:read', 'members:read', 'members:manage', 'billing:read', 'security:read']
const FORMER_ROLES = {
  owner: FORMER_CATALOGUE_ALL,
  admin: FORMER_CATALOGUE_ALL.filter((p) => p !== 'billing:read' && p !== 'security:read'),
  member: ['workspace:read', 'members:read', 'contacts:read', 'contacts:create', 'contacts:update', 'contacts:delete'],
  viewer: ['workspace:read', 'members:read', 'contacts:read'],
}

function env(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts PostgreSQL`)
  return value
}

const superUrl = env('GATEHOUSE_TEST_SUPER_URL')
const ownerLogin = roleFromUrl(env('GATEHOUSE_TEST_OWNER_URL'))
const runtimeLogin = roleFromUrl(env('GATEHOUSE_TEST_APP_URL'))

const run = promisify(execFile)
async function git(...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })
  return stdout
}

/** The previous release's sql/ files (name, text), or why they cannot be read. */
async function formerSqlFiles(): Promise<{ files: { name: string; text: string }[] } | { missing: string }> {
  try {
    const added = (await git('log', '-1', '--diff-filter=A', '--format=%H', '--', 'migrations/0009_governance.sql')).trim()
    if (!added) return { missing: 'no commit adds migrations/0009_governance.sql in this checkout' }
    const rev = `${added}^`
    const names = (await git('ls-tree', '--name-only', rev, 'sql/')).split('\n').filter((f) => f.endsWith('.sql')).sort()
    if (names.length === 0) return { missing: `no sql/ at ${rev}` }
    const files = []
    for (const name of names) files.push({ name, text: await git('show', `${rev}:${name}`) })
    return { files }
  } catch (err) {
    return { missing: `git history unavailable: ${(err as Error).message.split('\n')[0]}` }
  }
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

interface Teardown {
  teardown(fn: () => unknown): void
}

/** An empty database owned by the (non-superuser) schema owner, dropped when the test ends. */
async function scratchDatabase(t: Teardown): Promise<{ ownerUrl: string; superUrl: string }> {
  const name = `gh_upgrade_${randomBytes(6).toString('hex')}`
  await withClient(superUrl, (c) => c.query(`create database ${name} owner ${c.escapeIdentifier(ownerLogin)}`))
  t.teardown(() => withClient(superUrl, (c) => c.query(`drop database if exists ${name} with (force)`)))
  return { ownerUrl: withDatabase(env('GATEHOUSE_TEST_OWNER_URL'), name), superUrl: withDatabase(superUrl, name) }
}

/** migrations/ 0000–0008 and a journal that ends there, in a temporary folder. */
async function migrationsUpTo0008(t: Teardown): Promise<string> {
  const dir = await makeTempDir('gh-upgrade-')
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(path.join(dir, 'meta'))
  const journal = JSON.parse(await readFile(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
    entries: { idx: number; tag: string }[]
  }
  journal.entries = journal.entries.filter((e) => e.idx <= LAST_BEFORE)
  if (journal.entries.length !== LAST_BEFORE + 1) throw new Error('the journal lacks one of 0000–0008')
  await writeFile(path.join(dir, 'meta', '_journal.json'), JSON.stringify(journal, null, 2))
  for (const e of journal.entries) await copyFile(path.join(MIGRATIONS_DIR, `${e.tag}.sql`), path.join(dir, `${e.tag}.sql`))
  return dir
}

interface Seeded {
  users: Record<string, string>
  workspaces: { withViewers: string; withoutViewers: string; viewerInviteOnly: string }
  invites: Record<string, string>
}

/**
 * Rows of the previous release, written as the owner while nothing secures the tables yet:
 * - withViewers: owner, admin, member, two viewers; open invitations as member and as viewer,
 *   and an accepted one as viewer;
 * - withoutViewers: owner, admin, member; an open invitation as member (no Viewer role here);
 * - viewerInviteOnly: owner only, and an open invitation as viewer.
 * The members and viewers hold live sessions, which a role change would mark for re-issue.
 */
async function seed(owner: pg.Client): Promise<Seeded> {
  const users: Record<string, string> = {}
  const user = async (key: string) => {
    const { rows } = await owner.query<{ id: string }>(
      `insert into users (email, name, password_hash, email_verified_at) values ($1, $2, 'not-a-real-hash', now()) returning id`,
      [`${key.toLowerCase()}-${randomBytes(4).toString('hex')}@upgrade.test`, key],
    )
    users[key] = rows[0]!.id
    return rows[0]!.id
  }
  const workspace = async (ownerKey: string) => {
    const ownerId = await user(ownerKey)
    const { rows } = await owner.query<{ id: string }>(
      `insert into workspaces (name, owner_id, status, trial_ends_at) values ($1, $2, 'active', now() + interval '14 days') returning id`,
      [`ws ${ownerKey}`, ownerId],
    )
    await member(rows[0]!.id, ownerKey, 'owner')
    return rows[0]!.id
  }
  const member = async (ws: string, key: string, role: string) => {
    const id = users[key] ?? (await user(key))
    await owner.query(`insert into memberships (workspace_id, user_id, role) values ($1, $2, $3)`, [ws, id, role])
  }
  const invites: Record<string, string> = {}
  const invite = async (ws: string, key: string, role: string, by: string, accepted = false) => {
    const { rows } = await owner.query<{ id: string }>(
      `insert into workspace_invites (workspace_id, email, role, token_hash, invited_by, expires_at, accepted_at, accepted_by)
       values ($1, $2, $3, $4, $5, now() + interval '7 days', case when $6 then now() end, case when $6 then $7::uuid end)
       returning id`,
      [ws, `${key.toLowerCase()}@invitee.test`, role, randomBytes(32), users[by], accepted, accepted ? users[key] : null],
    )
    invites[key] = rows[0]!.id
  }

  const withViewers = await workspace('OwnerA')
  await member(withViewers, 'AdminA', 'admin')
  await member(withViewers, 'MemberA', 'member')
  await member(withViewers, 'ViewerA1', 'viewer')
  await member(withViewers, 'ViewerA2', 'viewer')
  await invite(withViewers, 'InvitedMemberA', 'member', 'OwnerA')
  await invite(withViewers, 'InvitedViewerA', 'viewer', 'AdminA')
  await invite(withViewers, 'ViewerA2', 'viewer', 'OwnerA', true)

  const withoutViewers = await workspace('OwnerB')
  await member(withoutViewers, 'AdminB', 'admin')
  await member(withoutViewers, 'MemberB', 'member')
  await member(withoutViewers, 'MemberA', 'member') // a member of two workspaces
  await invite(withoutViewers, 'InvitedMemberB', 'member', 'OwnerB')

  const viewerInviteOnly = await workspace('OwnerC')
  await invite(viewerInviteOnly, 'InvitedViewerC', 'viewer', 'OwnerC')

  for (const key of ['MemberA', 'MemberB', 'ViewerA1', 'ViewerA2']) {
    await owner.query(
      `insert into sessions (user_id, token_hash, expires_at, idle_timeout_seconds) values ($1, $2, now() + interval '1 day', 3600)`,
      [users[key], randomBytes(32)],
    )
  }
  return { users, workspaces: { withViewers, withoutViewers, viewerInviteOnly }, invites }
}

type Row = Record<string, unknown>

async function dataState(c: pg.Client): Promise<{ memberships: Row[]; invites: Row[]; roles: Row[] }> {
  const memberships = await c.query(
    `select workspace_id, user_id, role, role_id, department_id, contacts_scope, created_at from memberships order by workspace_id, user_id`)
  const invites = await c.query(
    `select workspace_id, id, email, role, role_id, contacts_scope, accepted_at, accepted_by, revoked_at from workspace_invites order by workspace_id, id`)
  const roles = await c.query(`select workspace_id, id, name, permissions, created_at, updated_at from workspace_roles order by workspace_id, id`)
  return { memberships: memberships.rows, invites: invites.rows, roles: roles.rows }
}

/**
 * What secures the schema, read from the catalogue in a form that does not depend on the order
 * things were created in: an upgraded database must end up exactly like a fresh one.
 */
async function schemaState(c: pg.Client): Promise<Record<string, Row[]>> {
  const q = async (sql: string) => (await c.query(sql)).rows
  return {
    tables: await q(`
      select c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) as owner,
             array(select a::text from unnest(c.relacl) a order by 1) as acl
        from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v') order by 1`),
    columns: await q(`
      select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull,
             pg_get_expr(d.adbin, d.adrelid) as default, array(select x::text from unnest(a.attacl) x order by 1) as acl
        from pg_attribute a join pg_class c on c.oid = a.attrelid left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
       where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped order by 1, 2`),
    constraints: await q(`
      select conrelid::regclass::text as tbl, conname, pg_get_constraintdef(oid) as def, convalidated
        from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2`),
    indexes: await q(`select indexname, indexdef from pg_indexes where schemaname = 'public' order by 1`),
    policies: await q(`
      select tablename, policyname, permissive, roles::text, cmd, qual, with_check from pg_policies
       where schemaname = 'public' order by 1, 2`),
    triggers: await q(`
      select tgrelid::regclass::text as tbl, tgname, tgenabled, pg_get_triggerdef(oid) as def
        from pg_trigger where not tgisinternal and tgrelid::regclass::text not like 'drizzle.%' order by 1, 2`),
    functions: await q(`
      select n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) as args, pg_get_function_result(p.oid) as result,
             p.prosecdef, pg_get_userbyid(p.proowner) as owner, p.proconfig::text as config, md5(p.prosrc) as body,
             array(select a::text from unnest(p.proacl) a order by 1) as acl
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname in ('app', 'public') order by 1, 2, 3`),
  }
}

// The catalogue of a database that was never upgraded: a clone of the template `npm test`
// migrated from scratch with the same code.
const fresh = await createTestDatabase(t)
const freshSchema = await withClient(fresh.superUrl, schemaState)
const formerSql = await formerSqlFiles()

async function upgrade(t: Test, withFormerSql: boolean): Promise<void> {
  const started = Date.now()
  const db = await scratchDatabase(t)
  const su = new pg.Client({ connectionString: db.superUrl })
  await su.connect()
  t.teardown(() => su.end())

  // The previous release: migrations 0000–0008 as the owner, its data, then (faithful case) its
  // sql/ and role catalogue, as its migrate() applied them.
  const seeded = await withClient(db.ownerUrl, async (owner) => {
    await drizzleMigrate(drizzle(owner), { migrationsFolder: await migrationsUpTo0008(t) })
    const s = await seed(owner)
    if (withFormerSql && 'files' in formerSql) {
      await owner.query(`select set_config('gatehouse.runtime_login', $1, false)`, [runtimeLogin])
      for (const f of formerSql.files) {
        try {
          await owner.query(f.text)
        } catch (err) {
          throw new Error(`former ${f.name}: ${(err as Error).message}`, { cause: err })
        }
      }
      await owner.query('select app.sync_role_permissions($1::jsonb)', [JSON.stringify(FORMER_ROLES)])
    }
    return s
  })
  const { users, workspaces: ws, invites } = seeded
  const former = async (role: string) =>
    (await su.query<{ p: string[] }>(`select array(select permission from role_permissions where role = $1 order by 1) as p`, [role])).rows[0]!.p
  const formerMember = await former('member')
  const formerViewer = await former('viewer')
  if (withFormerSql) {
    t.same(formerViewer, VIEWER_PERMISSIONS, 'before: the former viewer role as the previous release defined it')
    const forced = await su.query(`select relname from pg_class where oid in ('memberships'::regclass, 'workspace_invites'::regclass) and relforcerowsecurity order by 1`)
    t.same(forced.rows.map((r) => r.relname), ['memberships', 'workspace_invites'], 'before: both tables force row-level security, as in production')
  }
  const auditBefore = Number((await su.query('select count(*) as n from audit_log')).rows[0].n)

  await t.resolves(migrate({ ownerUrl: db.ownerUrl, runtimeLogin }), 'migrate() upgrades the database, as the owner (no superuser)')
  const after = await dataState(su)

  t.test('workspace roles: one Viewer per workspace that used viewer, with exactly its permissions', async (t) => {
    t.same(after.roles.map((r) => r.workspace_id).sort(), [ws.withViewers, ws.viewerInviteOnly].sort(),
      'a workspace with viewer members, and one whose only viewer is an open invitation; none where nobody was a viewer')
    for (const r of after.roles) {
      t.equal(r.name, 'Viewer')
      t.same([...(r.permissions as string[])].sort(), VIEWER_PERMISSIONS)
    }
  })

  const viewerRole = (workspaceId: string) => after.roles.find((r) => r.workspace_id === workspaceId)?.id
  const membership = (workspaceId: string, key: string) => {
    const m = after.memberships.find((r) => r.workspace_id === workspaceId && r.user_id === users[key])
    if (!m) throw new Error(`no membership of ${key}`)
    return { role: m.role, role_id: m.role_id, contacts_scope: m.contacts_scope, department_id: m.department_id }
  }
  const invite = (key: string) => {
    const i = after.invites.find((r) => r.id === invites[key])
    if (!i) throw new Error(`no invitation of ${key}`)
    return { role: i.role, role_id: i.role_id, contacts_scope: i.contacts_scope }
  }

  t.test('memberships: member becomes agent, viewer the Viewer role, both seeing every contact; owner and admin untouched', async (t) => {
    const builtIn = (role: string, scope: string | null) => ({ role, role_id: null, contacts_scope: scope, department_id: null })
    t.same(membership(ws.withViewers, 'OwnerA'), builtIn('owner', null))
    t.same(membership(ws.withViewers, 'AdminA'), builtIn('admin', null))
    t.same(membership(ws.withViewers, 'MemberA'), builtIn('agent', 'all'))
    for (const key of ['ViewerA1', 'ViewerA2']) {
      t.same(membership(ws.withViewers, key), { role: 'custom', role_id: viewerRole(ws.withViewers), contacts_scope: 'all', department_id: null }, key)
    }
    t.same(membership(ws.withoutViewers, 'OwnerB'), builtIn('owner', null))
    t.same(membership(ws.withoutViewers, 'AdminB'), builtIn('admin', null))
    t.same(membership(ws.withoutViewers, 'MemberB'), builtIn('agent', 'all'))
    t.same(membership(ws.withoutViewers, 'MemberA'), builtIn('agent', 'all'), 'in each workspace they belong to')
    t.same(membership(ws.viewerInviteOnly, 'OwnerC'), builtIn('owner', null))
    t.equal(after.memberships.length, 10, 'no membership added or lost')
    t.same(after.memberships.filter((m) => ['member', 'viewer'].includes(m.role as string)), [], 'no former role is left')
  })

  t.test('invitations: migrated like the memberships they would become', async (t) => {
    t.same(invite('InvitedMemberA'), { role: 'agent', role_id: null, contacts_scope: 'all' })
    t.same(invite('InvitedMemberB'), { role: 'agent', role_id: null, contacts_scope: 'all' })
    t.same(invite('InvitedViewerA'), { role: 'custom', role_id: viewerRole(ws.withViewers), contacts_scope: 'all' })
    t.same(invite('ViewerA2'), { role: 'custom', role_id: viewerRole(ws.withViewers), contacts_scope: 'all' }, 'an accepted one too')
    t.same(invite('InvitedViewerC'), { role: 'custom', role_id: viewerRole(ws.viewerInviteOnly), contacts_scope: 'all' })
    t.equal(after.invites.length, 5)
  })

  t.test('effective permissions: nobody loses or gains any', async (t) => {
    const perms = async (workspaceId: string, key: string) => {
      const m = after.memberships.find((r) => r.workspace_id === workspaceId && r.user_id === users[key])!
      const { rows } = await su.query<{ p: string[] }>('select app.role_permissions_of($1, $2, $3) as p', [m.workspace_id, m.role, m.role_id])
      return rows[0]!.p
    }
    t.same(await perms(ws.withViewers, 'ViewerA1'), VIEWER_PERMISSIONS, 'a former viewer')
    const agent = await perms(ws.withViewers, 'MemberA')
    for (const p of ['contacts:read', 'contacts:create', 'contacts:update', 'contacts:delete']) t.ok(agent.includes(p), `a former member keeps ${p}`)
    if (withFormerSql) {
      t.same(agent, formerMember, 'a former member holds exactly what the former member role held')
      t.same(await perms(ws.withViewers, 'ViewerA2'), formerViewer, 'a former viewer holds exactly what the former viewer role held')
    }
    const inv = after.invites.find((r) => r.id === invites.InvitedViewerC)!
    const { rows } = await su.query<{ p: string[] }>('select app.role_permissions_of($1, $2, $3) as p', [inv.workspace_id, inv.role, inv.role_id])
    t.same(rows[0]!.p, VIEWER_PERMISSIONS, 'what an open viewer invitation offers')
  })

  t.test('the change capture and the role-change trigger stayed off during the data migration', async (t) => {
    const marked = await su.query(`select user_id from sessions where reissue_required`)
    t.same(marked.rows, [], 'no session marked for re-issue')
    const audit = await su.query(`select entity_type, action from audit_log order by created_at`)
    t.equal(audit.rows.length, auditBefore, 'no audit row written')
  })

  t.test('afterwards: row-level security forced again, every trigger back on', async (t) => {
    const { rows } = await su.query(
      `select relname, relrowsecurity, relforcerowsecurity from pg_class
        where oid in ('memberships'::regclass, 'workspace_invites'::regclass) order by 1`)
    t.same(rows, [
      { relname: 'memberships', relrowsecurity: true, relforcerowsecurity: true },
      { relname: 'workspace_invites', relrowsecurity: true, relforcerowsecurity: true },
    ])
    const triggers = await su.query<{ tbl: string; tgname: string; tgenabled: string }>(
      `select tgrelid::regclass::text as tbl, tgname, tgenabled from pg_trigger
        where not tgisinternal and tgrelid in ('memberships'::regclass, 'workspace_invites'::regclass) order by 1, 2`)
    t.ok(triggers.rows.some((r) => r.tgname === 'memberships_role_change_reissues_sessions'), 'the role-change trigger is there')
    t.ok(triggers.rows.some((r) => r.tbl === 'workspace_invites'), 'and the invitations\' change capture')
    for (const r of triggers.rows) t.equal(r.tgenabled, 'O', `${r.tbl}: ${r.tgname} enabled`)
  })

  t.test('the upgraded schema is exactly a fresh install\'s', async (t) => {
    const upgraded = await schemaState(su)
    for (const [part, rows] of Object.entries(freshSchema)) t.same(upgraded[part], rows, part)
  })

  t.test('running migrate() again changes nothing', async (t) => {
    await t.resolves(migrate({ ownerUrl: db.ownerUrl, runtimeLogin }), 'migrate() succeeds on an up-to-date database')
    t.same(await dataState(su), after, 'no Viewer role duplicated, no row changed')
    const applied = await su.query('select count(*)::int as n from drizzle.__drizzle_migrations')
    t.equal(applied.rows[0].n, journalEntries, 'every migration, each once')
  })

  t.comment(`upgrade ${withFormerSql ? 'with' : 'without'} the former sql/: ${Date.now() - started} ms`)
}

// The repository's history is part of the test's input (CI clones it whole): without it this
// fails, naming what is missing, rather than passing on less.
t.test('upgrade of a database of the previous release (0008, its sql/ and role catalogue)', async (t) => {
  if ('missing' in formerSql) {
    t.fail(`needs the previous release's sql/ from git: ${formerSql.missing}`)
    return
  }
  await upgrade(t, true)
})

t.test('upgrade of a bare 0008 database (its tables only)', (t) => upgrade(t, false))

// assertSecurePosture (src/db/pool.ts, with the checks of src/db/posture.ts), the start-up check
// of invariant 2, against real logins and tables: it passes for the runtime login and the schema
// the migrations set up and refuses, with a message that says why, every login that could read
// across tenants or that could not work at all, and a schema with a table outside RLS.
import t from 'tap'
import pg from 'pg'
import { createTestDatabase, connect } from '../helpers/db.js'
import { assertSecurePosture, UnsafeDatabaseError } from '../../src/db/pool.js'
import { createLogin, randomName, type Login } from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)

interface Teardown {
  teardown(fn: () => unknown): void
}

// A pool as the service builds it, closed before the login is dropped (teardowns run last-in first).
function poolFor(t: Teardown, url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  t.teardown(() => pool.end())
  return pool
}

/** What assertSecurePosture throws for `login`, as its class name and message. */
async function refusal(t: Teardown, login: Login): Promise<{ name: string; message: string } | null> {
  try {
    await assertSecurePosture(poolFor(t, login.url))
    return null
  } catch (err) {
    if (!(err instanceof UnsafeDatabaseError)) throw err
    return { name: err.name, message: err.message }
  }
}

const refused = (role: string, reasons: string) => ({
  name: 'UnsafeDatabaseError',
  message:
    `Refusing to start: the runtime database role "${role}" could bypass row-level security: it ${reasons}. ` +
    'Set APP_DATABASE_URL to a plain login role (NOSUPERUSER NOBYPASSRLS, owning nothing); the migrations grant it app_runtime.',
})

t.test('the runtime login set up by the migrations is accepted', async (t) => {
  // Threat: a check so strict the service cannot start with the intended role.
  await t.resolves(assertSecurePosture(poolFor(t, db.appUrl)))
})

t.test('a superuser login is refused', async (t) => {
  // Threat: the service runs as a superuser, to whom no policy applies.
  const login = await createLogin(t, su, db.appUrl, 'superuser')
  const answer = await refusal(t, login)
  t.equal(answer?.name, 'UnsafeDatabaseError')
  t.match(answer?.message, `Refusing to start: the runtime database role "${login.name}" could bypass row-level security: it is a superuser, `, 'named first')
  // A superuser is a member of every role: of those that bypass RLS and those that own the schema.
  t.match(answer?.message, `is a member of ${new URL(db.ownerUrl).username}, which owns the schema's objects`)
})

t.test('a BYPASSRLS login is refused', async (t) => {
  // Threat: the service runs as a role that skips every policy.
  const login = await createLogin(t, su, db.appUrl, 'bypassrls in role app_runtime')
  t.same(await refusal(t, login), refused(login.name, 'has BYPASSRLS'))
})

t.test('a CREATEROLE login is refused', async (t) => {
  // Threat: on PostgreSQL 15 a CREATEROLE login can grant itself the schema owner's role and turn FORCE RLS off.
  const login = await createLogin(t, su, db.appUrl, 'createrole in role app_runtime')
  t.same(await refusal(t, login), refused(login.name, 'has CREATEROLE'))
})

t.test('a REPLICATION login is refused', async (t) => {
  // Threat: a replication connection streams every row of every table, policies notwithstanding.
  const login = await createLogin(t, su, db.appUrl, 'replication in role app_runtime')
  t.same(await refusal(t, login), refused(login.name, 'has REPLICATION'))
})

t.test('a member of a BYPASSRLS role is refused', async (t) => {
  // Threat: the bypass is inherited from a group role rather than held directly.
  const group = await createLogin(t, su, db.appUrl, 'bypassrls')
  const login = await createLogin(t, su, db.appUrl, `in role app_runtime, ${group.name}`)
  t.same(await refusal(t, login), refused(login.name, `is a member of ${group.name}, which bypasses row-level security`))
})

t.test('a login that owns a table is refused', async (t) => {
  // Threat: a table's owner is exempt from its policies unless FORCEd, and can ALTER them away.
  const login = await createLogin(t, su, db.appUrl, 'in role app_runtime')
  const table = randomName('gh_owned_')
  await su.query(`create table public.${table} (id int)`)
  await su.query(`alter table public.${table} owner to ${login.name}`)
  t.same(await refusal(t, login), refused(login.name, `owns table ${table}`))
})

t.test('a member of app_privileged or app_mailer is refused', async (t) => {
  // Threat: the runtime acts with the rights of the roles that own the cross-tenant functions.
  for (const role of ['app_privileged', 'app_mailer']) {
    const login = await createLogin(t, su, db.appUrl, `in role app_runtime, ${role}`)
    t.same(await refusal(t, login), refused(login.name, `is a member of ${role}, which owns the schema's objects`), role)
  }
})

t.test('a login outside app_runtime is refused', async (t) => {
  // Threat: a misconfigured login starts the service, which then fails on every request.
  const login = await createLogin(t, su, db.appUrl)
  t.same(await refusal(t, login), {
    name: 'UnsafeDatabaseError',
    message: `Refusing to start: the runtime database role "${login.name}" is not a member of app_runtime. Run the migrations with APP_DATABASE_URL set to this role.`,
  })
})

t.test('a table outside row-level security stops the start', async (t) => {
  // Threat: a table created or altered by hand (RLS disabled, or not forced) serves every tenant's rows to a service that starts anyway.
  const table = randomName('gh_open_')
  await su.query(`create table public.${table} (id int)`)
  t.teardown(() => su.query(`drop table public.${table}`))
  const refusedFor = (problem: string) => ({
    name: 'UnsafeDatabaseError',
    message:
      `Refusing to start: row-level security is off where every tenant's rows would be exposed: table ${table}: ${problem}. ` +
      'Run the migrations (they enable and force it on every table), or put tables of your own in another schema.',
  })
  const check = async () => {
    try {
      await assertSecurePosture(poolFor(t, db.appUrl))
      return null
    } catch (err) {
      if (!(err instanceof UnsafeDatabaseError)) throw err
      return { name: err.name, message: err.message }
    }
  }
  t.same(await check(), refusedFor('row-level security is not enabled; row-level security is not forced'), 'RLS off')
  await su.query(`alter table public.${table} enable row level security`)
  t.same(await check(), refusedFor('row-level security is not forced'), 'RLS on, but its owner is exempt')
  await su.query(`alter table public.${table} force row level security`)
  t.equal(await check(), null, 'enabled and forced: the service starts')
})

t.test('a SECURITY DEFINER function that could be hijacked stops the start', async (t) => {
  // Threat: a definer function added by hand without a pinned search_path, callable by PUBLIC, runs a caller's shadowing objects with its owner's rights.
  const fn = randomName('gh_loose_fn_')
  await su.query(`create function public.${fn}() returns int language sql security definer as 'select 1'`)
  t.teardown(() => su.query(`drop function public.${fn}()`))
  await t.rejects(assertSecurePosture(poolFor(t, db.appUrl)), {
    name: 'UnsafeDatabaseError',
    message: `Refusing to start: a SECURITY DEFINER function could be hijacked or run for anyone: function ${fn}(): ` +
      `proconfig lacks "search_path=pg_catalog, pg_temp" (has null); PUBLIC may EXECUTE it; its owner ${new URL(db.superUrl).username} bypasses row-level security. ` +
      'Run the migrations (they pin, revoke and own each one), or move functions of your own to another schema.',
  })
})

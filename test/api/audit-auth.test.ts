// Sign-in related security events land in the platform chain (workspace NULL), attributed to the
// account, with the request's metadata, and only when the action committed.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, platformAdmin, register, sessionCookie, as } from '../helpers/actors.js'

t.test('register, verify, login and logout are recorded as platform events', async (t) => {
  const ctx = await buildTestApp(t)
  const user = await register(ctx)
  const login = await ctx.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { 'user-agent': 'audit-test/1.0' },
    payload: { email: user.email, password: PASSWORD },
  })
  t.equal(login.statusCode, 200)
  const out = await ctx.app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: sessionCookie(login) } })
  t.equal(out.statusCode, 204)

  const rows = await ctx.sql<{ action: string; workspace_id: string | null; actor_user_id: string; entity_type: string; user_agent: string | null; request_id: string | null }>(
    `select action, workspace_id, actor_user_id, entity_type, user_agent, request_id from audit_log
      where kind = 'event' and actor_user_id = $1 order by chain_seq`,
    [user.id],
  )
  t.same(rows.map((r) => r.action), ['auth.register', 'auth.email_verified', 'auth.login', 'auth.logout'])
  t.ok(rows.every((r) => r.workspace_id === null), 'platform-level: no workspace')
  t.same(rows.map((r) => r.entity_type), ['user', 'user', 'session', 'session'])
  t.equal(rows[2]!.user_agent, 'audit-test/1.0', 'the user agent of the sign-in request')
  t.match(rows[2]!.request_id, /^[0-9a-f-]{36}$/, 'a request id')

  // Threat: a failed sign-in is mistaken for a successful one in the trail.
  const bad = await ctx.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'wrong password!' } })
  t.equal(bad.statusCode, 401)
  const logins = await ctx.sql(`select 1 from audit_log where action = 'auth.login' and actor_user_id = $1`, [user.id])
  t.equal(logins.length, 1, 'the refused sign-in recorded no login')

  const admin = await platformAdmin(ctx)
  const listed = await ctx.app.inject({ method: 'GET', url: '/api/admin/audit-log?limit=100', headers: as(admin) })
  t.equal(listed.statusCode, 200)
  const actions = listed.json().entries.map((e: { action: string }) => e.action)
  t.ok(actions.includes('auth.login'), 'platform admins see the sign-in events')
})

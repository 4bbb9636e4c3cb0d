// End to end, as a new user would meet the service: a real server on loopback, real cookies
// over HTTP, the outbox worker sending through the real Resend SDK to a fake Resend API.
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { closePools, createPools } from '../../src/db/pool.js'
import { syncWithDatabase } from '../../src/db/startup.js'
import { ADMIN_EMAIL, INVITE_CODE, testConfig } from '../helpers/app.js'
import { totpCode } from '../helpers/actors.js'
import { connect, createTestDatabase } from '../helpers/db.js'
import { startFakeResend } from '../helpers/fake-resend.js'

/** A tiny cookie-keeping HTTP client: what a browser does with Set-Cookie and Cookie. */
function client(base: string) {
  const jar = new Map<string, string>()
  return {
    jar,
    async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const res = await fetch(base + path, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
          ...headers,
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      })
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';')
        const [name, value] = pair!.split('=') as [string, string]
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name)
        else jar.set(name, value)
      }
      const text = await res.text()
      return { status: res.status, body: text ? JSON.parse(text) : null, setCookie: res.headers.getSetCookie() }
    },
  }
}

t.test('register, verify, create a workspace, get it approved, add contacts, stay inside the tenant', async (t) => {
  const db = await createTestDatabase(t)
  const mail = await startFakeResend()
  const config = testConfig(db, mail.url)
  const keys = await syncWithDatabase({ ownerUrl: db.ownerUrl, platformAdminEmails: config.platformAdminEmails })
  const pools = createPools({ runtimeUrl: db.appUrl, runtimeMax: 5, statementTimeoutMs: config.statementTimeoutMs })
  const app = await buildApp(config, { pools, keys, outboxIntervalMs: 20 })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    await app.close()
    await closePools(pools)
    await mail.close()
  })

  const signUp = async (email: string, name: string) => {
    const c = client(address)
    const reg = await c.call('POST', '/api/auth/register', { email, password: 'a long passphrase here', name })
    t.equal(reg.status, 201)
    t.match(reg.setCookie[0], /^sid=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/, 'session cookie as API.md says (no Secure over plain HTTP in test)')
    t.notMatch(JSON.stringify(reg.body), /sid|token/i, 'the session token never appears in a body')
    const email_ = await mail.waitFor(email)
    const token = /\/verify-email#token=([\w-]+)/.exec(email_.text)![1]
    const verified = await c.call('POST', '/api/auth/verify-email', { token })
    t.equal(verified.body.user.emailVerified, true)
    return c
  }

  const ada = await signUp('ada@example.test', 'Ada')
  const created = await ada.call('POST', '/api/workspaces', { name: 'Analytical Engines', inviteCode: INVITE_CODE })
  t.equal(created.status, 201)
  t.equal(created.body.workspace.status, 'pending_approval')
  const ws = created.body.workspace.id as string
  const h = { 'x-workspace-id': ws }

  const early = await ada.call('POST', '/api/crm/contacts', { name: 'Charles' }, h)
  t.equal(early.body.code, 'workspace_pending_approval', 'no writes before approval')

  const admin = await signUp(ADMIN_EMAIL, 'Admin')
  const me = await admin.call('GET', '/api/auth/me')
  t.equal(me.body.user.isPlatformAdmin, true)
  t.equal((await admin.call('POST', `/api/admin/workspaces/${ws}/approve`)).body.code, 'mfa_required', 'administration needs a second factor')
  const setup = await admin.call('POST', '/api/settings/security/mfa/setup', { password: 'a long passphrase here' })
  const enabled = await admin.call('POST', '/api/settings/security/mfa/enable', { code: totpCode(setup.body.secret, Date.now()) })
  t.equal(enabled.status, 200, 'the admin enrols TOTP; the rotated session counts as signed in with it')
  const approved = await admin.call('POST', `/api/admin/workspaces/${ws}/approve`)
  t.equal(approved.status, 200)
  t.equal(approved.body.workspace.trial.daysLeft, 14)

  const contact = await ada.call('POST', '/api/crm/contacts', { name: 'Charles', email: 'charles@example.test' }, h)
  t.equal(contact.status, 201)
  const list = await ada.call('GET', '/api/crm/contacts', undefined, h)
  t.same(list.body.contacts.map((c: { name: string }) => c.name), ['Charles'])

  // Threat: a second tenant guesses the first tenant's workspace and contact ids.
  const eve = await signUp('eve@example.test', 'Eve')
  const eveWs = (await eve.call('POST', '/api/workspaces', { name: 'Eve Ltd', inviteCode: INVITE_CODE })).body.workspace.id
  await admin.call('POST', `/api/admin/workspaces/${eveWs}/approve`)
  const asAda = await eve.call('GET', '/api/crm/contacts', undefined, h)
  t.equal(asAda.status, 403)
  t.equal(asAda.body.code, 'not_a_member')
  const guess = await eve.call('GET', `/api/crm/contacts/${contact.body.contact.id}`, undefined, { 'x-workspace-id': eveWs })
  t.equal(guess.status, 404, "another tenant's id is not found, not forbidden")

  // Threat: a cross-site page submits a form with the victim's cookie.
  const forged = await ada.call('POST', '/api/crm/contacts', { name: 'Mallory' }, { ...h, origin: 'https://evil.example' })
  t.equal(forged.status, 403)
  t.equal(forged.body.code, 'csrf_rejected')

  // Ada makes a read-only custom role and invites Eve into her workspace with it; Eve follows the
  // emailed link while signed in.
  const viewer = await ada.call('POST', '/api/workspace/roles', { name: 'Viewer', permissions: ['workspace:read', 'members:read', 'contacts:read'] }, h)
  t.equal(viewer.status, 201)
  const invited = await ada.call('POST', '/api/workspace/invites', { email: 'eve@example.test', role: viewer.body.role.id }, h)
  t.equal(invited.status, 201)
  const invitation = await mail.waitFor('eve@example.test', (m) => m.subject.startsWith('Join'))
  const inviteToken = /accept-invite#token=([\w-]+)/.exec(invitation.text)![1]!
  const joined = await eve.call('POST', '/api/invites/accept', { token: inviteToken })
  t.same(joined.body, { workspaceId: ws })

  // A role change gives the member a new session token on their next request; the browser's
  // cookie is replaced, and the old token stops working.
  const su = await connect(t, db.superUrl)
  const eveId = (await eve.call('GET', '/api/auth/me')).body.user.id as string
  const promoted = await ada.call('PATCH', `/api/workspace/members/${eveId}`, { role: 'admin' }, h)
  t.equal(promoted.status, 200)
  t.equal(promoted.body.member.role, 'admin')
  const oldSid = eve.jar.get('sid')!
  const next = await eve.call('GET', '/api/workspace/members', undefined, h)
  t.equal(next.status, 200)
  t.match(next.setCookie[0], /^sid=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/, 'a new session cookie')
  t.not(eve.jar.get('sid'), oldSid, 'which replaces the old one in the browser')
  t.same(next.body.members.map((m: { role: string }) => m.role), ['owner', 'admin'])
  t.equal((await eve.call('GET', '/api/auth/me')).setCookie.length, 0, 'once')
  await su.query(`update sessions set revoked_at = now() - interval '61 seconds' where replaced_by is not null and user_id = $1`, [eveId])
  const stale = client(address)
  stale.jar.set('sid', oldSid)
  t.equal((await stale.call('GET', '/api/auth/me')).status, 401, 'the old token is dead')

  const out = await ada.call('POST', '/api/auth/logout')
  t.equal(out.status, 204)
  t.equal(ada.jar.size, 0, 'the cookie is cleared')
  t.equal((await ada.call('GET', '/api/auth/me')).status, 401)
})

// The whole journey in a real browser (Debian's Chromium, playwright-core), as the console's
// users meet it: sign up, verify from the emailed link, create a workspace, get it approved by a
// platform admin (who enrols MFA and signs in with it, in another browser), add and edit
// contacts, see the trial banner, have the trial ended and be sent to billing, enrol MFA and sign
// in with it, revoke a session from another browser; a colleague joins from an invitation link;
// a second tenant sees nothing of the first; a cross-site page cannot act with a victim's cookie.
// Every screen is photographed and scanned with axe-core (no serious or critical violation).
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { ADMIN_EMAIL, INVITE_CODE } from '../helpers/app.js'
import { PASSWORD, screen, shownSecret, startRig } from './harness.js'

t.setTimeout(300_000)
const rig = await startRig(t)
const a11y: string[] = []
const shot = async (page: Page, name: string) => a11y.push(...(await screen(page, name)))

const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name }).waitFor()
const button = (page: Page, name: string | RegExp) => page.getByRole('button', { name, exact: typeof name === 'string' })
const alertText = (page: Page, text: string | RegExp) => page.getByRole('alert').filter({ hasText: text }).waitFor()
const statusText = (page: Page, text: string | RegExp) => page.getByRole('status').filter({ hasText: text }).first().waitFor()

async function signUp(page: Page, name: string, email: string) {
  await page.goto('/sign-up')
  await page.getByLabel('Your name').fill(name)
  await page.getByLabel('Work email').fill(email)
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  await button(page, 'Create account').click()
}

async function verify(page: Page, email: string) {
  await page.goto(await rig.linkFrom(email, '/verify-email'))
  await button(page, 'Confirm my email address').click()
  await heading(page, 'Email verified')
}

async function signIn(page: Page, email: string, opts: { secret?: string; backupCode?: string; password?: string } = {}) {
  await page.goto('/sign-in')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(opts.password ?? PASSWORD)
  await button(page, 'Sign in').click()
  if (opts.secret) {
    await heading(page, 'Two-factor authentication')
    rig.advance(30_000) // a new time step: a TOTP code is accepted once
    await page.getByLabel('Authentication code').fill(rig.code(opts.secret))
    await button(page, 'Verify').click()
  } else if (opts.backupCode) {
    await heading(page, 'Two-factor authentication')
    await button(page, 'Use a backup code instead').click()
    await page.getByLabel('Backup code').fill(opts.backupCode)
    await button(page, 'Verify').click()
  }
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'))
}

async function signOut(page: Page) {
  await button(page, 'Sign out').first().click()
  await page.waitForURL(/\/sign-in/)
}

/** Turns on TOTP from the Security screen; returns the secret and the backup codes shown once. */
async function enrolMfa(page: Page, shotName?: string): Promise<{ secret: string; backupCodes: string[] }> {
  await page.goto('/settings/security')
  await heading(page, 'Security')
  await button(page, 'Set up two-factor authentication').click()
  await page.getByLabel('Current password', { exact: true }).fill(PASSWORD)
  await button(page, 'Continue').click()
  await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor()
  const secret = await shownSecret(page)
  if (shotName) await shot(page, `${shotName}-qr`)
  rig.advance(30_000)
  await page.getByLabel('Authentication code', { exact: true }).fill(rig.code(secret))
  await button(page, 'Turn on').click()
  await page.locator('ul.codes li').first().waitFor()
  const backupCodes = (await page.locator('ul.codes li').allTextContents()).map((c) => c.trim())
  if (shotName) await shot(page, `${shotName}-backup-codes`)
  await button(page, 'I have saved my codes').click()
  return { secret, backupCodes }
}

const ada = await rig.person()
const admin = await rig.person()
let ivy: Awaited<ReturnType<typeof rig.person>>
let bob: Awaited<ReturnType<typeof rig.person>>
let workspaceId = ''
let adminSecret = ''
let charlesUrl = ''

t.test('sign up and verify the address from the emailed link', async (t) => {
  const { page } = ada
  await page.goto('/')
  await t.resolves(page.waitForURL(/\/sign-in\?next=/), 'signed out, the console asks to sign in')
  await shot(page, '01-sign-in')
  await page.getByRole('link', { name: 'Create an account' }).click()
  await heading(page, 'Create your account')

  // The form checks like the API before sending anything.
  await button(page, 'Create account').click()
  t.equal(await page.getByText('Name is required.').count(), 1, 'a missing name is named')
  await page.getByLabel('Work email').fill('not an address')
  await page.getByLabel('Password').fill('short')
  await button(page, 'Create account').click()
  t.equal(await page.getByText('Enter an email address like name@example.com.').count(), 1)
  t.match(await page.getByText(/at least 10 characters/).first().textContent(), /10 characters/)
  t.equal(rig.ctx.mail.sent.length, 0, 'nothing was sent')
  await shot(page, '02-sign-up-errors')

  // A password the service refuses comes back as a sentence, not a status.
  await page.getByLabel('Your name').fill('Ada Lovelace')
  await page.getByLabel('Work email').fill('ada@example.test')
  await page.getByLabel('Password').fill('password123')
  await button(page, 'Create account').click()
  await alertText(page, 'Choose a stronger password.')
  t.notMatch(await page.locator('main').textContent(), /\b422\b|weak_password|statusCode/, 'no raw status or code on screen')

  await signUp(page, 'Ada Lovelace', 'ada@example.test')
  await page.waitForURL(/\/workspaces\/new$/)
  t.match(await page.getByText(/Verify your email address: open the link/).textContent(), /ada@example\.test/, 'the banner asks for verification')
  await shot(page, '03-create-workspace-unverified')

  const link = await rig.linkFrom('ada@example.test', '/verify-email')
  t.match(link, /\/verify-email#token=/, 'the token travels in the fragment, never to a server log')
  await page.goto(link)
  t.notMatch(page.url(), /token=/, 'the console takes the token out of the address bar')
  await shot(page, '04-verify-email')
  await button(page, 'Confirm my email address').click()
  await heading(page, 'Email verified')
  await t.resolves(page.getByText(/Verify your email address: open the link/).waitFor({ state: 'detached' }), 'the banner is gone')
})

t.test('create a workspace: it waits for approval, and write buttons say why they are closed', async (t) => {
  const { page } = ada
  await page.goto('/workspaces/new')
  await page.getByLabel('Workspace name').fill('Analytical Engines')
  await page.getByLabel('Invite code').fill('wrong code')
  await button(page, 'Create workspace').click()
  await alertText(page, 'That invite code is not valid.')
  await page.getByLabel('Invite code').fill(INVITE_CODE)
  await button(page, 'Create workspace').click()
  await page.waitForURL(/\/contacts$/)
  await statusText(page, /waiting for approval/)
  const add = button(page, 'Add contact')
  t.ok(await add.isDisabled(), 'no writes before approval')
  t.match(await page.locator('.write-closed .hint').first().textContent(), /waiting for approval/, 'and the button says why')
  await shot(page, '05-contacts-pending-approval')
  workspaceId = (await rig.ctx.sql<{ id: string }>("select id from workspaces where name = 'Analytical Engines'"))[0]!.id
})

t.test('a platform admin enrols MFA, signs in with it, and approves the workspace', async (t) => {
  const { page } = admin
  await signUp(page, 'Grace Admin', ADMIN_EMAIL)
  await page.waitForURL(/\/workspaces\/new$/)
  await verify(page, ADMIN_EMAIL)

  await page.goto('/admin/workspaces')
  await heading(page, 'Workspaces')
  await alertText(page, /two-factor authentication/)
  await shot(page, '06-admin-needs-mfa')

  const { secret } = await enrolMfa(page, '07-security')
  adminSecret = secret
  await signOut(page)
  // A wrong code is refused with a sentence.
  await page.getByLabel('Email').fill(ADMIN_EMAIL)
  await page.getByLabel('Password').fill(PASSWORD)
  await button(page, 'Sign in').click()
  await heading(page, 'Two-factor authentication')
  await page.getByLabel('Authentication code').fill('000000')
  await button(page, 'Verify').click()
  await alertText(page, 'That code is not right, has expired or was already used.')
  await shot(page, '08-sign-in-mfa')
  await signIn(page, ADMIN_EMAIL, { secret })

  await page.goto('/admin/workspaces')
  await heading(page, 'Workspaces')
  await page.getByRole('cell', { name: 'Analytical Engines', exact: true }).waitFor()
  await shot(page, '09-admin-workspaces')
  await button(page, 'Approve Analytical Engines').click()
  await statusText(page, /Analytical Engines approved/)
  const [row] = await rig.ctx.sql<{ status: string }>('select status from workspaces where id = $1', [workspaceId])
  t.equal(row!.status, 'active')
})

t.test('the owner sees the trial banner, adds, finds, edits, deletes and restores contacts, with their history', async (t) => {
  const { page } = ada
  await page.goto('/contacts')
  await statusText(page, /Trial: 14 days left/)
  for (const [name, email] of [['Charles Babbage', 'charles@example.test'], ['Mary Somerville', 'mary@example.test']] as const) {
    await button(page, 'Add contact').click()
    await page.getByLabel('Name', { exact: true }).fill(name)
    await page.getByLabel('Email').fill(email)
    await button(page, 'Save contact').click()
    await statusText(page, 'Contact added.')
  }
  await page.getByRole('link', { name: 'Mary Somerville' }).waitFor()
  await shot(page, '10-contacts')

  // The form checks a phone number like the API.
  await button(page, 'Add contact').click()
  await page.getByLabel('Name', { exact: true }).fill('Bad Phone')
  await page.getByLabel('Phone').fill('call me maybe')
  await button(page, 'Save contact').click()
  await page.getByText(/Enter a phone number/).waitFor()
  await button(page, 'Cancel').click()

  await page.getByLabel('Search').fill('charles')
  await button(page, 'Search').click()
  await t.resolves(page.getByRole('link', { name: 'Mary Somerville' }).waitFor({ state: 'detached' }), 'search narrows the list')
  await page.getByRole('link', { name: 'Charles Babbage' }).click()
  await heading(page, 'Charles Babbage')
  charlesUrl = new URL(page.url()).pathname

  await button(page, 'Edit').click()
  await page.getByLabel('Name', { exact: true }).fill('Charles B. Babbage')
  await page.getByLabel('Phone').fill('+44 20 7946 0000')
  await button(page, 'Save changes').click()
  await heading(page, 'Charles B. Babbage')
  await page.getByRole('heading', { name: 'History' }).waitFor()
  await page.getByText('Updated').first().waitFor()
  await shot(page, '11-contact-history')

  await button(page, 'Delete').click()
  await button(page, 'Yes, delete').click()
  await statusText(page, 'Contact deleted.')
  const [deleted] = await rig.ctx.sql<{ deleted_at: Date | null }>("select deleted_at from contacts where name = 'Charles B. Babbage'")
  t.ok(deleted!.deleted_at, 'soft-deleted in the database')
  await button(page, 'Restore').click()
  await button(page, 'Edit').waitFor()
  const [restored] = await rig.ctx.sql<{ deleted_at: Date | null }>("select deleted_at from contacts where name = 'Charles B. Babbage'")
  t.equal(restored!.deleted_at, null, 'restored')
})

t.test('a colleague joins from the emailed invitation, signing up on the way', async (t) => {
  const { page } = ada
  await page.goto('/team')
  await heading(page, 'Team')
  await page.getByLabel('Email', { exact: true }).fill('ivy@example.test')
  await button(page, 'Send invitation').click()
  await statusText(page, 'Invitation sent to ivy@example.test.')
  await shot(page, '12-team')

  ivy = await rig.person({ width: 390 })
  const link = await rig.linkFrom('ivy@example.test', '/accept-invite')
  await ivy.page.goto(link)
  await ivy.page.waitForURL(/\/sign-in\?next=%2Faccept-invite|\/sign-in\?next=\/accept-invite/)
  await ivy.page.getByText(/Sign in with the address the invitation was sent to/).waitFor()
  await ivy.page.getByRole('link', { name: 'Create an account' }).click()
  await ivy.page.getByLabel('Your name').fill('Ivy')
  await ivy.page.getByLabel('Work email').fill('ivy@example.test')
  await ivy.page.getByLabel('Password').fill(PASSWORD)
  await button(ivy.page, 'Create account').click()
  await heading(ivy.page, 'Join a workspace')
  await verify(ivy.page, 'ivy@example.test')
  await ivy.page.goto('/accept-invite')
  await heading(ivy.page, 'Join a workspace')
  await shot(ivy.page, '13-accept-invite-phone')
  await button(ivy.page, 'Accept the invitation').click()
  await ivy.page.waitForURL(/\/contacts$/)
  // An agent sees the contacts they own (the database's visibility scope), none of Ada's yet.
  await ivy.page.getByText('No contacts yet.').waitFor()
  await button(ivy.page, 'Add contact').click()
  await ivy.page.getByLabel('Name', { exact: true }).fill("Ivy's lead")
  await button(ivy.page, 'Save contact').click()
  await ivy.page.getByRole('link', { name: "Ivy's lead" }).waitFor()
  t.equal(await ivy.page.getByText('Mary Somerville').count(), 0, "the owner's contacts stay outside an agent's scope")
  await shot(ivy.page, '14-contacts-phone')
  const overflow = await ivy.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  t.ok(overflow <= 0, `usable at phone width: nothing wider than the screen (${overflow}px)`)
})

t.test('the owner organises the team: a department, a custom role, a member placed in both with a narrower scope', async (t) => {
  const { page } = ada
  await page.goto('/team')
  await heading(page, 'Team')
  await page.getByLabel('Department name').fill('Research')
  await button(page, 'Add department').click()
  await statusText(page, 'The department Research was added.')
  await page.getByLabel('Role name').fill('Reader')
  for (const permission of ['workspace:read', 'contacts:read']) await page.getByLabel(permission, { exact: false }).first().check()
  await button(page, 'Create role').click()
  await statusText(page, 'The role Reader was created.')

  await button(page, 'Edit Ivy').click()
  await page.getByLabel('Role', { exact: true }).selectOption({ label: 'Reader' })
  await page.getByLabel('Department', { exact: true }).selectOption({ label: 'Research' })
  await page.getByLabel('Contacts visibility', { exact: true }).selectOption({ label: "Their department's contacts" })
  await button(page, 'Save member').click()
  await statusText(page, "Ivy's membership was saved.")
  const [ivyRow] = await rig.ctx.sql<{ role: string; department: string; scope: string }>(
    `select coalesce(r.name, m.role) as role, d.name as department, m.contacts_scope as scope
       from memberships m join users u on u.id = m.user_id
       left join workspace_roles r on r.id = m.role_id left join departments d on d.id = m.department_id
      where u.email = 'ivy@example.test' and m.workspace_id = $1`, [workspaceId])
  t.same(ivyRow, { role: 'Reader', department: 'Research', scope: 'department' }, 'stored as chosen')

  // The last owner cannot leave: the refusal is a sentence, and nothing changes.
  await button(page, 'Remove Ada Lovelace').click()
  await button(page, 'Yes, remove').click()
  await alertText(page, /at least one owner|cannot be done/)
  await shot(page, '12b-team-organised')
})

t.test('the audit log shows who did what', async (t) => {
  const { page } = ada
  await page.goto('/audit')
  await heading(page, 'Audit log')
  await page.getByRole('table').waitFor()
  t.ok(await page.getByRole('row').count() > 3, 'entries are listed')
  await shot(page, '15-audit-log')
})

t.test('the owner enrols MFA and signs in with a backup code; a session is revoked from another browser', async (t) => {
  const { page } = ada
  const { secret, backupCodes } = await enrolMfa(page)
  t.equal(backupCodes.length, 10, 'ten backup codes, shown once')
  await signOut(page)
  await signIn(page, 'ada@example.test', { backupCode: backupCodes[0]! })
  await page.goto('/settings/security')
  await page.getByText(/Backup codes remaining: 9/).first().waitFor()
  rig.advance(30_000)
  await page.getByLabel('Authentication code for new backup codes').fill(rig.code(secret))
  await button(page, 'Generate new backup codes').click()
  await page.locator('ul.codes li').first().waitFor()
  const fresh = (await page.locator('ul.codes li').allTextContents()).map((c) => c.trim())
  t.equal(fresh.length, 10, 'ten new backup codes')
  t.notOk(fresh.includes(backupCodes[1]!), 'the old ones are replaced')
  await button(page, 'I have saved my codes').click()

  const other = await rig.person()
  await signIn(other.page, 'ada@example.test', { secret })
  await other.page.goto('/contacts')
  await heading(other.page, 'Contacts')

  await page.goto('/settings/security')
  await page.getByRole('heading', { name: 'Sessions' }).waitFor()
  await page.getByText('This session').waitFor()
  await shot(page, '16-security-sessions')
  const revoke = page.getByRole('button', { name: /^Sign out the session from/ })
  t.equal(await revoke.count(), 1, 'one other session, with its own button')
  await revoke.click()
  await t.resolves(revoke.waitFor({ state: 'detached' }), 'gone from the list')

  await other.page.reload()
  await t.resolves(other.page.waitForURL(/\/sign-in/), 'the revoked browser is signed out')
})

let bobContacts = 0
t.test('a second tenant sees nothing of the first, whatever it asks for', async (t) => {
  bob = await rig.person()
  await signUp(bob.page, 'Bob', 'bob@example.test')
  await bob.page.waitForURL(/\/workspaces\/new$/)
  await verify(bob.page, 'bob@example.test')
  await bob.page.goto('/workspaces/new')
  await bob.page.getByLabel('Workspace name').fill('Difference Ltd')
  await bob.page.getByLabel('Invite code').fill(INVITE_CODE)
  await button(bob.page, 'Create workspace').click()
  await bob.page.waitForURL(/\/contacts$/)
  await admin.page.goto('/admin/workspaces')
  await button(admin.page, 'Approve Difference Ltd').click()
  await statusText(admin.page, /Difference Ltd approved/)

  await bob.page.goto('/contacts')
  await heading(bob.page, 'Contacts')
  await bob.page.getByText(/No contacts/i).first().waitFor()
  t.equal(await bob.page.getByText('Mary Somerville').count(), 0, "the other tenant's contacts are not listed")
  await bob.page.goto(charlesUrl)
  await bob.page.getByText('This contact does not exist, or you cannot see it.').waitFor()
  t.equal(await bob.page.getByText('Charles B. Babbage').count(), 0, "its id opens nothing")

  // Asking for the other workspace by hand, from Bob's signed-in page.
  const forged = await bob.page.evaluate(async (ws) => {
    const res = await fetch('/api/crm/contacts', { headers: { 'x-workspace-id': ws } })
    return { status: res.status, body: (await res.json()) as { code: string } }
  }, workspaceId)
  t.same([forged.status, forged.body.code], [403, 'not_a_member'])
  await bob.page.evaluate((ws) => localStorage.setItem('gatehouse.workspace', ws), workspaceId)
  await bob.page.goto('/contacts')
  await heading(bob.page, 'Contacts')
  t.equal(await bob.page.getByText('Mary Somerville').count(), 0, 'a forged workspace choice falls back to his own')
  bobContacts = (await rig.ctx.sql<{ n: number }>("select count(*)::int as n from contacts c join workspaces w on w.id = c.workspace_id where w.name = 'Difference Ltd'"))[0]!.n

  // A cross-site page the victim visits while signed in: a form post and a credentialed fetch.
  const evil = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html')
    res.end(`<!doctype html><html><body>
      <form id="f" method="POST" action="${rig.base}/api/crm/contacts" enctype="text/plain">
        <input name='{"name":"Forged","x":"' value='"}'></form>
      <script>
        fetch('${rig.base}/api/crm/contacts', { method: 'POST', credentials: 'include',
          headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Forged by fetch' }) })
          .then(() => { document.title = 'fetch answered' }, () => { document.title = 'fetch blocked' })
          .finally(() => document.getElementById('f').submit())
      </script></body></html>`)
  })
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => evil.close(resolve)))
  // localhost and 127.0.0.1 are different sites: this page is cross-site to the service.
  await bob.page.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`)
  await bob.page.waitForURL((url) => url.origin === rig.base, { timeout: 10_000 })
  const after = (await rig.ctx.sql<{ n: number }>("select count(*)::int as n from contacts where name like 'Forged%'"))[0]!.n
  t.equal(after, 0, 'neither the cross-site fetch nor the form post created anything')
})

t.test('a long contact list pages 50 at a time, forwards and back', async (t) => {
  const { page } = bob
  await page.goto('/contacts')
  await heading(page, 'Contacts')
  // 55 contacts through the API from Bob's own page, as a bulk import in the SPA would.
  const [{ id: bobWorkspace }] = await rig.ctx.sql<{ id: string }>("select id from workspaces where name = 'Difference Ltd'") as [{ id: string }]
  const created = await page.evaluate(async (ws) => {
    let ok = 0
    for (let i = 1; i <= 55; i++) {
      const res = await fetch('/api/crm/contacts', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-workspace-id': ws },
        body: JSON.stringify({ name: `Lead ${String(i).padStart(2, '0')}` }),
      })
      if (res.status === 201) ok++
    }
    return ok
  }, bobWorkspace)
  t.equal(created, 55)
  await page.reload()
  await page.getByRole('link', { name: 'Lead 55' }).waitFor()
  t.equal(await page.locator('tbody tr').count(), 50, 'the first 50, newest first')
  await button(page, 'Next page').click()
  await page.getByRole('link', { name: 'Lead 01' }).waitFor()
  t.equal(await page.locator('tbody tr').count(), 5, 'then the rest')
  t.equal(await button(page, 'Next page').count(), 0, 'and no further page')
  await button(page, 'Previous page').click()
  await page.getByRole('link', { name: 'Lead 55' }).waitFor()
})

t.test('once the trial is over, the owner is sent to billing; reads stay open and writes explain why not', async (t) => {
  await admin.page.goto('/admin/workspaces')
  await admin.page.getByLabel('Status').selectOption({ label: 'Active' })
  await button(admin.page, 'Extend the trial of Analytical Engines').click()
  await admin.page.getByLabel('New trial end for Analytical Engines').fill('2099-01-31')
  await button(admin.page, 'Save trial end').click()
  await statusText(admin.page, /Trial of Analytical Engines now ends/)
  const [extended] = await rig.ctx.sql<{ ends: string }>('select trial_ends_at::date::text as ends from workspaces where id = $1', [workspaceId])
  t.equal(extended!.ends, '2099-01-31', 'the trial is extended')
  await button(admin.page, 'End the trial of Analytical Engines now').click()
  await button(admin.page, 'Yes, end the trial').click()
  await admin.page.getByRole('status').first().waitFor()

  const { page } = ada
  await page.goto('/contacts')
  await t.resolves(page.waitForURL(/\/billing$/), 'a soft redirect to billing')
  await page.getByText(/The trial of Analytical Engines has ended/).waitFor()
  await shot(page, '17-billing-trial-over')
  await page.getByRole('link', { name: 'Continue to contacts (read-only)' }).click()
  await page.getByRole('link', { name: 'Mary Somerville' }).waitFor()
  t.ok(await button(page, 'Add contact').isDisabled(), 'writes are disabled')
  t.match(await page.locator('.write-closed .hint').first().textContent(), /trial has ended/, 'and say why')
  await shot(page, '18-contacts-read-only')
})

t.test('a suspended or rejected workspace shows its state and the reason instead of its screens', async (t) => {
  await admin.page.goto('/admin/workspaces')
  await button(admin.page, 'Suspend Difference Ltd').click()
  await admin.page.getByLabel('Reason for suspending Difference Ltd').fill('Unpaid invoices since March')
  await button(admin.page, 'Suspend workspace').click()
  await statusText(admin.page, 'Difference Ltd suspended.')
  await bob.page.goto('/contacts')
  await heading(bob.page, 'Workspace suspended')
  await bob.page.getByText('Unpaid invoices since March').waitFor()
  await shot(bob.page, '19-workspace-suspended')
  await button(admin.page, 'Reinstate Difference Ltd').click()
  await statusText(admin.page, 'Difference Ltd reinstated.')
  await bob.page.goto('/contacts')
  await heading(bob.page, 'Contacts')

  // Ivy, a member of Analytical Engines, creates her own workspace, which is rejected.
  await ivy.page.goto('/workspaces/new')
  await ivy.page.getByLabel('Workspace name').fill('Ivy Ventures')
  await ivy.page.getByLabel('Invite code').fill(INVITE_CODE)
  await button(ivy.page, 'Create workspace').click()
  await ivy.page.waitForURL(/\/contacts$/)
  await admin.page.goto('/admin/workspaces')
  await button(admin.page, 'Reject Ivy Ventures').click()
  await admin.page.getByLabel('Reason for rejecting Ivy Ventures').fill('Outside the beta programme')
  await button(admin.page, 'Reject workspace').click()
  await statusText(admin.page, 'Ivy Ventures rejected.')
  await ivy.page.goto('/contacts')
  await heading(ivy.page, 'Workspace not approved')
  await ivy.page.getByText('Outside the beta programme').waitFor()
  // The switcher takes her back to the workspace she was invited to, whose trial is over: the
  // console opens its billing screen first (the soft redirect), and its contacts stay readable.
  await ivy.page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'Analytical Engines' })
  await ivy.page.waitForURL(/\/billing$/)
  await ivy.page.getByText(/The trial of Analytical Engines has ended/).waitFor()
  await ivy.page.getByRole('link', { name: 'Continue to contacts (read-only)' }).click()
  await ivy.page.getByRole('link', { name: "Ivy's lead" }).waitFor()
  t.pass('each state is shown with its reason, and the other workspace stays usable')
})

t.test('at phone width every screen fits and stays accessible', async (t) => {
  const phone = await rig.person({ width: 375 })
  await signIn(phone.page, 'bob@example.test')
  for (const [path, title] of [['/contacts', 'Contacts'], ['/team', 'Team'], ['/audit', 'Audit log'], ['/billing', 'Billing'], ['/settings/security', 'Security']] as const) {
    await phone.page.goto(path)
    await heading(phone.page, title)
    await shot(phone.page, `phone${path.replaceAll('/', '-')}`)
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    t.ok(overflow <= 0, `${path}: nothing wider than the screen (${overflow}px)`)
  }
})

t.test('every screen: no serious or critical accessibility violation, no script error, no CSP refusal', async (t) => {
  t.same(a11y, [], 'axe-core found nothing serious or critical')
  t.same(rig.pageErrors, [], 'no page error and no Content-Security-Policy refusal')
  t.ok(adminSecret, 'the admin enrolled')
  t.equal(bobContacts, 0)
})

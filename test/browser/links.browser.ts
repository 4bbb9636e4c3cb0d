// The emailed links in a real browser: a password reset from the link (and the link refused
// once used), a verification link opened signed out (sign in first, then confirm) and one
// opened in someone else's session (refused, with a sentence saying what to do), and the
// console's answers to a 401 mid-session and to a forged `next` after sign-in.
import t from 'tap'
import type { Page } from 'playwright-core'
import { PASSWORD, screen, startRig } from './harness.js'

t.setTimeout(180_000)
const rig = await startRig(t)
const a11y: string[] = []
const shot = async (page: Page, name: string) => a11y.push(...(await screen(page, name)))
const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true })
const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name }).waitFor()

async function signUp(page: Page, name: string, email: string) {
  await page.goto('/sign-up')
  await page.getByLabel('Your name').fill(name)
  await page.getByLabel('Work email').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await button(page, 'Create account').click()
  await page.waitForURL(/\/workspaces\/new$/)
}

async function signIn(page: Page, email: string, password = PASSWORD) {
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await button(page, 'Sign in').click()
}

t.test('a verification link opened signed out asks to sign in, then confirms; in another account it is refused', async (t) => {
  const owner = await rig.person()
  await signUp(owner.page, 'Nell', 'nell@example.test')
  const link = await rig.linkFrom('nell@example.test', '/verify-email')

  const intruder = await rig.person()
  await signUp(intruder.page, 'Mallory', 'mallory@example.test')
  await intruder.page.goto(link)
  await button(intruder.page, 'Confirm my email address').click()
  await intruder.page.getByText(/This link verifies a different account/).waitFor()
  await shot(intruder.page, '20-verify-wrong-account')
  const [nell] = await rig.ctx.sql<{ verified: boolean }>("select email_verified_at is not null as verified from users where email = 'nell@example.test'")
  t.equal(nell!.verified, false, "someone else's click verifies nothing")

  const fresh = await rig.person()
  await fresh.page.goto(link)
  await fresh.page.waitForURL(/\/sign-in\?next=/)
  await fresh.page.getByText('Sign in to the account you are verifying, then confirm.').waitFor()
  await signIn(fresh.page, 'nell@example.test')
  await heading(fresh.page, 'Verify your email')
  await button(fresh.page, 'Confirm my email address').click()
  await heading(fresh.page, 'Email verified')
  const [after] = await rig.ctx.sql<{ verified: boolean }>("select email_verified_at is not null as verified from users where email = 'nell@example.test'")
  t.equal(after!.verified, true)
})

t.test('reset a forgotten password from the emailed link; the link works once', async (t) => {
  const { page } = await rig.person()
  await page.goto('/sign-in')
  await page.getByRole('link', { name: 'Forgot your password?' }).click()
  await heading(page, 'Reset your password')
  await page.getByLabel('Email').fill('nell@example.test')
  await button(page, 'Email me a link').click()
  await page.getByText(/If an account uses nell@example.test/).waitFor()
  await shot(page, '21-forgot-password')

  const link = await rig.linkFrom('nell@example.test', '/reset-password')
  await page.goto(link)
  await heading(page, 'Choose a new password')
  await page.getByLabel('New password').fill('short')
  await button(page, 'Save the new password').click()
  await page.getByText(/Use at least 10 characters/).waitFor()
  await page.getByLabel('New password').fill('an entirely new passphrase')
  await button(page, 'Save the new password').click()
  await page.waitForURL(/\/sign-in\?reset=1/)
  await page.getByText('Your password was changed. Sign in with the new one.').waitFor()
  await shot(page, '22-reset-done')
  await signIn(page, 'nell@example.test', 'an entirely new passphrase')
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'))

  const again = await rig.person()
  await again.page.goto(link)
  await again.page.getByLabel('New password').fill('yet another long passphrase')
  await button(again.page, 'Save the new password').click()
  await again.page.getByRole('alert').filter({ hasText: 'This link is not valid any more' }).waitFor()
  t.pass('a used link is refused with a sentence')
})

t.test('sign-in never follows a `next` to another site, and a session ended elsewhere sends the person to sign in', async (t) => {
  const { page } = await rig.person()
  await page.goto('/sign-in?next=//evil.example/steal')
  await signIn(page, 'nell@example.test', 'an entirely new passphrase')
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'))
  t.equal(new URL(page.url()).origin, rig.base, 'still on the console')

  await page.goto('/workspaces/new')
  await page.getByLabel('Workspace name').fill('After revocation')
  // The session ends elsewhere (signed out everywhere, an administrator's reset) while the page is open.
  await rig.ctx.sql("update sessions set revoked_at = now() where user_id = (select id from users where email = 'nell@example.test')")
  await page.getByLabel('Invite code').fill('anything')
  await button(page, 'Create workspace').click()
  await t.resolves(page.waitForURL(/\/sign-in\?next=%2Fworkspaces%2Fnew/), 'a 401 sends the person to sign in, and back afterwards')
})

t.test('signing in works from the keyboard alone, in a sensible focus order', async (t) => {
  const { page } = await rig.person()
  await page.goto('/sign-in')
  await heading(page, 'Sign in')
  // The screen's heading takes focus when it opens; Tab then walks the form in reading order.
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate(() => document.activeElement?.getAttribute('autocomplete')), 'username', 'first the email')
  await page.keyboard.type('nell@example.test')
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate(() => document.activeElement?.getAttribute('autocomplete')), 'current-password', 'then the password')
  await page.keyboard.type('an entirely new passphrase')
  await page.keyboard.press('Enter')
  await t.resolves(page.waitForURL((url) => !url.pathname.startsWith('/sign-in')), 'Enter submits')
})

t.test('these screens: no serious or critical accessibility violation, no script error, no CSP refusal', async (t) => {
  t.same(a11y, [])
  t.same(rig.pageErrors, [])
})

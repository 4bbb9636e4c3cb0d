// The browser suite's rig: the real service (the built console from `npm run build:web`, a fresh
// test database, email through the real Resend SDK to the fake Resend API) listening on loopback,
// and Debian's Chromium driven by playwright-core. Each person is their own browser context (own
// cookies and storage). Screens are photographed into SCREENSHOT_DIR (default .screenshots/) and
// scanned with axe-core in the page, under the console's real Content-Security-Policy.
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { freePort } from '../../src/db/embedded.js'
import { CONSOLE_DIR, ROOT } from '../../src/paths.js'
import { consoleBuilt } from '../../src/plugins/console.js'
import { buildTestApp, type TestContext } from '../helpers/app.js'
import { totpCode } from '../helpers/actors.js'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const SCREENSHOT_DIR = path.resolve(ROOT, process.env.SCREENSHOT_DIR ?? '.screenshots')
export const PASSWORD = 'a long passphrase for the console'

interface Tap {
  teardown(fn: () => unknown): void
}

export interface Rig {
  ctx: TestContext
  base: string
  browser: Browser
  /** Script errors and Content-Security-Policy refusals seen in any page (the suite allows none). */
  pageErrors: string[]
  /** Moves the service's clock (TOTP time steps, rate-limit windows) forward. */
  advance(ms: number): void
  /** A TOTP code for `secret` at the service's current time. */
  code(secret: string): string
  /** A new browser (own cookies and storage) at `width` pixels (default a laptop). */
  person(opts?: { width?: number }): Promise<{ context: BrowserContext; page: Page }>
  /** A single-use link from the last email to `to` whose link path is `linkPath`. */
  linkFrom(to: string, linkPath: string): Promise<string>
}

export async function startRig(t: Tap, env: Record<string, string> = {}): Promise<Rig> {
  if (!consoleBuilt(CONSOLE_DIR)) throw new Error(`no console build at ${CONSOLE_DIR}: run \`npm run build:web\` (npm run test:browser does)`)
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`)
  let skew = 0
  const clock = () => Date.now() + skew
  // The emailed links must open this server: PUBLIC_URL is where it listens.
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const ctx = await buildTestApp(t, { PUBLIC_URL: base, ...env }, { consoleDir: CONSOLE_DIR, clock, outboxIntervalMs: 25 })
  await ctx.app.listen({ host: '127.0.0.1', port })
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
  t.teardown(() => browser.close())
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  const pageErrors: string[] = []
  return {
    ctx,
    base,
    browser,
    pageErrors,
    advance: (ms) => void (skew += ms),
    code: (secret) => totpCode(secret, clock()),
    async person(opts = {}) {
      const context = await browser.newContext({ baseURL: base, viewport: { width: opts.width ?? 1280, height: 900 } })
      context.setDefaultTimeout(10_000)
      t.teardown(() => context.close())
      const page = await context.newPage()
      page.on('pageerror', (err) => pageErrors.push(err.message))
      page.on('console', (msg) => {
        // A Content-Security-Policy refusal is a console error: the console must run under its policy.
        if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) pageErrors.push(msg.text())
      })
      return { context, page }
    },
    async linkFrom(to, linkPath) {
      const email = await ctx.mail.waitFor(to, (e) => e.text.includes(`${base}${linkPath}#token=`))
      const match = new RegExp(`${base.replace(/[.]/g, '\\.')}${linkPath}#token=[\\w%-]+`).exec(email.text)
      if (!match) throw new Error(`no ${linkPath} link in the email to ${to}`)
      return match[0]
    },
  }
}

const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: { target: unknown[] }[]
}

/**
 * Photographs the screen (SCREENSHOT_DIR/<name>.png) and scans it with axe-core; returns the
 * serious and critical violations (the suite allows none). axe is evaluated through the DevTools
 * protocol, so the page's Content-Security-Policy stays as the service sends it.
 */
export async function screen(page: Page, name: string): Promise<string[]> {
  await page.waitForLoadState('networkidle')
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true })
  await page.evaluate(await axeSource)
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } }).axe
    const result = await axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }))
  })
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${name}: ${v.id} (${v.impact}) ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`)
}

/** The TOTP secret the enrolment screen shows for typing by hand. */
export async function shownSecret(page: Page): Promise<string> {
  const text = (await page.locator('code').first().textContent()) ?? ''
  return text.replace(/\s/g, '')
}

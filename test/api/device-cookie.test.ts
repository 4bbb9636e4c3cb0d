// Lockout abuse: ten wrong guesses from anywhere used to lock an account's owner out for the
// window, right password included. A browser the owner signed in from before holds a device
// cookie and keeps a budget of its own (src/modules/auth/devices.ts); everyone else stays
// refused once the account's budget is spent.
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, assertError, register, sessionCookie, type Actor } from '../helpers/actors.js'

const ctx = await buildTestApp(t, { RATE_LIMIT_LOGIN_ACCOUNT: '3/15m' })

const login = (email: string, password: string, cookie?: string): Promise<LightMyRequestResponse> =>
  ctx.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, headers: cookie ? { cookie } : {} })

/** The `Cookie` header value of the device cookie `res` set. */
function deviceCookie(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === 'gh_device')
  if (!c) throw new Error(`no device cookie in ${res.statusCode}: ${res.body}`)
  return `gh_device=${c.value}`
}

/** A user who signed in once from their browser: its device cookie. */
async function knownBrowser(): Promise<{ user: Actor; device: string }> {
  const user = await register(ctx)
  const res = await login(user.email, PASSWORD)
  t.equal(res.statusCode, 200, res.body)
  return { user, device: deviceCookie(res) }
}

async function flood(email: string): Promise<void> {
  for (let i = 0; i < 3; i++) assertError(t, await login(email, `wrong guess ${i}!`), 401, 'invalid_credentials')
  assertError(t, await login(email, 'one more guess'), 429, 'rate_limited')
}

t.test('a sign-in leaves a signed device cookie for /api/auth only', async (t) => {
  const user = await register(ctx)
  const res = await login(user.email, PASSWORD)
  const c = res.cookies.find((x) => x.name === 'gh_device')
  t.ok(c, 'set')
  t.match(c, { path: '/api/auth', httpOnly: true, sameSite: 'Strict' })
  t.ok(Number(c?.maxAge) >= 300 * 24 * 3600, 'long-lived')
  t.notOk(c?.value.includes(user.email), 'the address is not in it')
  assertError(t, await login(user.email, 'not the password'), 401, 'invalid_credentials')
})

t.test("a guesser's flood does not lock the owner out of a known browser", async (t) => {
  // Threat: anyone who knows an address locks its owner out by guessing wrong on purpose.
  const { user, device } = await knownBrowser()
  await flood(user.email)
  assertError(t, await login(user.email, PASSWORD), 429, 'rate_limited') // a new browser: still refused, right password or not
  const res = await login(user.email, PASSWORD, device)
  t.equal(res.statusCode, 200, 'the known browser signs in')
  t.ok(sessionCookie(res))
})

t.test("another account's device cookie, or a forged one, buys nothing", async (t) => {
  // Threat: the guesser signs in to an account of their own for a cookie, or makes one up.
  const { user } = await knownBrowser()
  const { device: attackersOwn } = await knownBrowser()
  await flood(user.email)
  assertError(t, await login(user.email, PASSWORD, attackersOwn), 429, 'rate_limited')
  const [name, value] = attackersOwn.split('=') as [string, string]
  const tampered = `${name}=${encodeURIComponent(decodeURIComponent(value).replace(/^[^.]+/, 'A'.repeat(22)))}`
  assertError(t, await login(user.email, PASSWORD, tampered), 429, 'rate_limited')
  assertError(t, await login(user.email, PASSWORD, 'gh_device=unsigned.value'), 429, 'rate_limited')
})

t.test('guesses from a known device run out too, for that device', async (t) => {
  // Threat: a stolen device cookie becomes unlimited guessing.
  const { user, device } = await knownBrowser()
  for (let i = 0; i < 3; i++) assertError(t, await login(user.email, `wrong guess ${i}!`, device), 401, 'invalid_credentials')
  assertError(t, await login(user.email, PASSWORD, device), 429, 'rate_limited')
  t.equal((await login(user.email, PASSWORD)).statusCode, 200, "the device's failures are not the account's: another browser still signs in")
})

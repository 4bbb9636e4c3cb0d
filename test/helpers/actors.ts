// People and workspaces for tests, created through the real HTTP API (and the outbox, for the
// verification link), so fixtures exercise the same paths users do.
import { randomBytes } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { Secret, TOTP } from 'otpauth'
import { ADMIN_EMAIL, INVITE_CODE, type TestContext } from './app.js'
import { ROLE_LABEL_SQL, VIEWER_PERMISSIONS, seedCustomRole, seedMembership } from './rls.js'

export interface Actor {
  id: string
  email: string
  password: string
  /** Cookie header value for this actor's session. */
  cookie: string
}

export const PASSWORD = 'correct horse battery staple'

/** The `Cookie` header that carries the session set by `res`. */
export function sessionCookie(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === 'sid')
  if (!c) throw new Error(`no session cookie in response ${res.statusCode}: ${res.body}`)
  return `sid=${c.value}`
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}@example.test`
}

/**
 * The single-use token in the newest email sent to `to` (drains the outbox first). Links carry it
 * in the fragment (`…/verify-email#token=…`, API.md), never in the query string: a link with
 * `?token=` is an error here, so every test that follows a link checks that too.
 */
export async function tokenFromEmail(ctx: TestContext, to: string): Promise<string> {
  await ctx.app.outbox.drain()
  const email = [...ctx.mail.sent].reverse().find((m) => m.to.includes(to))
  if (!email) throw new Error(`no email to ${to}`)
  if (/[?&]token=/.test(email.text) || /[?&]token=/.test(email.html)) throw new Error(`a token in a query string in the email to ${to}`)
  const match = /#token=([A-Za-z0-9_-]+)/.exec(email.text)
  if (!match) throw new Error(`no token in email to ${to}`)
  return match[1]!
}

export async function register(ctx: TestContext, opts: { email?: string; verified?: boolean; name?: string } = {}): Promise<Actor> {
  const email = opts.email ?? uniqueEmail()
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email, password: PASSWORD, name: opts.name ?? 'Test User' },
  })
  if (res.statusCode !== 201) throw new Error(`register ${email}: ${res.statusCode} ${res.body}`)
  const actor: Actor = { id: res.json().user.id, email: email.toLowerCase(), password: PASSWORD, cookie: sessionCookie(res) }
  if (opts.verified ?? true) {
    const token = await tokenFromEmail(ctx, actor.email)
    const v = await ctx.app.inject({ method: 'POST', url: '/api/auth/verify-email', headers: { cookie: actor.cookie }, payload: { token } })
    if (v.statusCode !== 200) throw new Error(`verify ${email}: ${v.statusCode} ${v.body}`)
  }
  return actor
}

/** The TOTP code of `secret` (base32, as mfa/setup answers it) for the time step of `timestamp`. */
export function totpCode(secret: string, timestamp: number): string {
  return new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp })
}

export interface MfaActor extends Actor {
  /** The TOTP secret, base32. */
  secret: string
  backupCodes: string[]
}

/**
 * Enrols TOTP for `actor` through the API (setup with the password, enable with the code of the
 * step at `timestamp`, which must be the service's clock give or take a step). Enabling rotates
 * the session: the returned actor carries the new cookie, a session confirmed with the second factor.
 */
export async function enrolMfa(ctx: TestContext, actor: Actor, timestamp = Date.now()): Promise<MfaActor> {
  const setup = await ctx.app.inject({
    method: 'POST', url: '/api/settings/security/mfa/setup', headers: { cookie: actor.cookie }, payload: { password: actor.password },
  })
  if (setup.statusCode !== 200) throw new Error(`mfa setup: ${setup.statusCode} ${setup.body}`)
  const { secret } = setup.json<{ secret: string }>()
  const enable = await ctx.app.inject({
    method: 'POST', url: '/api/settings/security/mfa/enable', headers: { cookie: actor.cookie }, payload: { code: totpCode(secret, timestamp) },
  })
  if (enable.statusCode !== 200) throw new Error(`mfa enable: ${enable.statusCode} ${enable.body}`)
  return { ...actor, cookie: sessionCookie(enable), secret, backupCodes: enable.json<{ backupCodes: string[] }>().backupCodes }
}

/**
 * The platform administrator (ADMIN_EMAIL, verified), with TOTP enrolled so that their cookie
 * is a session confirmed with a second factor, as the admin routes require. `{ mfa: false }`:
 * the administrator signed in with the password alone.
 */
export async function platformAdmin(ctx: TestContext, opts: { mfa?: boolean; at?: number } = {}): Promise<Actor> {
  const admin = await register(ctx, { email: ADMIN_EMAIL })
  return opts.mfa === false ? admin : enrolMfa(ctx, admin, opts.at)
}

export async function createWorkspace(ctx: TestContext, owner: Actor, name = 'Acme'): Promise<string> {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/workspaces',
    headers: { cookie: owner.cookie },
    payload: { name, inviteCode: INVITE_CODE },
  })
  if (res.statusCode !== 201) throw new Error(`create workspace: ${res.statusCode} ${res.body}`)
  return res.json().workspace.id
}

/**
 * Puts a workspace into a state directly (superuser SQL), for tests about the gates rather than
 * about the admin API. `trialDays` may be negative for an expired trial.
 */
export async function setWorkspaceState(
  ctx: TestContext,
  workspaceId: string,
  state: { status?: string; trialDays?: number; billing?: string },
): Promise<void> {
  await ctx.sql(
    `update workspaces set
       status = coalesce($2, status),
       trial_ends_at = case when $3::int is null then coalesce(trial_ends_at, now() + interval '14 days')
                            else now() + make_interval(days => $3::int) end,
       billing_status = coalesce($4, billing_status)
     where id = $1`,
    [workspaceId, state.status ?? null, state.trialDays ?? null, state.billing ?? null],
  )
}

/** A verified owner with an approved, trialing workspace. */
export async function activeTenant(ctx: TestContext, name = 'Acme'): Promise<{ owner: Actor; workspaceId: string }> {
  const owner = await register(ctx)
  const workspaceId = await createWorkspace(ctx, owner, name)
  await setWorkspaceState(ctx, workspaceId, { status: 'active', trialDays: 14 })
  return { owner, workspaceId }
}

/** Adds `user` to a workspace with `role` (superuser SQL: shorter than the invitation flow, which test/api/invites.test.ts covers). */
/**
 * Makes `user` a member of `workspaceId` (RLS bypassed): a built-in role, or "viewer" for the
 * workspace's custom "Viewer" role; `contactsScope` null: the role's default (an agent or a
 * custom role sees only the contacts they own).
 */
export async function addMember(ctx: TestContext, workspaceId: string, user: Actor, role: string, contactsScope: 'all' | 'department' | 'own' | null = null): Promise<void> {
  await seedMembership(ctx.superPool, workspaceId, user.id, role, { contactsScope })
}

/** The id of `workspaceId`'s custom role `name`, created with `permissions` (default: the former viewer's) if missing. */
export async function customRole(ctx: TestContext, workspaceId: string, name = 'Viewer', permissions = VIEWER_PERMISSIONS): Promise<string> {
  return seedCustomRole(ctx.superPool, workspaceId, name, permissions)
}

/** `userId`'s role in `workspaceId` as the database holds it (RLS bypassed): a built-in name or the custom role's name; undefined for no member. */
export async function roleOf(ctx: TestContext, workspaceId: string, userId: string): Promise<string | undefined> {
  const rows = await ctx.sql<{ role: string }>(`select ${ROLE_LABEL_SQL} as role from memberships m where m.workspace_id = $1 and m.user_id = $2`,
    [workspaceId, userId])
  return rows[0]?.role
}

/** Request options for `actor` acting in `workspaceId`. */
export function as(actor: Actor, workspaceId?: string): { cookie: string; 'x-workspace-id'?: string } {
  return workspaceId ? { cookie: actor.cookie, 'x-workspace-id': workspaceId } : { cookie: actor.cookie }
}

/** Contact rows as the superuser sees them (RLS bypassed): in one workspace, or in all. */
export async function countContacts(ctx: TestContext, workspaceId?: string): Promise<number> {
  const rows = await ctx.sql<{ n: number }>(
    'select count(*)::int as n from contacts where $1::uuid is null or workspace_id = $1::uuid',
    [workspaceId ?? null],
  )
  return rows[0]!.n
}

/** Creates a contact through the API as `actor` in `workspaceId`; returns the response's contact. */
export async function createContact(
  ctx: TestContext,
  actor: Actor,
  workspaceId: string,
  body: Record<string, unknown> = { name: 'Ada Lovelace' },
): Promise<{ id: string; name: string; email: string | null; ownerId: string | null; [k: string]: unknown }> {
  const res = await ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: as(actor, workspaceId), payload: body })
  if (res.statusCode !== 201) throw new Error(`create contact: ${res.statusCode} ${res.body}`)
  return res.json().contact
}

/** Asserts an error response in the API.md shape: {statusCode, error, code, message}, nothing else. */
export function assertError(t: Test, res: LightMyRequestResponse, status: number, code: string, message?: RegExp): void {
  t.equal(res.statusCode, status, `status ${status} (${code}): ${res.body}`)
  const body = res.json<Record<string, unknown>>()
  t.same(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode'], 'the API.md error shape')
  t.equal(body.statusCode, status, 'statusCode in the body')
  t.equal(body.error, STATUS_CODES[status], 'error is the status text')
  t.equal(body.code, code, `code ${code}`)
  t.match(body.message, message ?? /\S/, 'a message')
}

/** The raw session token inside a `sid=…` Cookie header (the signed cookie, unsigned). */
export function sessionToken(ctx: TestContext, cookie: string): string {
  const value = cookie.replace(/^sid=/, '')
  const unsigned = ctx.app.unsignCookie(value)
  if (!unsigned.valid || !unsigned.value) throw new Error(`not a signed session cookie: ${cookie}`)
  return unsigned.value
}

/** Every email the fake Resend API received for `to` (drains the outbox first). */
export async function emailsTo(ctx: TestContext, to: string): Promise<TestContext['mail']['sent']> {
  await ctx.app.outbox.drain()
  return ctx.mail.sent.filter((m) => m.to.includes(to))
}

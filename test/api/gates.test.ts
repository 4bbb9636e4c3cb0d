// The gate chain (API.md) on the contacts resource: every branch answers with its exact status
// and code, the first failing gate wins, and a refused write leaves the database untouched.
import t, { type Test } from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { sign } from '@fastify/cookie'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import {
  activeTenant,
  addMember,
  as,
  assertError,
  countContacts,
  createContact,
  createWorkspace,
  register,
  sessionToken,
  setWorkspaceState,
} from '../helpers/actors.js'

const ctx = await buildTestApp(t)
const CONTACTS = '/api/crm/contacts'

function postContact(headers: Record<string, string>, name = 'Grace Hopper'): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method: 'POST', url: CONTACTS, headers, payload: { name } })
}

/** POSTs a contact that must be refused with `status`/`code`, and proves no contact row appeared. */
async function refusedWrite(
  tt: Test,
  headers: Record<string, string>,
  status: number,
  code: string,
  message?: RegExp,
): Promise<void> {
  const before = await countContacts(ctx)
  const res = await postContact(headers)
  assertError(tt, res, status, code, message)
  tt.equal(await countContacts(ctx), before, 'no contact row was added')
}

t.test('authentication', async (t) => {
  // Threat: a caller without a genuine session cookie writes into a tenant's CRM.
  const { owner, workspaceId } = await activeTenant(ctx, 'Auth Co')
  const cookieValue = owner.cookie.slice('sid='.length)
  const token = sessionToken(ctx, owner.cookie)

  await t.test('no cookie → 401 unauthenticated', async (t) => {
    await refusedWrite(t, { 'x-workspace-id': workspaceId }, 401, 'unauthenticated')
  })
  await t.test('garbage cookie → 401', async (t) => {
    await refusedWrite(t, { cookie: 'sid=garbage', 'x-workspace-id': workspaceId }, 401, 'unauthenticated')
  })
  await t.test('the real token without its signature → 401', async (t) => {
    await refusedWrite(t, { cookie: `sid=${token}`, 'x-workspace-id': workspaceId }, 401, 'unauthenticated')
  })
  await t.test('the real token with a tampered signature → 401', async (t) => {
    // A character inside the signature (the last one of base64 partly encodes padding bits).
    const i = cookieValue.length - 10
    const tampered = `${cookieValue.slice(0, i)}${cookieValue[i] === 'A' ? 'B' : 'A'}${cookieValue.slice(i + 1)}`
    t.equal(ctx.app.unsignCookie(tampered).valid, false, 'the tampered cookie does not verify')
    await refusedWrite(t, { cookie: `sid=${tampered}`, 'x-workspace-id': workspaceId }, 401, 'unauthenticated')
  })
  await t.test('the real token signed with another secret → 401', async (t) => {
    const forged = sign(token, randomBytes(32).toString('hex'))
    await refusedWrite(t, { cookie: `sid=${forged}`, 'x-workspace-id': workspaceId }, 401, 'unauthenticated')
  })
  await t.test('a correctly signed token that is no session → 401', async (t) => {
    const forged = ctx.app.signCookie(randomBytes(32).toString('base64url'))
    await refusedWrite(t, { cookie: `sid=${forged}`, 'x-workspace-id': workspaceId }, 401, 'unauthenticated')
  })
  await t.test('the genuine cookie still works (control)', async (t) => {
    const res = await postContact(as(owner, workspaceId))
    t.equal(res.statusCode, 201, res.body)
    t.equal(await countContacts(ctx, workspaceId), 1)
  })
  await t.test('a session revoked by logout → 401', async (t) => {
    const other = await register(ctx)
    await addMember(ctx, workspaceId, other, 'agent')
    const out = await ctx.app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: other.cookie } })
    t.equal(out.statusCode, 204, out.body)
    await refusedWrite(t, as(other, workspaceId), 401, 'unauthenticated')
  })
})

t.test('workspace header', async (t) => {
  // Threat: a request with no or a malformed workspace id falls through to some default tenant.
  const { owner, workspaceId } = await activeTenant(ctx, 'Header Co')
  await t.test('missing X-Workspace-Id → 400 validation_failed', async (t) => {
    await refusedWrite(t, as(owner), 400, 'validation_failed', /x-workspace-id/)
  })
  for (const bad of ['not-a-uuid', '', `${workspaceId}x`, workspaceId.slice(0, -1), `${workspaceId},${workspaceId}`, "' OR 1=1 --"]) {
    await t.test(`malformed X-Workspace-Id ${JSON.stringify(bad)} → 400`, async (t) => {
      await refusedWrite(t, { cookie: owner.cookie, 'x-workspace-id': bad }, 400, 'validation_failed', /x-workspace-id/)
    })
  }
  await t.test('a read without the header → 400 too', async (t) => {
    const res = await ctx.app.inject({ method: 'GET', url: CONTACTS, headers: as(owner) })
    assertError(t, res, 400, 'validation_failed', /x-workspace-id/)
  })
})

t.test('email verification', async (t) => {
  // Threat: an account that never proved it owns its email address writes data.
  const { workspaceId } = await activeTenant(ctx, 'Verify Co')
  const unverified = await register(ctx, { verified: false })
  await addMember(ctx, workspaceId, unverified, 'owner')
  await refusedWrite(t, as(unverified, workspaceId), 403, 'email_unverified')
  const read = await ctx.app.inject({ method: 'GET', url: CONTACTS, headers: as(unverified, workspaceId) })
  t.equal(read.statusCode, 200, 'reads are not gated on verification')
})

t.test('membership', async (t) => {
  // Threat: a signed-in user of tenant B names tenant A's workspace to act in it.
  const a = await activeTenant(ctx, 'Tenant A')
  const b = await activeTenant(ctx, 'Tenant B')
  const before = await countContacts(ctx, a.workspaceId)
  await t.test("another tenant's workspace id → 403 not_a_member", async (t) => {
    await refusedWrite(t, as(b.owner, a.workspaceId), 403, 'not_a_member')
    const read = await ctx.app.inject({ method: 'GET', url: CONTACTS, headers: as(b.owner, a.workspaceId) })
    assertError(t, read, 403, 'not_a_member')
  })
  await t.test('a random uuid → 403 not_a_member', async (t) => {
    await refusedWrite(t, as(b.owner, randomUUID()), 403, 'not_a_member')
  })
  await t.test('upper-case spelling of a foreign workspace id → still 403', async (t) => {
    await refusedWrite(t, as(b.owner, a.workspaceId.toUpperCase()), 403, 'not_a_member')
  })
  t.equal(await countContacts(ctx, a.workspaceId), before, "tenant A's contacts are untouched")
})

t.test('approval gate on writes', async (t) => {
  // Threat: a workspace that is not (or no longer) approved keeps using the service.
  for (const status of ['pending_approval', 'rejected', 'suspended']) {
    await t.test(status, async (t) => {
      const { owner, workspaceId } = await activeTenant(ctx, `Approval ${status}`)
      await setWorkspaceState(ctx, workspaceId, { status })
      await refusedWrite(t, as(owner, workspaceId), 403, `workspace_${status}`)
    })
  }
  await t.test('a freshly created workspace is pending approval', async (t) => {
    const owner = await register(ctx)
    const workspaceId = await createWorkspace(ctx, owner, 'Fresh')
    await refusedWrite(t, as(owner, workspaceId), 403, 'workspace_pending_approval')
  })
})

t.test('trial gate', async (t) => {
  // Threat: a workspace whose trial ended keeps writing without paying.
  await t.test('trial over, no subscription → 402 trial_expired', async (t) => {
    const { owner, workspaceId } = await activeTenant(ctx, 'Expired')
    await setWorkspaceState(ctx, workspaceId, { trialDays: -1, billing: 'none' })
    await refusedWrite(t, as(owner, workspaceId), 402, 'trial_expired')
  })
  for (const billing of ['past_due', 'canceled']) {
    await t.test(`trial over, billing ${billing} → 402 trial_expired`, async (t) => {
      const { owner, workspaceId } = await activeTenant(ctx, `Expired ${billing}`)
      await setWorkspaceState(ctx, workspaceId, { trialDays: -3, billing })
      await refusedWrite(t, as(owner, workspaceId), 402, 'trial_expired')
    })
  }
  await t.test('trial over but billing active → allowed', async (t) => {
    const { owner, workspaceId } = await activeTenant(ctx, 'Paying')
    await setWorkspaceState(ctx, workspaceId, { trialDays: -30, billing: 'active' })
    const res = await postContact(as(owner, workspaceId), 'Paid Contact')
    t.equal(res.statusCode, 201, res.body)
    t.equal(res.json().contact.name, 'Paid Contact')
    t.equal(await countContacts(ctx, workspaceId), 1, 'the row exists')
  })
  await t.test('trial still running → allowed', async (t) => {
    const { owner, workspaceId } = await activeTenant(ctx, 'Trialing')
    const res = await postContact(as(owner, workspaceId))
    t.equal(res.statusCode, 201, res.body)
    t.equal(await countContacts(ctx, workspaceId), 1)
  })
})

t.test('permission gate', async (t) => {
  // Threat: a read-only member creates, edits or deletes contacts.
  const { owner, workspaceId } = await activeTenant(ctx, 'Roles')
  const viewer = await register(ctx)
  // The custom "Viewer" role sees every contact, as migration 0009 kept each former viewer.
  await addMember(ctx, workspaceId, viewer, 'viewer', 'all')
  const existing = await createContact(ctx, owner, workspaceId, { name: 'Keep Me' })

  await refusedWrite(t, as(viewer, workspaceId), 403, 'forbidden', /contacts:create/)

  const patch = await ctx.app.inject({
    method: 'PATCH', url: `${CONTACTS}/${existing.id}`, headers: as(viewer, workspaceId), payload: { name: 'Changed' },
  })
  assertError(t, patch, 403, 'forbidden', /contacts:update/)
  const del = await ctx.app.inject({ method: 'DELETE', url: `${CONTACTS}/${existing.id}`, headers: as(viewer, workspaceId) })
  assertError(t, del, 403, 'forbidden', /contacts:delete/)
  const [row] = await ctx.sql('select name, deleted_at from contacts where id = $1', [existing.id])
  t.same(row, { name: 'Keep Me', deleted_at: null }, 'the contact is unchanged')

  const list = await ctx.app.inject({ method: 'GET', url: CONTACTS, headers: as(viewer, workspaceId) })
  t.equal(list.statusCode, 200, 'a viewer reads')
  t.same(list.json().contacts.map((c: { id: string }) => c.id), [existing.id])
})

t.test('precedence: the first failing gate answers', async (t) => {
  // Threat: gate order leaks information or lets a later, weaker gate decide.
  await t.test('unverified + not a member → email_unverified', async (t) => {
    const { workspaceId } = await activeTenant(ctx, 'Someone else')
    const unverified = await register(ctx, { verified: false })
    await refusedWrite(t, as(unverified, workspaceId), 403, 'email_unverified')
  })
  await t.test('pending approval + trial over → workspace_pending_approval', async (t) => {
    const { owner, workspaceId } = await activeTenant(ctx, 'Pending expired')
    await setWorkspaceState(ctx, workspaceId, { status: 'pending_approval', trialDays: -2, billing: 'none' })
    await refusedWrite(t, as(owner, workspaceId), 403, 'workspace_pending_approval')
  })
  await t.test('suspended + viewer → workspace_suspended', async (t) => {
    const { workspaceId } = await activeTenant(ctx, 'Suspended viewer')
    const viewer = await register(ctx)
    await addMember(ctx, workspaceId, viewer, 'viewer')
    await setWorkspaceState(ctx, workspaceId, { status: 'suspended' })
    await refusedWrite(t, as(viewer, workspaceId), 403, 'workspace_suspended')
  })
  await t.test('trial over + viewer → trial_expired', async (t) => {
    const { workspaceId } = await activeTenant(ctx, 'Expired viewer')
    const viewer = await register(ctx)
    await addMember(ctx, workspaceId, viewer, 'viewer')
    await setWorkspaceState(ctx, workspaceId, { trialDays: -1, billing: 'none' })
    await refusedWrite(t, as(viewer, workspaceId), 402, 'trial_expired')
  })
  await t.test('no cookie + malformed header → unauthenticated', async (t) => {
    await refusedWrite(t, { 'x-workspace-id': 'nope' }, 401, 'unauthenticated')
  })
})

t.test('reads in each state', async (t) => {
  // Threat: a rejected or suspended workspace keeps reading its CRM, or a blocked client cannot learn why.
  type Case = { label: string; state: Parameters<typeof setWorkspaceState>[2]; contacts: 200 | string; daysLeft: number; expired: boolean }
  const cases: Case[] = [
    { label: 'active, trial running', state: { status: 'active', trialDays: 5 }, contacts: 200, daysLeft: 5, expired: false },
    { label: 'active, trial over', state: { status: 'active', trialDays: -1, billing: 'none' }, contacts: 200, daysLeft: 0, expired: true },
    { label: 'pending approval', state: { status: 'pending_approval' }, contacts: 200, daysLeft: 14, expired: false },
    { label: 'rejected', state: { status: 'rejected' }, contacts: 'workspace_rejected', daysLeft: 14, expired: false },
    { label: 'suspended', state: { status: 'suspended' }, contacts: 'workspace_suspended', daysLeft: 14, expired: false },
    { label: 'suspended, trial over', state: { status: 'suspended', trialDays: -2 }, contacts: 'workspace_suspended', daysLeft: 0, expired: true },
  ]
  for (const c of cases) {
    await t.test(c.label, async (t) => {
      const { owner, workspaceId } = await activeTenant(ctx, `Reads ${c.label}`)
      const contact = await createContact(ctx, owner, workspaceId, { name: 'Visible' })
      await setWorkspaceState(ctx, workspaceId, c.state)

      const list = await ctx.app.inject({ method: 'GET', url: CONTACTS, headers: as(owner, workspaceId) })
      const one = await ctx.app.inject({ method: 'GET', url: `${CONTACTS}/${contact.id}`, headers: as(owner, workspaceId) })
      if (c.contacts === 200) {
        t.equal(list.statusCode, 200, list.body)
        t.same(list.json().contacts.map((x: { id: string }) => x.id), [contact.id])
        t.equal(one.statusCode, 200, one.body)
        t.equal(one.json().contact.name, 'Visible')
      } else {
        assertError(t, list, 403, c.contacts)
        assertError(t, one, 403, c.contacts)
      }

      const ws = await ctx.app.inject({ method: 'GET', url: '/api/workspace', headers: as(owner, workspaceId) })
      t.equal(ws.statusCode, 200, `GET /api/workspace answers: ${ws.body}`)
      const view = ws.json().workspace
      t.equal(view.id, workspaceId)
      t.equal(view.status, c.state.status)
      t.equal(view.trial.daysLeft, c.daysLeft, 'trial.daysLeft')
      t.equal(view.trial.expired, c.expired, 'trial.expired')
    })
  }
})

t.test('GET /api/workspace trial figures', async (t) => {
  // Threat: the banner and the write gate disagree, so a client is told it may write when it may not.
  const { owner, workspaceId } = await activeTenant(ctx, 'Banner')
  const view = async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/api/workspace', headers: as(owner, workspaceId) })
    t.equal(res.statusCode, 200, res.body)
    return res.json().workspace as { trial: { endsAt: string; daysLeft: number; expired: boolean }; billing: { status: string } }
  }
  const [row] = await ctx.sql<{ trial_ends_at: Date }>('select trial_ends_at from workspaces where id = $1', [workspaceId])
  let w = await view()
  t.same(w.trial, { endsAt: row!.trial_ends_at.toISOString(), daysLeft: 14, expired: false }, '14 days left')

  await setWorkspaceState(ctx, workspaceId, { trialDays: 3 })
  w = await view()
  t.equal(w.trial.daysLeft, 3)
  t.equal(w.trial.expired, false)

  await setWorkspaceState(ctx, workspaceId, { trialDays: -1, billing: 'none' })
  w = await view()
  t.equal(w.trial.daysLeft, 0)
  t.equal(w.trial.expired, true)
  t.equal(w.billing.status, 'none')
  t.equal((await postContact(as(owner, workspaceId))).statusCode, 402, 'and the gate agrees')

  await setWorkspaceState(ctx, workspaceId, { billing: 'active' })
  w = await view()
  t.equal(w.trial.expired, false, 'an active subscription is not an expired trial')
  t.equal(w.billing.status, 'active')
  t.equal((await postContact(as(owner, workspaceId))).statusCode, 201, 'and the gate agrees')
})

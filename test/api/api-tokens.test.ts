// API tokens over HTTP (API.md "API tokens"): created, listed and revoked by token managers, shown
// once, `gate_<short id>_<secret>` with 256 random bits, only its SHA-256 stored; then
// `Authorization: Bearer` on every workspace route, bound to the token's workspace, never the
// cookie's, outside the CSRF origin rule, through the whole gate chain for its creator (whose
// current role bounds the token's scopes on every request), rate limited per token, and
// attributed to the token and its creator in the audit trail. Time moves by rewriting the
// database's timestamps (the database's clock decides expiry and the use stamp) and the
// injected clock (rate limits): no sleeps.
import t from 'tap'
import { createHash } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, addMember, as, assertError, register, type Actor } from '../helpers/actors.js'
import { listAll } from '../helpers/audit.js'

const clock = { now: Date.UTC(2030, 0, 1) }
const ctx = await buildTestApp(t, {}, { clock: () => clock.now })
const { owner, workspaceId } = await activeTenant(ctx, 'Token Co')
const other = await activeTenant(ctx, 'Other Co')

interface Created {
  token: string
  apiToken: { id: string; name: string; scopes: string[]; hint: string; createdBy: string; createdAt: string; expiresAt: string | null; lastUsedAt: string | null; revokedAt: string | null }
}

const TOKEN_FIELDS = ['createdAt', 'createdBy', 'expiresAt', 'hint', 'id', 'lastUsedAt', 'name', 'revokedAt', 'scopes']

function createToken(actor: Actor, ws: string, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method: 'POST', url: '/api/workspace/api-tokens', headers: as(actor, ws), payload: body })
}

async function newToken(actor: Actor, ws: string, scopes: string[], extra: Record<string, unknown> = {}): Promise<Created> {
  const res = await createToken(actor, ws, { name: 'Integration', scopes, ...extra })
  if (res.statusCode !== 201) throw new Error(`create token: ${res.statusCode} ${res.body}`)
  return res.json<Created>()
}

function bearer(token: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, opts: { payload?: object; headers?: Record<string, string> } = {}) {
  return ctx.app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...opts.headers }, ...(opts.payload ? { payload: opts.payload } : {}) })
}

const list = async (actor: Actor = owner, ws = workspaceId) => {
  const res = await ctx.app.inject({ method: 'GET', url: '/api/workspace/api-tokens', headers: as(actor, ws) })
  if (res.statusCode !== 200) throw new Error(`list tokens: ${res.statusCode} ${res.body}`)
  return res.json<{ apiTokens: Created['apiToken'][] }>().apiTokens
}
const stored = async (id: string) =>
  (await ctx.sql<{ token_hash: Buffer; hint: string; last_used_at: Date | null }>('select token_hash, hint, last_used_at from api_tokens where id = $1', [id]))[0]!
const usedEvents = async (id: string) =>
  (await ctx.sql('select 1 from audit_log where action = \'api_token.used\' and entity_id = $1', [id])).length

t.test('create, list, use, revoke: the token is shown once and only its SHA-256 is stored', async (t) => {
  const res = await createToken(owner, workspaceId, { name: 'Zapier', scopes: ['contacts:read', 'contacts:create'] })
  t.equal(res.statusCode, 201, res.body)
  const { token, apiToken } = res.json<Created>()
  t.same(Object.keys(res.json<object>()).sort(), ['apiToken', 'token'])

  // Format and entropy: gate_<first 8 hex of the workspace id>_<43 base64url characters = 32 bytes>.
  const short = workspaceId.replace(/-/g, '').slice(0, 8)
  t.match(token, new RegExp(`^gate_${short}_[A-Za-z0-9_-]{43}$`), 'gate_<workspace short id>_<secret>')
  const secret = token.slice(`gate_${short}_`.length)
  t.equal(Buffer.from(secret, 'base64url').length, 32, 'the secret is 256 bits')
  const second = await newToken(owner, workspaceId, ['contacts:read'])
  t.not(second.token.slice(14), secret, 'a new secret every time')

  t.same(Object.keys(apiToken).sort(), TOKEN_FIELDS)
  t.match(apiToken, { name: 'Zapier', scopes: ['contacts:create', 'contacts:read'], hint: token.slice(-4), createdBy: owner.id, expiresAt: null, lastUsedAt: null, revokedAt: null })
  const row = await stored(apiToken.id)
  t.same(row.token_hash, createHash('sha256').update(token).digest(), 'the database holds SHA-256 of the whole token')
  t.equal(row.hint, token.slice(-4))
  const everywhere = JSON.stringify(await ctx.sql('select to_jsonb(a) as a from audit_log a where workspace_id = $1', [workspaceId]))
  t.notOk(everywhere.includes(secret) || everywhere.includes(row.token_hash.toString('hex')), 'neither the token nor its hash is in the audit trail')

  const listed = await list()
  const mine = listed.find((x) => x.id === apiToken.id)!
  t.same(Object.keys(mine).sort(), TOKEN_FIELDS, 'the list shows the token without the token or its hash')
  t.notOk(JSON.stringify(listed).includes(secret), 'never the secret')

  const contacts = await bearer(token, 'GET', '/api/crm/contacts')
  t.equal(contacts.statusCode, 200, `a read with the token, no X-Workspace-Id: ${contacts.body.slice(0, 200)}`)
  t.equal(contacts.headers['set-cookie'], undefined, 'no cookie for a token')
  t.ok((await list()).find((x) => x.id === apiToken.id)!.lastUsedAt, 'lastUsedAt is stamped')

  const revoke = await ctx.app.inject({ method: 'DELETE', url: `/api/workspace/api-tokens/${apiToken.id}`, headers: as(owner, workspaceId) })
  t.equal(revoke.statusCode, 204, revoke.body)
  assertError(t, await bearer(token, 'GET', '/api/crm/contacts'), 401, 'unauthenticated')
  t.ok((await list()).find((x) => x.id === apiToken.id)!.revokedAt, 'the list shows it revoked')
  const again = await ctx.app.inject({ method: 'DELETE', url: `/api/workspace/api-tokens/${apiToken.id}`, headers: as(owner, workspaceId) })
  t.equal(again.statusCode, 204, 'revoking it again changes nothing')

  const audit = await ctx.sql<{ action: string; actor_user_id: string; after: Record<string, unknown> }>(
    `select action, actor_user_id, after from audit_log where entity_type = 'api_token' and entity_id = $1 order by chain_seq`, [apiToken.id])
  t.same(audit.map((r) => r.action), ['api_token.create', 'api_token.used', 'api_token.update'], 'creation, first use and revocation are audited')
  t.equal(audit[0]!.actor_user_id, owner.id)
  t.notOk('token_hash' in audit[0]!.after, 'the creation record has no hash')
  t.ok(audit[2]!.after.revoked_at, 'the revocation record shows revoked_at')
})

t.test('each refusal of a creation', async (t) => {
  assertError(t, await createToken(owner, workspaceId, { name: 'Odd', scopes: ['contacts:read', 'contacts:fly'] }), 400, 'validation_failed', /contacts:fly/)
  assertError(t, await createToken(owner, workspaceId, { name: 'Late', scopes: ['contacts:read'], expiresAt: '2001-01-01T00:00:00Z' }), 400, 'validation_failed', /expiresAt/)
  assertError(t, await createToken(owner, workspaceId, { name: 'Bad', scopes: ['contacts:read'], expiresAt: 'tomorrow' }), 400, 'validation_failed', /expiresAt/)
  assertError(t, await createToken(owner, workspaceId, { name: ' ', scopes: ['contacts:read'] }), 400, 'validation_failed', /name/)
  assertError(t, await createToken(owner, workspaceId, { name: 'Empty', scopes: [] }), 400, 'validation_failed', /scopes/)
  assertError(t, await createToken(owner, workspaceId, { name: 'Extra', scopes: ['contacts:read'], tokenHash: 'x' }), 400, 'validation_failed')

  const admin = await register(ctx)
  await addMember(ctx, workspaceId, admin, 'admin')
  assertError(t, await createToken(admin, workspaceId, { name: 'Treasurer', scopes: ['contacts:read', 'billing:read'] }), 403, 'forbidden', /billing:read/)
  t.equal((await createToken(admin, workspaceId, { name: 'Within', scopes: ['contacts:read', 'api_tokens:manage'] })).statusCode, 201, 'an admin within their permissions')

  const agent = await register(ctx)
  await addMember(ctx, workspaceId, agent, 'agent')
  assertError(t, await createToken(agent, workspaceId, { name: 'Mine', scopes: ['contacts:read'] }), 403, 'forbidden', /api_tokens:manage/)
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/workspace/api-tokens', headers: as(agent, workspaceId) }), 403, 'forbidden', /api_tokens:manage/)
  const someId = (await list())[0]!.id
  assertError(t, await ctx.app.inject({ method: 'DELETE', url: `/api/workspace/api-tokens/${someId}`, headers: as(agent, workspaceId) }), 403, 'forbidden', /api_tokens:manage/)

  const foreign = await newToken(other.owner, other.workspaceId, ['contacts:read'])
  assertError(t, await ctx.app.inject({ method: 'DELETE', url: `/api/workspace/api-tokens/${foreign.apiToken.id}`, headers: as(owner, workspaceId) }), 404, 'not_found')
  t.notOk((await ctx.sql('select revoked_at from api_tokens where id = $1', [foreign.apiToken.id]))[0]!.revoked_at, "another workspace's token is untouched")
  t.notOk((await list()).some((x) => x.id === foreign.apiToken.id), "nor listed here")
  assertError(t, await ctx.app.inject({ method: 'DELETE', url: '/api/workspace/api-tokens/00000000-0000-4000-8000-000000000000', headers: as(owner, workspaceId) }), 404, 'not_found')
})

t.test('a write with a token is attributed to the token and its creator', async (t) => {
  const { token, apiToken } = await newToken(owner, workspaceId, ['contacts:read', 'contacts:create', 'audit:read'])
  const made = await bearer(token, 'POST', '/api/crm/contacts', { payload: { name: 'Via API' } })
  t.equal(made.statusCode, 201, made.body)
  const contactId = made.json<{ contact: { id: string; ownerId: string } }>().contact.id
  const [row] = await ctx.sql<{ actor_user_id: string; actor_token_id: string }>(
    `select actor_user_id, actor_token_id from audit_log where action = 'contact.create' and entity_id = $1`, [contactId])
  t.same(row, { actor_user_id: owner.id, actor_token_id: apiToken.id }, 'actor: the creator, through the token')

  const { entries } = await listAll(ctx, { authorization: `Bearer ${token}` }, '/api/workspace/audit-log', `action=contact.create`)
  t.match(entries.find((e) => e.entityId === contactId), { actorId: owner.id, actorTokenId: apiToken.id }, 'the audit log API says so too (read with the token)')

  const scoped = await newToken(owner, workspaceId, ['contacts:read'])
  assertError(t, await bearer(scoped.token, 'POST', '/api/crm/contacts', { payload: { name: 'Beyond scope' } }), 403, 'forbidden', /scope.*contacts:create/)
})

t.test('a token is bound to its workspace', async (t) => {
  const { token } = await newToken(owner, workspaceId, ['contacts:read'])
  t.equal((await bearer(token, 'GET', '/api/crm/contacts', { headers: { 'x-workspace-id': workspaceId } })).statusCode, 200, 'naming its own workspace')
  assertError(t, await bearer(token, 'GET', '/api/crm/contacts', { headers: { 'x-workspace-id': other.workspaceId } }), 403, 'not_a_member')
  assertError(t, await bearer(token, 'GET', '/api/crm/contacts', { headers: { 'x-workspace-id': 'nope' } }), 400, 'validation_failed')
  const theirs = await ctx.sql<{ id: string }>('select id from contacts where workspace_id = $1', [other.workspaceId])
  const seen = await bearer(token, 'GET', '/api/crm/contacts')
  t.notOk(theirs.some((c) => seen.body.includes(c.id)), "no contact of another workspace")
})

t.test('malformed, unknown, revoked and expired tokens answer 401', async (t) => {
  const { token, apiToken } = await newToken(owner, workspaceId, ['contacts:read'], { expiresAt: new Date(Date.now() + 3_600_000).toISOString() })
  t.equal((await bearer(token, 'GET', '/api/crm/contacts')).statusCode, 200, 'before its expiry')
  await ctx.sql(`update api_tokens set expires_at = now() - interval '1 second' where id = $1`, [apiToken.id])
  assertError(t, await bearer(token, 'GET', '/api/crm/contacts'), 401, 'unauthenticated')

  const short = workspaceId.replace(/-/g, '').slice(0, 8)
  for (const authorization of [`Bearer gate_${short}_${'A'.repeat(43)}`, 'Bearer gate_nothex00_x', `Bearer ${token.slice(0, -1)}`, `Basic ${token}`, token, 'Bearer']) {
    assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/crm/contacts', headers: { authorization } }), 401, 'unauthenticated')
  }
})

t.test('the creator\'s current role bounds the token: demoted, it loses power at once; removed, it is nobody', async (t) => {
  const admin = await register(ctx)
  await addMember(ctx, workspaceId, admin, 'admin')
  const { token } = await newToken(admin, workspaceId, ['contacts:read', 'audit:read', 'members:read'])
  t.equal((await bearer(token, 'GET', '/api/workspace/audit-log')).statusCode, 200, 'an admin\'s token reads the audit log')
  await ctx.sql(`update memberships set role = 'agent' where workspace_id = $1 and user_id = $2`, [workspaceId, admin.id])
  assertError(t, await bearer(token, 'GET', '/api/workspace/audit-log'), 403, 'forbidden', /audit:read/)
  t.equal((await bearer(token, 'GET', '/api/workspace/members')).statusCode, 200, 'what an agent holds still works')

  await ctx.sql(`update users set email_verified_at = null where id = $1`, [admin.id])
  await ctx.sql(`update memberships set role = 'admin' where workspace_id = $1 and user_id = $2`, [workspaceId, admin.id])
  const write = await newToken(admin, workspaceId, ['contacts:create']).catch((err: Error) => err)
  t.ok(write instanceof Error && /email_unverified/.test(write.message), 'an unverified creator makes no token')
  await ctx.sql(`update users set email_verified_at = now() where id = $1`, [admin.id])
  const writer = await newToken(admin, workspaceId, ['contacts:create'])
  await ctx.sql(`update users set email_verified_at = null where id = $1`, [admin.id])
  assertError(t, await bearer(writer.token, 'POST', '/api/crm/contacts', { payload: { name: 'Unverified' } }), 403, 'email_unverified')
  await ctx.sql(`update users set email_verified_at = now() where id = $1`, [admin.id])

  await ctx.sql('delete from memberships where workspace_id = $1 and user_id = $2', [workspaceId, admin.id])
  assertError(t, await bearer(token, 'GET', '/api/crm/contacts'), 401, 'unauthenticated')
  assertError(t, await bearer(writer.token, 'POST', '/api/crm/contacts', { payload: { name: 'Gone' } }), 401, 'unauthenticated')
})

t.test('a bearer request is never authenticated by its cookie, and is outside the CSRF origin rule', async (t) => {
  const { token } = await newToken(owner, workspaceId, ['contacts:read', 'contacts:create'])
  // The other tenant's owner's cookie rides along: the token alone decides.
  const seen = await bearer(token, 'GET', '/api/crm/contacts', { headers: { cookie: other.owner.cookie } })
  t.equal(seen.statusCode, 200, 'the token acts in its own workspace')
  const mine = await ctx.sql<{ id: string }>('select id from contacts where workspace_id = $1', [other.workspaceId])
  t.notOk(mine.some((c) => seen.body.includes(c.id)), "nothing of the cookie's workspace")
  assertError(t, await bearer(token, 'GET', '/api/crm/contacts', { headers: { cookie: other.owner.cookie, 'x-workspace-id': other.workspaceId } }), 403, 'not_a_member')
  assertError(t, await ctx.app.inject({ method: 'GET', url: '/api/crm/contacts', headers: { ...as(owner, workspaceId), authorization: 'Bearer gate_00000000_x' } }), 401, 'unauthenticated',
    /no API token/)

  const foreign = await bearer(token, 'POST', '/api/crm/contacts', { payload: { name: 'From afar' }, headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } })
  t.equal(foreign.statusCode, 201, `a bearer write from a foreign origin is judged by its token: ${foreign.body}`)
})

t.test('tokens are for workspace routes only', async (t) => {
  const { token } = await newToken(owner, workspaceId, ['contacts:read', 'workspace:read'])
  for (const url of ['/api/auth/me', '/api/settings/security', '/api/workspaces']) {
    assertError(t, await bearer(token, 'GET', url), 401, 'unauthenticated', /workspace routes only/)
  }
  t.equal((await bearer(token, 'GET', '/api/workspace')).statusCode, 200, 'GET /api/workspace is a workspace route')
})

t.test('lastUsedAt is written at most once a minute; the first use of each UTC day is audited once', async (t) => {
  const { token, apiToken } = await newToken(owner, workspaceId, ['contacts:read'])
  t.equal((await stored(apiToken.id)).last_used_at, null, 'never used')
  t.equal(await usedEvents(apiToken.id), 0)
  await bearer(token, 'GET', '/api/crm/contacts')
  const first = (await stored(apiToken.id)).last_used_at
  t.ok(first, 'stamped on first use')
  t.equal(await usedEvents(apiToken.id), 1, 'the first use is audited')
  await ctx.sql(`update api_tokens set last_used_at = last_used_at - interval '50 seconds' where id = $1`, [apiToken.id])
  const rewound = (await stored(apiToken.id)).last_used_at
  await bearer(token, 'GET', '/api/crm/contacts')
  t.same((await stored(apiToken.id)).last_used_at, rewound, 'within the minute: not written again')
  t.equal(await usedEvents(apiToken.id), 1, 'nor audited again')
  await ctx.sql(`update api_tokens set last_used_at = now() - interval '61 seconds' where id = $1`, [apiToken.id])
  await bearer(token, 'GET', '/api/crm/contacts')
  t.ok((await stored(apiToken.id)).last_used_at! > rewound!, 'after a minute: written again')
  t.equal(await usedEvents(apiToken.id), 1, 'the same UTC day: not audited again')
  await ctx.sql(`update api_tokens set last_used_at = now() - interval '1 day' where id = $1`, [apiToken.id])
  await bearer(token, 'GET', '/api/crm/contacts')
  t.equal(await usedEvents(apiToken.id), 2, 'last used on an earlier UTC day: audited again')
  const [event] = await ctx.sql<{ actor_user_id: string; actor_token_id: string }>(
    `select actor_user_id, actor_token_id from audit_log where action = 'api_token.used' and entity_id = $1 order by chain_seq desc limit 1`, [apiToken.id])
  t.same(event, { actor_user_id: owner.id, actor_token_id: apiToken.id })
})

t.test('each token has its own rate limit: 429 rate_limited with Retry-After', async (t) => {
  const limited = await buildTestApp(t, { RATE_LIMIT_API_TOKEN: '3/1m' }, { clock: () => clock.now, db: ctx.db, rateLimitSweepMs: 0 })
  const { token } = await newToken(owner, workspaceId, ['contacts:read'])
  const { token: another } = await newToken(owner, workspaceId, ['contacts:read'])
  const call = (tok: string) => limited.app.inject({ method: 'GET', url: '/api/crm/contacts', headers: { authorization: `Bearer ${tok}` } })
  for (let i = 1; i <= 3; i++) t.equal((await call(token)).statusCode, 200, `request ${i} of 3`)
  const refused = await call(token)
  assertError(t, refused, 429, 'rate_limited')
  const retryAfter = Number(refused.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 120, `Retry-After in whole seconds (${refused.headers['retry-after']})`)
  t.equal((await call(another)).statusCode, 200, 'another token of the same creator has its own budget')
  clock.now += 2 * 60_000
  t.equal((await call(token)).statusCode, 200, 'two minutes later it is through again')
})

// Credentials never travel in query text. Every other connection of the runtime login may read
// pg_stat_activity.query, and statement logs and pg_stat_statements record the same text: a
// session token hash there is all app.begin_request needs to act as that user.
import t from 'tap'
import pg from 'pg'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, activeTenant, as, createContact, register, sessionToken } from '../helpers/actors.js'
import { beginRequest } from '../../src/db/request-tx.js'
import { hashToken } from '../../src/crypto/tokens.js'

const ctx = await buildTestApp(t)
const observer = new pg.Client({ connectionString: ctx.db.appUrl, application_name: 'observer' })
await observer.connect()
t.teardown(() => observer.end())

/** What the other runtime connections' pg_stat_activity rows show right now. */
async function visibleQueries(): Promise<string[]> {
  const { rows } = await observer.query<{ query: string }>(
    `select query from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and query <> ''`,
  )
  return rows.map((r) => r.query)
}

/** Every way a 32-byte hash could be spelt in query text. */
function spellings(hash: Buffer): string[] {
  const hex = hash.toString('hex')
  return [hex, hex.toUpperCase(), hash.toString('base64'), hash.toString('base64url')]
}

t.test('a request\'s opening statement binds its token hash', async (t) => {
  // Threat: another runtime connection reads a session's token hash from pg_stat_activity and acts as that user.
  const { owner, workspaceId } = await activeTenant(ctx)
  const hash = hashToken(sessionToken(ctx, owner.cookie))
  const { tx, principal } = await beginRequest(ctx.pools.runtime, { tokenHash: hash, workspaceId, ip: '203.0.113.5', userAgent: 'probe', requestId: 'r1' })
  try {
    t.equal(principal?.userId, owner.id, 'the request is open, as the owner')
    const pid = (tx.client as unknown as { processID: number }).processID
    const { rows } = await observer.query<{ query: string; state: string }>('select query, state from pg_stat_activity where pid = $1', [pid])
    t.same(rows, [{ query: 'SELECT * FROM app.begin_request($1, $2, $3, $4, $5)', state: 'idle in transaction' }], 'another connection sees only placeholders')
  } finally {
    await tx.rollback()
  }
})

t.test('under load, no hash, token or password ever shows in another connection\'s view', async (t) => {
  // Threat: some path (sign-in, MFA, re-issue, a reset link) still builds a secret into its SQL.
  const { owner, workspaceId } = await activeTenant(ctx)
  const other = await register(ctx)
  const secrets = [owner, other].flatMap((a) => {
    const token = sessionToken(ctx, a.cookie)
    return [token, ...spellings(hashToken(token))]
  })
  const seen = new Set<string>()
  let polling = true
  const poller = (async () => {
    while (polling) for (const q of await visibleQueries()) seen.add(q)
  })()
  for (let round = 0; round < 15; round++) {
    await Promise.all([
      ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: as(owner) }),
      ctx.app.inject({ method: 'GET', url: '/api/crm/contacts', headers: as(owner, workspaceId) }),
      createContact(ctx, owner, workspaceId, { name: `Load ${round}` }),
      ctx.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: other.email, password: PASSWORD } }),
      ctx.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: other.email, password: 'a wrong password!' } }),
      ctx.app.inject({ method: 'GET', url: '/api/auth/sessions', headers: as(other) }),
    ])
  }
  polling = false
  await poller
  const texts = [...seen]
  t.ok(texts.some((q) => q.includes('app.begin_request')), `the observer did see requests being opened (${texts.length} distinct statements)`)
  t.ok(texts.some((q) => q.includes('app.sign_in')), 'and sign-ins')
  for (const secret of [...secrets, PASSWORD]) {
    t.same(texts.filter((q) => q.includes(secret)), [], `never ${secret.slice(0, 6)}…`)
  }
  t.same(texts.filter((q) => /\\x[0-9a-f]{64}|'[0-9a-f]{64}'/i.test(q)), [], 'nor any 32-byte hash literal')
})

t.test('an API token, its hash and channel secrets stay out of query text too', async (t) => {
  // Threat: the bearer path, token creation or a channel credential builds a secret into its SQL.
  const { owner, workspaceId } = await activeTenant(ctx)
  const botToken = '424242:AAqueryTextTelegramSecret_0123456789'
  const seen = new Set<string>()
  let polling = true
  const poller = (async () => {
    while (polling) for (const q of await visibleQueries()) seen.add(q)
  })()
  const made = await ctx.app.inject({ method: 'POST', url: '/api/workspace/api-tokens', headers: as(owner, workspaceId),
    payload: { name: 'Probe', scopes: ['contacts:read', 'contacts:create'] } })
  t.equal(made.statusCode, 201)
  const token = made.json<{ token: string }>().token
  const bearer = { authorization: `Bearer ${token}` }
  for (let round = 0; round < 15; round++) {
    await Promise.all([
      ctx.app.inject({ method: 'GET', url: '/api/crm/contacts', headers: bearer }),
      ctx.app.inject({ method: 'POST', url: '/api/crm/contacts', headers: bearer, payload: { name: `Bearer ${round}` } }),
      ctx.app.inject({ method: 'PUT', url: '/api/workspace/channels/telegram', headers: as(owner, workspaceId), payload: { botToken } }),
    ])
  }
  polling = false
  await poller
  const texts = [...seen]
  t.ok(texts.some((q) => q.includes('app.begin_token_request')), 'the observer did see bearer requests being opened')
  for (const secret of [token, ...spellings(hashToken(token)), botToken, botToken.split(':')[1]!]) {
    t.same(texts.filter((q) => q.includes(secret)), [], `never ${secret.slice(0, 6)}…`)
  }
})

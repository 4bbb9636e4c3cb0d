// /api/workspace/channels: channel credentials set, replaced and removed by channel managers,
// shown only as masks; sealed per workspace, type and field with the workspace's data key; and
// the attacks: an agent asking, a ciphertext moved to another workspace's or field's place, a
// secret echoed in a 400, a response, a log line or the audit trail.
import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, addMember, as, assertError, register, type Actor } from '../helpers/actors.js'
import { listAll } from '../helpers/audit.js'
import { DecryptError } from '../../src/crypto/envelope.js'
import { unwrapDataKey } from '../../src/crypto/data-keys.js'
import { openChannel } from '../../src/modules/channels/service.js'

const lines: string[] = []
const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }))
const ctx = await buildTestApp(t, {}, { logger })

const BOT_TOKEN = '123456789:AAH9secretTelegramBotTokenValue_9xYz'
const WA_TOKEN = 'EAAGsecretWhatsAppAccessTokenValue0123456789'
const RESEND_KEY = 're_secretWorkspaceResendKey_7Qp2'

const send = (actor: Actor, workspaceId: string, method: 'GET' | 'PUT' | 'DELETE', url: string, payload?: object) =>
  ctx.app.inject({ method, url: `/api/workspace/channels${url}`, headers: as(actor, workspaceId), ...(payload ? { payload } : {}) })

/** Every secret this suite ever sends, for the "never shown" checks. */
const SECRETS = [BOT_TOKEN, WA_TOKEN, RESEND_KEY, 'secretTelegram', 'secretWhatsApp', 'secretWorkspace']
function leaks(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s))
}

t.test('an owner connects Telegram, WhatsApp and Resend; every answer shows masks only', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx)
  const empty = await send(owner, workspaceId, 'GET', '')
  t.equal(empty.statusCode, 200)
  t.same(empty.json().channels, [
    { type: 'telegram', configured: false, masked: {}, updatedAt: null },
    { type: 'whatsapp', configured: false, masked: {}, updatedAt: null },
    { type: 'resend', configured: false, masked: {}, updatedAt: null },
  ])

  const tg = await send(owner, workspaceId, 'PUT', '/telegram', { botToken: BOT_TOKEN })
  t.equal(tg.statusCode, 200, tg.body)
  t.same(tg.json().channel.masked, { botToken: '••••9xYz' })
  t.equal(tg.json().channel.configured, true)
  const wa = await send(owner, workspaceId, 'PUT', '/whatsapp', { accessToken: WA_TOKEN, phoneNumberId: '1065550123' })
  t.same(wa.json().channel.masked, { accessToken: '••••6789', phoneNumberId: '••••0123' })
  const rs = await send(owner, workspaceId, 'PUT', '/resend', { apiKey: RESEND_KEY, from: 'Acme <hello@acme.test>' })
  t.same(rs.json().channel.masked, { apiKey: '••••7Qp2', from: '••••est>' })

  const list = await send(owner, workspaceId, 'GET', '')
  t.same(list.json().channels.map((c: { configured: boolean }) => c.configured), [true, true, true])
  for (const res of [tg, wa, rs, list]) t.same(leaks(res.body), [], 'no secret in a response')

  const rows = await ctx.sql<{ secrets: string }>('select secrets_encrypted::text as secrets from channel_credentials where workspace_id = $1', [workspaceId])
  t.equal(rows.length, 3)
  t.same(leaks(rows.map((r) => r.secrets).join()), [], 'the database holds ciphertext only')
  const key = await ctx.sql<{ data_key_encrypted: string }>('select data_key_encrypted from workspace_keys where workspace_id = $1', [workspaceId])
  t.match(key[0]!.data_key_encrypted, /^v1\./, 'the data key is stored wrapped by the ring')
})

t.test('replacing and removing: 200 with the new mask, 204, then 404; each audited with masks only', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx)
  await send(owner, workspaceId, 'PUT', '/telegram', { botToken: BOT_TOKEN })
  const replaced = await send(owner, workspaceId, 'PUT', '/telegram', { botToken: '987654321:BBsecretTelegramReplacementToken_AbCd' })
  t.equal(replaced.statusCode, 200)
  t.same(replaced.json().channel.masked, { botToken: '••••AbCd' })
  t.equal((await send(owner, workspaceId, 'DELETE', '/telegram')).statusCode, 204)
  assertError(t, await send(owner, workspaceId, 'DELETE', '/telegram'), 404, 'not_found')
  const { entries } = await listAll(ctx, as(owner, workspaceId), '/api/workspace/audit-log', 'entity=channel')
  const audit = entries.filter((e) => e.entityType === 'channel')
  t.same(audit.map((e) => e.action), ['channel.purge', 'channel.update', 'channel.create'])
  t.same(audit[1]!.after, { ...audit[1]!.after, type: 'telegram', masked: { botToken: '••••AbCd' } })
  t.notOk(JSON.stringify(audit).includes('secrets_encrypted'), 'no ciphertext in the trail')
  t.same(leaks(JSON.stringify(audit)), [], 'no secret in the trail')
})

t.test('validation: each field required, of its shape, none foreign; the 400 names it and never echoes it', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx)
  assertError(t, await send(owner, workspaceId, 'PUT', '/telegram', {}), 400, 'validation_failed', /body\.botToken is required/)
  const bad = await send(owner, workspaceId, 'PUT', '/telegram', { botToken: 'secretTelegram-not-a-token' })
  assertError(t, bad, 400, 'validation_failed', /body\.botToken must be a Telegram bot token/)
  t.same(leaks(bad.body), [], 'the value is not echoed')
  assertError(t, await send(owner, workspaceId, 'PUT', '/whatsapp', { accessToken: WA_TOKEN }), 400, 'validation_failed', /body\.phoneNumberId/)
  assertError(t, await send(owner, workspaceId, 'PUT', '/whatsapp', { accessToken: WA_TOKEN, phoneNumberId: '12ab' }), 400, 'validation_failed', /body\.phoneNumberId must be/)
  assertError(t, await send(owner, workspaceId, 'PUT', '/resend', { apiKey: 'sk_live_secretWorkspace', from: 'a@b.test' }), 400, 'validation_failed', /body\.apiKey must be a Resend API key/)
  assertError(t, await send(owner, workspaceId, 'PUT', '/resend', { apiKey: RESEND_KEY, from: 'not an address' }), 400, 'validation_failed', /body\.from must be/)
  assertError(t, await send(owner, workspaceId, 'PUT', '/telegram', { botToken: BOT_TOKEN, apiKey: RESEND_KEY }), 400, 'validation_failed', /body\.apiKey is not a telegram/)
  assertError(t, await send(owner, workspaceId, 'PUT', '/slack', { botToken: BOT_TOKEN }), 400, 'validation_failed', /params\/type|type/)
  assertError(t, await send(owner, workspaceId, 'PUT', '/telegram', { botToken: BOT_TOKEN, extra: 1 }), 400, 'validation_failed')
  const rows = await ctx.sql('select 1 from channel_credentials where workspace_id = $1', [workspaceId])
  t.equal(rows.length, 0, 'nothing stored')
})

t.test('channels:manage only: an agent, a manager and another tenant are refused', async (t) => {
  const { owner, workspaceId } = await activeTenant(ctx)
  const admin = await register(ctx)
  const agent = await register(ctx)
  await addMember(ctx, workspaceId, admin, 'admin')
  await addMember(ctx, workspaceId, agent, 'agent')
  t.equal((await send(admin, workspaceId, 'PUT', '/telegram', { botToken: BOT_TOKEN })).statusCode, 200, 'an admin may')
  assertError(t, await send(agent, workspaceId, 'GET', ''), 403, 'forbidden', /channels:manage/)
  assertError(t, await send(agent, workspaceId, 'PUT', '/telegram', { botToken: BOT_TOKEN }), 403, 'forbidden')
  assertError(t, await send(agent, workspaceId, 'DELETE', '/telegram'), 403, 'forbidden')
  const other = await activeTenant(ctx)
  assertError(t, await send(other.owner, workspaceId, 'GET', ''), 403, 'not_a_member')
  const theirs = await send(other.owner, other.workspaceId, 'GET', '')
  t.same(theirs.json().channels.map((c: { configured: boolean }) => c.configured), [false, false, false], "another tenant sees none of this workspace's")
  void owner
})

t.test('a ciphertext moved to another workspace, channel or field does not open', async (t) => {
  const a = await activeTenant(ctx)
  const b = await activeTenant(ctx)
  await send(a.owner, a.workspaceId, 'PUT', '/resend', { apiKey: RESEND_KEY, from: 'Acme <hello@acme.test>' })
  await send(b.owner, b.workspaceId, 'PUT', '/resend', { apiKey: 're_otherWorkspaceKey_0000', from: 'B <b@b.test>' })
  const stored = async (ws: string) =>
    (await ctx.sql<{ secrets: Record<string, string>; key: string; generation: number }>(
      `select c.secrets_encrypted as secrets, k.data_key_encrypted as key, k.generation
         from channel_credentials c join workspace_keys k using (workspace_id) where c.workspace_id = $1 and c.type = 'resend'`, [ws]))[0]!
  const sa = await stored(a.workspaceId)
  const sb = await stored(b.workspaceId)
  const ring = ctx.config.encryptionKeys
  const keyA = unwrapDataKey(ring, a.workspaceId, sa.generation, sa.key)
  const keyB = unwrapDataKey(ring, b.workspaceId, sb.generation, sb.key)
  t.same(openChannel(keyA, 'resend', sa.secrets), { apiKey: RESEND_KEY, from: 'Acme <hello@acme.test>' }, 'its own opens')
  t.throws(() => openChannel(keyB, 'resend', sa.secrets), DecryptError, "A's ciphertext in B's row")
  t.throws(() => openChannel(keyA, 'resend', { from: sa.secrets.apiKey! }), DecryptError, 'the key in the sender field')
  t.throws(() => openChannel(keyA, 'telegram', { apiKey: sa.secrets.apiKey! }), DecryptError, 'under another channel')
  t.throws(() => unwrapDataKey(ring, b.workspaceId, sa.generation, sa.key), DecryptError, "A's wrapped key in B's row")
})

t.test('the runtime login, with arbitrary SQL, reads no other workspace\'s credentials or key', async (t) => {
  const a = await activeTenant(ctx)
  await send(a.owner, a.workspaceId, 'PUT', '/telegram', { botToken: BOT_TOKEN })
  const client = await ctx.pools.runtime.connect()
  try {
    const creds = await client.query('select * from channel_credentials')
    const keys = await client.query('select * from workspace_keys')
    t.equal(creds.rowCount, 0, 'no context: no credentials')
    t.equal(keys.rowCount, 0, 'no context: no keys')
    await t.rejects(client.query(`insert into workspace_keys (workspace_id, kid, data_key_encrypted) values ($1, 'x', 'y')`, [a.workspaceId]),
      /row-level security|unattributed change/, 'nor plants a data key')
    await t.rejects(client.query(`update workspace_keys set data_key_encrypted = 'v1.x' where workspace_id = $1`, [a.workspaceId]),
      /permission denied/, 'nor replaces one')
  } finally {
    client.release()
  }
})

t.test('no secret ever reached a log line', async (t) => {
  t.ok(lines.length > 0, 'the service logged')
  t.same(leaks(lines.join('\n')), [])
})

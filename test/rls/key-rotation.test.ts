// Key rotation (src/db/key-rotation.ts, `npm run keys:rotate`): a new first key in
// ENCRYPTION_KEYS; the rotation re-wraps every workspace's data key under it, and with
// re-encryption re-seals every channel credential (under a fresh data key), TOTP secret and
// queued email body, resuming after an interruption; meanwhile the service keeps working with
// the old key still in its ring, and afterwards it starts without the old key. A key still in
// use but missing from the ring is a start-up error naming it. Only the schema owner may run it.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, as, enrolMfa, register } from '../helpers/actors.js'
import { decrypt, parseKeyRing, type KeyRing } from '../../src/crypto/envelope.js'
import { unwrapDataKey } from '../../src/crypto/data-keys.js'
import { openChannel } from '../../src/modules/channels/service.js'
import { assertRingHolds, keyIdsInUse, rotateKeys } from '../../src/db/key-rotation.js'
import { syncWithDatabase } from '../../src/db/startup.js'
import { secretAad } from '../../src/modules/mfa/service.js'
import { outboxAad } from '../../src/email/outbox.js'

const ctx = await buildTestApp(t)
const spec = (ring: KeyRing) => [...ring.byId.values()].map((k) => `${k.id}:${k.key.toString('base64')}`).join(',')
const oldRing = ctx.config.encryptionKeys
const oldId = oldRing.active.id
const newKey = `k2:${randomBytes(32).toString('base64')}`
const rotated = parseKeyRing(`${newKey},${spec(oldRing)}`)
const newOnly = parseKeyRing(newKey)

const owner = new pg.Client({ connectionString: ctx.db.ownerUrl })
await owner.connect()
t.teardown(() => owner.end())

// Something sealed of every kind: two workspaces' channel credentials, a TOTP secret, queued emails.
const tenants = [await activeTenant(ctx, 'One'), await activeTenant(ctx, 'Two')]
for (const [i, { owner: o, workspaceId }] of tenants.entries()) {
  const res = await ctx.app.inject({ method: 'PUT', url: '/api/workspace/channels/resend', headers: as(o, workspaceId),
    payload: { apiKey: `re_rotationTestKey_${i}000`, from: `t${i}@example.test` } })
  if (res.statusCode !== 200) throw new Error(res.body)
}
await enrolMfa(ctx, await register(ctx))
// An invitation's email stays queued: nothing drains it.
const invited = await ctx.app.inject({ method: 'POST', url: '/api/workspace/invites', headers: as(tenants[0]!.owner, tenants[0]!.workspaceId),
  payload: { email: 'queued@example.test', role: 'agent' } })
if (invited.statusCode !== 201) throw new Error(invited.body)
const pendingEmails = await ctx.sql<{ id: string }>(`select id from email_outbox where status = 'pending' and body_encrypted is not null`)

t.test('a key still in use and missing from the ring is a start-up error naming it', async (t) => {
  await t.rejects(syncWithDatabase({ ownerUrl: ctx.db.ownerUrl, platformAdminEmails: [], keyRing: newOnly }),
    new RegExp(`ENCRYPTION_KEYS lacks key "${oldId}" \\(still sealing TOTP secrets, queued emails, workspace data keys\\)`))
  t.throws(() => assertRingHolds(newOnly, new Map([['gone', ['TOTP secrets']]])), /key "gone"/)
})

t.test('the runtime login cannot open a maintenance context', async (t) => {
  const client = await ctx.pools.runtime.connect()
  try {
    await t.rejects(client.query(`select app.begin_maintenance('steal')`), /permission denied/)
  } finally {
    client.release()
  }
})

t.test('re-wrap: every data key moves to the new key; values and other envelopes stay as they were', async (t) => {
  const before = await ctx.sql<{ secrets: string }>('select secrets_encrypted::text as secrets from channel_credentials order by workspace_id')
  const result = await rotateKeys({ client: owner, ring: rotated, reencrypt: false })
  t.match(result, { finished: true, resumed: false, done: { rewrap: 2, channels: 0 } })
  t.same(await ctx.sql('select distinct kid from workspace_keys'), [{ kid: 'k2' }])
  t.same(await ctx.sql<{ secrets: string }>('select secrets_encrypted::text as secrets from channel_credentials order by workspace_id'), before)
  const used = await keyIdsInUse(owner)
  t.same(used.get(oldId), ['TOTP secrets', 'queued emails'], 'the old key still seals these')
  t.same((await rotateKeys({ client: owner, ring: rotated, reencrypt: false })).done.rewrap, 0, 'a second run has nothing to do')
})

t.test('the service keeps working mid-rotation with both keys in its ring', async (t) => {
  const second = await buildTestApp(t, { ENCRYPTION_KEYS: spec(rotated), SESSION_SECRET: ctx.config.sessionSecret }, { db: ctx.db })
  const { owner: o, workspaceId } = tenants[0]!
  const res = await second.app.inject({ method: 'PUT', url: '/api/workspace/channels/telegram', headers: as(o, workspaceId),
    payload: { botToken: '12345:AAsecretRotationTelegramToken_xyz' } })
  t.equal(res.statusCode, 200, res.body)
})

t.test('re-encryption, interrupted and resumed: afterwards nothing needs the old key', async (t) => {
  const first = await rotateKeys({ client: owner, ring: rotated, reencrypt: true, batchSize: 1, stopAfter: 2 })
  t.match(first, { finished: false, resumed: false })
  const second = await rotateKeys({ client: owner, ring: rotated, reencrypt: true, batchSize: 1 })
  t.match(second, { finished: true, resumed: true, runId: first.runId })
  t.equal(first.done.channels + second.done.channels, 2, `each workspace re-keyed once (${JSON.stringify([first.done, second.done])})`)
  t.ok(second.done.totp >= 1 && second.done.outbox >= 1)
  t.same([...(await keyIdsInUse(owner)).keys()], ['k2'], 'only the new key seals anything')

  for (const { workspaceId } of tenants) {
    const [row] = await ctx.sql<{ key: string; generation: number; secrets: Record<string, string>; type: string }>(
      `select k.data_key_encrypted as key, k.generation, c.secrets_encrypted as secrets, c.type from workspace_keys k
         join channel_credentials c using (workspace_id) where workspace_id = $1 and c.type = 'resend'`, [workspaceId])
    t.equal(row!.generation, 2, 'a fresh data key')
    t.match(openChannel(unwrapDataKey(newOnly, workspaceId, row!.generation, row!.key), 'resend', row!.secrets).apiKey, /^re_rotationTestKey_/)
  }
  const [mfa] = await ctx.sql<{ user_id: string; secret_encrypted: string }>('select user_id, secret_encrypted from user_mfa')
  t.match(decrypt(newOnly, mfa!.secret_encrypted, secretAad(mfa!.user_id)), /^[A-Z2-7]+=*$/, 'the TOTP secret opens with the new key alone')
  for (const { id } of pendingEmails) {
    const [row] = await ctx.sql<{ body_encrypted: string }>('select body_encrypted from email_outbox where id = $1', [id])
    t.ok(JSON.parse(decrypt(newOnly, row!.body_encrypted, outboxAad(id))), 'the queued email opens with the new key alone')
  }
  const audit = await ctx.sql<{ action: string; db_role: string; request_id: string; actor_user_id: string | null }>(
    `select action, db_role, request_id, actor_user_id from audit_log where request_id like 'maintenance:%' order by chain_seq`)
  t.ok(audit.length >= 4, 'the re-keyed rows are in the trail')
  t.ok(audit.every((a) => a.db_role === owner.user && a.request_id === 'maintenance: key rotation to k2' && a.actor_user_id === null),
    "attributed to the schema owner's login and the rotation")
  t.same(await ctx.sql('select count(*)::int as n from key_rotations where finished_at is null'), [{ n: 0 }])

  await t.resolves(syncWithDatabase({ ownerUrl: ctx.db.ownerUrl, platformAdminEmails: [], keyRing: newOnly }), 'the old key may leave the ring')
  const after = await buildTestApp(t, { ENCRYPTION_KEYS: newKey, SESSION_SECRET: ctx.config.sessionSecret }, { db: ctx.db })
  const { owner: o, workspaceId } = tenants[1]!
  const list = await after.app.inject({ method: 'GET', url: '/api/workspace/channels', headers: as(o, workspaceId) })
  t.equal(list.statusCode, 200)
  const res = await after.app.inject({ method: 'PUT', url: '/api/workspace/channels/resend', headers: as(o, workspaceId),
    payload: { apiKey: 're_afterRotationKey_0001', from: 'after@example.test' } })
  t.equal(res.statusCode, 200, 'the service seals with the new key only')
})

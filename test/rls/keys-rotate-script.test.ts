// `npm run keys:rotate` end to end (scripts/keys-rotate.ts as a child process, DATABASE_URL the
// schema owner): re-wraps and, with --reencrypt, re-seals under the ring's new first key, with a
// progress bar on stderr; a wrong argument or a missing ring is exit 2 with the reason.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { seedTenant } from '../helpers/rls.js'
import { parseKeyRing } from '../../src/crypto/envelope.js'
import { newDataKey, unwrapDataKey } from '../../src/crypto/data-keys.js'
import { openChannel, sealChannel } from '../../src/modules/channels/service.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const root = fileURLToPath(new URL('../../', import.meta.url))
const oldSpec = `k1:${randomBytes(32).toString('base64')}`
const newSpec = `k2:${randomBytes(32).toString('base64')}`

function keysRotate(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/keys-rotate.ts'), ...args],
      { cwd: root, env: { ...process.env, DATABASE_URL: db.ownerUrl, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }))
  })
}

t.test('--reencrypt moves every workspace to the new key, with progress', async (t) => {
  const old = parseKeyRing(oldSpec)
  const workspaces: string[] = []
  for (let i = 0; i < 3; i++) {
    const { workspaceId } = await seedTenant(su)
    const { key, wrapped } = newDataKey(old, workspaceId)
    await su.query(`insert into workspace_keys (workspace_id, kid, data_key_encrypted) values ($1, 'k1', $2)`, [workspaceId, wrapped])
    await su.query(`insert into channel_credentials (workspace_id, type, secrets_encrypted, masked) values ($1, 'telegram', $2, '{}')`,
      [workspaceId, JSON.stringify(sealChannel(key, 'telegram', { botToken: `12345:AAscriptRotation${i}` }))])
    workspaces.push(workspaceId)
  }
  const run = await keysRotate(['--reencrypt'], { ENCRYPTION_KEYS: `${newSpec},${oldSpec}` })
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /key rotation to "k2" with re-encryption finished: rewrap 3, channels 3/)
  t.match(run.stderr, /rewrap\s+\[#{30}\] 100% 3\/3/, 'a progress bar per phase')
  const newOnly = parseKeyRing(newSpec)
  for (const [i, ws] of workspaces.entries()) {
    const { rows } = await su.query<{ kid: string; key: string; generation: number; secrets: Record<string, string> }>(
      `select k.kid, k.data_key_encrypted as key, k.generation, c.secrets_encrypted as secrets
         from workspace_keys k join channel_credentials c using (workspace_id) where workspace_id = $1`, [ws])
    t.equal(rows[0]!.kid, 'k2')
    t.same(openChannel(unwrapDataKey(newOnly, ws, rows[0]!.generation, rows[0]!.key), 'telegram', rows[0]!.secrets), { botToken: `12345:AAscriptRotation${i}` })
  }
  const again = await keysRotate([], { ENCRYPTION_KEYS: `${newSpec},${oldSpec}` })
  t.match(again.stdout, /finished: nothing to do/)
})

t.test('bad arguments and a missing ring: exit 2, saying why', async (t) => {
  const bad = await keysRotate(['--everything'], { ENCRYPTION_KEYS: newSpec })
  t.equal(bad.code, 2)
  t.match(bad.stderr, /usage: npm run keys:rotate/)
  const noRing = await keysRotate([], { ENCRYPTION_KEYS: '' })
  t.equal(noRing.code, 2)
  t.match(noRing.stderr, /ENCRYPTION_KEYS is required/)
})

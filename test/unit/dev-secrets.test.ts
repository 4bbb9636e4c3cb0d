// Development secrets, generated once into the data folder and kept across restarts.
import t from 'tap'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadOrCreateDevSecrets } from '../../src/dev-secrets.js'

t.test('generated once, then the same at every start; a secret added later is generated once too', async (t) => {
  // Threat: a secret regenerated at every start (the password pepper, say) silently locks every
  // development account out of its password, or signs every session out.
  const dir = await mkdtemp(path.join(tmpdir(), 'gh-secrets-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'nested', 'gatehouse-secrets.json')
  const first = await loadOrCreateDevSecrets(file)
  t.equal((await stat(file)).mode & 0o777, 0o600, 'written readable by its owner only')
  t.same(await loadOrCreateDevSecrets(file), first, 'the same secrets at the next start')

  // A file from before PASSWORD_PEPPERS existed.
  const { passwordPeppers: _gone, ...older } = first
  await writeFile(file, JSON.stringify(older))
  const upgraded = await loadOrCreateDevSecrets(file)
  t.match(upgraded.passwordPeppers, /^pepper1:/, 'the missing secret is generated')
  t.same({ ...upgraded, passwordPeppers: undefined }, { ...first, passwordPeppers: undefined }, 'the others are kept')
  t.equal(JSON.parse(await readFile(file, 'utf8')).passwordPeppers, upgraded.passwordPeppers, 'and written down')
  t.same(await loadOrCreateDevSecrets(file), upgraded, 'so the next start has the same one')
})

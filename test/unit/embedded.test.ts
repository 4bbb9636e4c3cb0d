// Starting PostgreSQL as root: it runs as the system user postgres, which must be able to enter
// the folders above its binaries and its data; otherwise the start fails with one clear line.
import t from 'tap'
import { chmod, mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { userInfo } from 'node:os'
import { assertPostgresCanReach, makeTempDir, startCluster } from '../../src/db/embedded.js'

t.test('a data folder the postgres user cannot reach is refused before anything starts', async (t) => {
  // Threat (to availability): `npm start` in a project under /root crashed with an uncaught
  // `spawn … initdb EACCES` instead of saying what is wrong.
  const base = await makeTempDir('gh-reach-')
  t.teardown(() => rm(base, { recursive: true, force: true }))
  const closed = path.join(base, 'private')
  await mkdir(path.join(closed, 'project'), { recursive: true })
  await chmod(closed, 0o700)
  const dataDir = path.join(closed, 'project', '.data', 'postgres')
  if (userInfo().uid !== 0) {
    // Not root: PostgreSQL runs as this very user, who may enter its own folders.
    await t.resolves(assertPostgresCanReach([dataDir]), 'nothing to check when not run as root')
    return
  }

  await t.rejects(assertPostgresCanReach([dataDir]), {
    message: `PostgreSQL runs as the system user "postgres" when started as root, and it cannot enter ${closed} (mode 700): ` +
      'put the project and PG_DATA_DIR under a folder it can enter (e.g. /srv or /opt), or run as a user other than root',
  })
  await t.rejects(startCluster({ dataDir, persistent: false, superPassword: 'x' }), { message: new RegExp(`cannot enter ${closed} `) }, 'startCluster says so too')
  await t.resolves(assertPostgresCanReach([path.join(base, 'open', '.data')]), 'an enterable folder passes')
  await chmod(closed, 0o711)
  await t.resolves(assertPostgresCanReach([dataDir]), 'and so does this one once others may enter it')
})

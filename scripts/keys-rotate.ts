// `npm run keys:rotate [-- --reencrypt] [--batch-size=N]`: re-wraps every workspace's data key
// under the first key of ENCRYPTION_KEYS; with --reencrypt, also re-seals every value sealed
// under an older key (channel credentials, TOTP secrets, queued email bodies), in batches.
// The service keeps running meanwhile: the old keys stay in the ring and keep opening what is
// not re-sealed yet. Interrupted, it resumes where it stopped when started again
// (src/db/key-rotation.ts). Progress goes to stderr.
//
// With DATABASE_URL it connects as that login, the schema owner (ENCRYPTION_KEYS is then
// required); without, the embedded development database in PG_DATA_DIR with its generated key
// ring (stop `npm start` first).
import pg from 'pg'
import { parseKeyRing } from '../src/crypto/envelope.js'
import { localDataDir, localSecrets, startLocalDatabase, type Cluster } from '../src/db/embedded.js'
import { rotateKeys, type RotationProgress } from '../src/db/key-rotation.js'

const USAGE = 'usage: npm run keys:rotate [-- --reencrypt] [--batch-size=N]'

/** A one-line bar on stderr, redrawn in place on a terminal, a line per 10 % otherwise. */
function progressBar(stream: NodeJS.WriteStream): (p: RotationProgress) => void {
  let last = ''
  return ({ phase, done, total }) => {
    const share = total > 0 ? Math.min(1, done / total) : 1
    const bar = '#'.repeat(Math.round(share * 30)).padEnd(30, '.')
    const line = `${phase.padEnd(8)} [${bar}] ${String(Math.round(share * 100)).padStart(3)}% ${done}/${total}`
    if (stream.isTTY) stream.write(`\r${line}${done >= total ? '\n' : ''}`)
    else if (line.slice(0, 45) !== last.slice(0, 45) || done >= total) stream.write(`${line}\n`)
    last = line
  }
}

async function main(args: string[]): Promise<number> {
  const reencrypt = args.includes('--reencrypt')
  const batchArg = args.find((a) => a.startsWith('--batch-size='))
  const batchSize = batchArg ? Number(batchArg.slice('--batch-size='.length)) : 500
  if (args.some((a) => a !== '--reencrypt' && a !== batchArg) || !Number.isInteger(batchSize) || batchSize < 1) {
    console.error(USAGE)
    return 2
  }
  let ownerUrl = process.env.DATABASE_URL?.trim()
  let cluster: Cluster | undefined
  const secrets = ownerUrl ? undefined : await localSecrets(localDataDir(process.env))
  const spec = process.env.ENCRYPTION_KEYS?.trim() || secrets?.encryptionKeys
  if (!spec) {
    console.error('ENCRYPTION_KEYS is required with DATABASE_URL: the ring to rotate to, its new key first')
    return 2
  }
  const ring = parseKeyRing(spec)
  if (!ownerUrl) ({ cluster, databaseUrl: ownerUrl } = await startLocalDatabase({ dataDir: localDataDir(process.env), secrets }))
  const client = new pg.Client({ connectionString: ownerUrl, application_name: 'gatehouse-keys-rotate' })
  try {
    await client.connect()
    const result = await rotateKeys({ client, ring, reencrypt, batchSize, onProgress: progressBar(process.stderr) })
    const counts = Object.entries(result.done).filter(([, n]) => n > 0).map(([phase, n]) => `${phase} ${n}`).join(', ') || 'nothing to do'
    console.log(`key rotation to "${ring.active.id}"${reencrypt ? ' with re-encryption' : ''} ${result.resumed ? 'resumed and ' : ''}finished: ${counts}`)
    return 0
  } finally {
    await client.end().catch(() => {})
    await cluster?.stop()
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  },
)

// Development and test secrets, generated once into the data folder (mode 0600) so a restart
// keeps sessions, encrypted columns and the embedded database's passwords. Never used in
// production, where config.ts requires every secret explicitly.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { generateKeyRingSpec } from './crypto/envelope.js'
import type { GeneratedSecrets } from './config.js'

export interface DevSecrets extends GeneratedSecrets {
  pgSuperPassword: string
  ownerPassword: string
  appPassword: string
}

const random = (bytes = 24) => randomBytes(bytes).toString('base64url')

export function generateDevSecrets(): DevSecrets {
  return {
    encryptionKeys: generateKeyRingSpec('dev1'),
    passwordPeppers: generateKeyRingSpec('pepper1'),
    sessionSecret: random(32),
    closedBetaInviteCode: `beta-${randomBytes(6).toString('hex')}`,
    pgSuperPassword: random(),
    ownerPassword: random(),
    appPassword: random(),
  }
}

export async function loadOrCreateDevSecrets(file: string): Promise<DevSecrets> {
  if (existsSync(file)) {
    const stored = JSON.parse(await readFile(file, 'utf8')) as Partial<DevSecrets>
    const secrets = { ...generateDevSecrets(), ...stored }
    // A secret added since the file was written (PASSWORD_PEPPERS, say) is generated once and
    // kept: regenerated at every start, it would lock out every password hashed with it.
    if (Object.keys(secrets).some((key) => !(key in stored))) await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 })
    return secrets
  }
  const secrets = generateDevSecrets()
  await mkdir(path.dirname(file), { recursive: true })
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 })
  return secrets
}

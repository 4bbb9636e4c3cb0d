// MFA backup codes: 50-bit random values shown once. Each is stored as an HMAC-SHA-256 of the
// normalised code under a pepper derived from the ENCRYPTION_KEYS ring (HKDF, its own label), so
// a dump of the database alone does not let anyone test guesses offline: 2^50 HMACs need the key,
// which the database never sees. The active key peppers new codes; every key of the ring (and,
// for codes issued before peppering, the plain SHA-256) is tried when a code is used, so the ring
// rotates without invalidating anyone's codes. The database compares the candidates with the
// stored values by equality: comparing HMACs under a secret key leaks nothing an attacker could
// use, since they cannot compute them.
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import type { Key, KeyRing } from './envelope.js'

export const BACKUP_CODE_COUNT = 10

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'
const PEPPER_LABEL = 'gatehouse mfa backup codes v1'

/** Lowercase, letters and digits only: `ABCDE-FGHIJ`, `abcde fghij` and `abcdefghij` are one code. */
export function normaliseBackupCode(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '')
}

const peppers = new WeakMap<Key, Buffer>()
function pepperOf(key: Key): Buffer {
  let pepper = peppers.get(key)
  if (!pepper) {
    pepper = Buffer.from(hkdfSync('sha256', key.key, Buffer.alloc(0), PEPPER_LABEL, 32))
    peppers.set(key, pepper)
  }
  return pepper
}

/** What is stored for `code` under `key`. */
export function hashBackupCode(code: string, key: Key): Buffer {
  return createHmac('sha256', pepperOf(key)).update(normaliseBackupCode(code), 'utf8').digest()
}

/**
 * Every value `code` may be stored as: its HMAC under each key of the ring (the active one
 * first), then the plain SHA-256 of codes issued before they were peppered.
 */
export function backupCodeCandidates(code: string, ring: KeyRing): Buffer[] {
  const keys = [ring.active, ...[...ring.byId.values()].filter((k) => k !== ring.active)]
  return [...keys.map((k) => hashBackupCode(code, k)), createHash('sha256').update(normaliseBackupCode(code), 'utf8').digest()]
}

/** Ten fresh codes like `abcde-fghij` (10 base32 characters, 50 bits each) and what to store. */
export function newBackupCodes(ring: KeyRing): { codes: string[]; hashes: Buffer[] } {
  const codes = Array.from({ length: BACKUP_CODE_COUNT }, () => {
    const chars = [...randomBytes(10)].map((b) => BASE32[b & 31]).join('')
    return `${chars.slice(0, 5)}-${chars.slice(5)}`
  })
  return { codes, hashes: codes.map((c) => hashBackupCode(c, ring.active)) }
}

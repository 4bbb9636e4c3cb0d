// MFA backup codes: 50-bit random values shown once, stored one by one as the SHA-256 of the
// normalised code. High entropy and rate limits make a slow hash unnecessary.
import { createHash, randomBytes } from 'node:crypto'

export const BACKUP_CODE_COUNT = 10

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** Lowercase, letters and digits only: `ABCDE-FGHIJ`, `abcde fghij` and `abcdefghij` are one code. */
export function normaliseBackupCode(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '')
}

export function hashBackupCode(code: string): Buffer {
  return createHash('sha256').update(normaliseBackupCode(code), 'utf8').digest()
}

/** Ten fresh codes like `abcde-fghij` (10 base32 characters, 50 bits each) and their hashes. */
export function newBackupCodes(): { codes: string[]; hashes: Buffer[] } {
  const codes = Array.from({ length: BACKUP_CODE_COUNT }, () => {
    const chars = [...randomBytes(10)].map((b) => BASE32[b & 31]).join('')
    return `${chars.slice(0, 5)}-${chars.slice(5)}`
  })
  return { codes, hashes: codes.map(hashBackupCode) }
}

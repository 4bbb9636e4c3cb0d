// What a new account's email and password must satisfy: register, reset and change all use
// these, so the rules exist once.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { AppError } from '../../errors.js'
import { PASSWORD_MAX, PASSWORD_MIN } from '../../crypto/passwords.js'
import { DISPOSABLE_DOMAINS } from './data/disposable-domains.js'
import { ROOT } from '../../paths.js'

const disposable = new Set(DISPOSABLE_DOMAINS)

// The block list: the 30,000 most common passwords of 10 or more characters, lower-cased
// (data/common-passwords.txt says where from; data/common-passwords.LICENSE under which terms).
// Read once, when this module is loaded at start-up (from the source tree, also when running
// compiled): some 20 to 40 ms for its 360 KB, and then each check is one Set lookup.
const common = new Set(
  readFileSync(path.join(ROOT, 'src/modules/auth/data/common-passwords.txt'), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#')),
)

/** How many passwords the block list holds. */
export const COMMON_PASSWORD_COUNT = common.size

/** True for a block-listed domain or any subdomain of one (mail.mailinator.com). */
export function isDisposableEmail(normalisedEmail: string): boolean {
  const domain = normalisedEmail.slice(normalisedEmail.lastIndexOf('@') + 1).replace(/\.$/, '')
  const labels = domain.split('.')
  for (let i = 0; i < labels.length - 1; i++) {
    if (disposable.has(labels.slice(i).join('.'))) return true
  }
  return false
}

export function assertNotDisposable(normalisedEmail: string): void {
  if (isDisposableEmail(normalisedEmail)) throw new AppError('disposable_email')
}

/**
 * NIST SP 800-63B: a length range and a block-list of known-compromised passwords, and no
 * composition rules (they push users to predictable patterns without adding strength).
 */
export function assertPasswordStrength(password: string): void {
  // Counted in code points, not UTF-16 units.
  const length = [...password].length
  if (length < PASSWORD_MIN) throw new AppError('weak_password', `The password must have at least ${PASSWORD_MIN} characters`)
  if (length > PASSWORD_MAX) throw new AppError('weak_password', `The password must have at most ${PASSWORD_MAX} characters`)
  if (common.has(password.toLowerCase())) throw new AppError('weak_password', 'This password is among the most common ones; choose another')
}

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

/** Whose password it is: the account's address and name, which a password must not be built from. */
export interface PasswordOwner {
  email: string
  name: string
}

/** The service's own name: the first word a guesser tries against any of its accounts. */
const SERVICE_WORDS = ['gatehouse']

/** A context word has at least this many letters (or digits): shorter ones are in too many words. */
const CONTEXT_WORD_MIN = 3

/** Runs of letters and runs of digits: `alice.smith84` is `alice`, `smith`, `84`. */
const WORDS = /\p{L}+|\p{N}+/gu

/**
 * The words a guesser who knows the account tries first (ASVS 6.2.11), lower-cased, longest
 * first: those of the address's local part and of its domain's labels but the last
 * (alice.smith@mail.example.com: alice, smith, mail, example), those of the name, and the
 * service's name; each of at least 3 letters or digits.
 */
export function contextWords(owner: PasswordOwner): string[] {
  const email = owner.email.toLowerCase()
  const at = email.lastIndexOf('@')
  const labels = email.slice(at + 1).split('.').slice(0, -1)
  const words = new Set<string>()
  for (const text of [email.slice(0, Math.max(at, 0)), ...labels, owner.name.toLowerCase(), ...SERVICE_WORDS]) {
    for (const word of text.match(WORDS) ?? []) {
      if ([...word].length >= CONTEXT_WORD_MIN) words.add(word)
    }
  }
  return [...words].sort((a, b) => b.length - a.length)
}

/**
 * What is left of a password once everything a guesser of this account gets for free is taken
 * out: lower-cased, every character that is not a letter or a digit dropped, then every context
 * word removed (each occurrence, longest word first). Null when the password contains no context
 * word at all (then only the length and the block list judge it).
 */
export function withoutContextWords(password: string, owner: PasswordOwner): string | null {
  let rest = (password.toLowerCase().match(/[\p{L}\p{N}]/gu) ?? []).join('')
  let found = false
  for (const word of contextWords(owner)) {
    if (rest.includes(word)) {
      rest = rest.replaceAll(word, '')
      found = true
    }
  }
  return found ? rest : null
}

/**
 * A new password (register, reset, change), NIST SP 800-63B: a length range, a block list of
 * passwords known from breaches, and nothing built from the account's own address or name or
 * from the service's name (ASVS 6.2.11); no composition rules, which push users to predictable
 * patterns (`Password1!`) without adding strength. Refusals are 422 weak_password, the message
 * saying which rule, never the password.
 *
 * - Length: 10 to 256 characters, counted in code points (not UTF-16 units).
 * - The block list, case-insensitive: `Password1234` is `password1234`, since changing case is
 *   the first variation a guesser tries.
 * - The owner: a password that contains a context word (contextWords) is judged without it.
 *   Removing the context words and every character that is not a letter or digit must leave
 *   at least 10 characters, and not a listed password: the words a guesser starts from count for
 *   nothing. `alicesmith2024!` for alice.smith@example.com leaves `2024`: refused;
 *   `correct horse alice staple` leaves `correcthorsestaple`: accepted.
 *
 * `owner` null: the owner is not known yet; only reset-password passes it, before its link names
 * the user, and checks again with the owner once it does (password-reset.ts).
 */
export function assertPasswordStrength(password: string, owner: PasswordOwner | null): void {
  const length = [...password].length
  if (length < PASSWORD_MIN) throw new AppError('weak_password', `The password must have at least ${PASSWORD_MIN} characters`)
  if (length > PASSWORD_MAX) throw new AppError('weak_password', `The password must have at most ${PASSWORD_MAX} characters`)
  if (common.has(password.toLowerCase())) throw new AppError('weak_password', 'This password is among the most common ones; choose another')
  if (owner === null) return
  const rest = withoutContextWords(password, owner)
  if (rest !== null && ([...rest].length < PASSWORD_MIN || common.has(rest))) {
    throw new AppError(
      'weak_password',
      `This password is built from your email address, your name or the service's name, which do not count towards its ${PASSWORD_MIN} characters; choose another`,
    )
  }
}

// The password rules of src/modules/auth/rules.ts without HTTP: the shipped block list (its size,
// that every entry is a password a user could still choose, its licence beside it) and the rule
// that refuses passwords built from the account's address, name or the service's name. The API
// tests (registration-rules, password-reset, password-change) take the same rules through HTTP.
import t from 'tap'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { AppError } from '../../src/errors.js'
import { PASSWORD_MAX, PASSWORD_MIN } from '../../src/crypto/passwords.js'
import { ROOT } from '../../src/paths.js'
import {
  COMMON_PASSWORD_COUNT, assertPasswordStrength, contextWords, withoutContextWords, type PasswordOwner,
} from '../../src/modules/auth/rules.js'

const DATA = path.join(ROOT, 'src/modules/auth/data')
const ALICE: PasswordOwner = { email: 'alice.smith@example.com', name: 'Alice Smith' }

/** The message of the weak_password refusal of `password`, or null when it is accepted. */
function refusal(password: string, owner: PasswordOwner | null): string | null {
  try {
    assertPasswordStrength(password, owner)
    return null
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'weak_password') throw err
    return err.message
  }
}

t.test('the block list: at least 10,000 passwords, each one a user could choose', async (t) => {
  // Threat: a list of short passwords the length rule refuses anyway protects nobody.
  const lines = readFileSync(path.join(DATA, 'common-passwords.txt'), 'utf8').split('\n')
  const entries = lines.filter((line) => line !== '' && !line.startsWith('#'))
  t.ok(entries.length >= 10_000, `${entries.length} entries`)
  t.equal(COMMON_PASSWORD_COUNT, entries.length, 'every line is loaded, once')
  t.equal(new Set(entries).size, entries.length, 'no entry twice')
  const misfits = entries.filter((e) => [...e].length < PASSWORD_MIN || [...e].length > PASSWORD_MAX || e !== e.toLowerCase())
  t.same(misfits, [], `every entry has ${PASSWORD_MIN} to ${PASSWORD_MAX} characters and is lower-case`)
  t.match(lines[0], /^# /, 'a header says what the list is')
  const licence = readFileSync(path.join(DATA, 'common-passwords.LICENSE'), 'utf8')
  t.match(licence, /SecLists/, 'the licence file names the source')
  t.match(licence, /MIT License/)
})

t.test('the issue\'s examples and other listed passwords are refused, in any case', async (t) => {
  for (const password of ['qwerty123456', 'password1234', '123456789012', 'Password1234', 'QWERTYUIOP', '1q2w3e4r5t6y']) {
    t.match(refusal(password, null), /most common/, password)
    t.match(refusal(password, ALICE), /most common/, `${password}, with an owner`)
  }
})

t.test('length: 10 to 256 characters, counted in code points', async (t) => {
  t.match(refusal('nine char', null), /at least 10/)
  t.match(refusal('z'.repeat(257), null), /at most 256/)
  t.equal(refusal('ten chars!', null), null)
  t.equal(refusal('🦊'.repeat(10), null), null, 'ten emoji are ten characters, though twenty UTF-16 units')
  t.match(refusal('🦊'.repeat(9), null), /at least 10/)
})

t.test('no composition rules', async (t) => {
  for (const password of ['all lower case words', 'ALL UPPER CASE WORDS', '8461937205', 'correct horse battery staple']) {
    t.equal(refusal(password, ALICE), null, password)
  }
})

t.test('context words: the address (local part, domain labels but the last), the name, the service', async (t) => {
  t.same(contextWords(ALICE).sort(), ['alice', 'example', 'gatehouse', 'smith'])
  t.same(contextWords({ email: 'bob_o.brien84@mail.acme.co.uk', name: "Bob O'Brien" }).sort(), ['acme', 'bob', 'brien', 'gatehouse', 'mail'],
    'runs of letters and of digits, of 3 or more; 84, co, o and uk are too short, the TLD is not a word')
  t.same(contextWords({ email: 'jo1985@example.test', name: 'Jo' }).sort(), ['1985', 'example', 'gatehouse'], 'a run of digits is a word')
  t.same(contextWords({ email: 'élodie.müller@exämple.de', name: 'Élodie' }).sort(), ['exämple', 'gatehouse', 'müller', 'élodie'], 'letters of any script')
  const words = contextWords({ email: 'ann.annabel@example.test', name: 'Ann' })
  t.same(words, [...words].sort((a, b) => b.length - a.length), 'longest first, so annabel goes before ann')
})

t.test('built from the address, the name or the service\'s name: refused', async (t) => {
  // Threat: the first guesses against an account are its owner's name and address (ASVS 6.2.11).
  for (const password of [
    'alicesmith2024!', // the examples
    'Alice!Smith!Example',
    'alice.smith@example.com',
    'SmithAlice1990!!',
    'Gatehouse2024!!', // the service's name
    'gatehouse1234567890', // what is left is on the list
    'alice_password1234',
    'a.l.i.c.e.s.m.i.t.h.1', // separators do not hide a word
  ]) {
    t.match(refusal(password, ALICE), /built from your email address, your name or the service's name/, password)
  }
  t.match(refusal('Lovelace1815!!', { email: 'ada@example.test', name: 'Ada Lovelace' }), /built from/, 'a name part')
  t.match(refusal('1985ever1985!', { email: 'jo1985@example.test', name: 'Jo' }), /built from/, 'digits of the address')
  t.match(refusal('annabel-ann-42', { email: 'ann.annabel@example.test', name: 'Ann' }), /built from/)
})

t.test('a context word inside a longer password: accepted', async (t) => {
  for (const password of [
    'correct horse battery staple',
    'correct horse alice staple', // leaves correcthorsestaple
    'alice in the wonderland of tea', // leaves 20 letters
    'gatehouse: a keep of quiet stones',
  ]) {
    t.equal(refusal(password, ALICE), null, password)
  }
  t.equal(withoutContextWords('correct horse alice staple', ALICE), 'correcthorsestaple')
  t.equal(withoutContextWords('Alice!Smith!Example', ALICE), '')
  t.equal(withoutContextWords('correct horse battery staple', ALICE), null, 'no context word: the rule does not apply')
  t.equal(refusal('alicesmith2024!', null), null, 'no owner known: only the length and the list')
})

t.test('the refusal never echoes the password', async (t) => {
  for (const [password, owner] of [['qwerty123456', ALICE], ['alicesmith2024!', ALICE], ['short', null]] as const) {
    const message = refusal(password, owner)
    t.ok(message, password)
    t.notOk(message!.toLowerCase().includes(password.toLowerCase()), `${password} is not in "${message}"`)
  }
})

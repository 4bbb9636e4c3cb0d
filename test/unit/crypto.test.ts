// The crypto primitives behind invariant 7: envelope encryption (AES-256-GCM with a key ring and
// the row's identity as associated data), opaque tokens stored as SHA-256, argon2id passwords,
// TOTP steps and MFA backup codes.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { DecryptError, decrypt, encrypt, generateKeyRingSpec, parseKeyRing } from '../../src/crypto/envelope.js'
import { hashToken, isWellFormedToken, newToken, safeEqual } from '../../src/crypto/tokens.js'
import { hash as legacyHash } from '@node-rs/argon2'
import {
  ARGON2_OPTIONS, PasswordSettingsError, decoySettings, hashPassword, needsRehash, parseSettings, passwordProof,
} from '../../src/crypto/passwords.js'

import { Secret, TOTP } from 'otpauth'
import { looksLikeTotpCode, matchingStep, newTotpSecret } from '../../src/crypto/totp.js'
import { BACKUP_CODE_COUNT, backupCodeCandidates, hashBackupCode, newBackupCodes, normaliseBackupCode } from '../../src/crypto/backup-codes.js'

const key = () => randomBytes(32).toString('base64')

t.test('envelope encryption', async (t) => {
  const ring = parseKeyRing(`k1:${key()}`)
  const aad = 'channels:ws-1:telegram'

  await t.test('round-trip', async (t) => {
    const envelope = encrypt(ring, 'bot-token-123', aad)
    t.match(envelope, /^v1\.k1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'v1.<kid>.<iv>.<ciphertext>.<tag>')
    t.notOk(envelope.includes('bot-token-123'), 'no plaintext in the envelope')
    t.equal(decrypt(ring, envelope, aad), 'bot-token-123')
    t.equal(decrypt(ring, encrypt(ring, '', aad), aad), '', 'the empty string')
    const unicode = 'pässwörd ✓ 🔑'
    t.equal(decrypt(ring, encrypt(ring, unicode, aad), aad), unicode, 'unicode')
    t.not(encrypt(ring, 'same', aad), encrypt(ring, 'same', aad), 'a fresh IV each time')
  })

  await t.test('a ciphertext moved to another row or tenant does not decrypt', async (t) => {
    // Threat: a database writer copies tenant A's encrypted secret into tenant B's row to use or read it.
    const envelope = encrypt(ring, 'secret', 'channels:ws-A:telegram')
    for (const other of ['channels:ws-B:telegram', 'channels:ws-A:whatsapp', '']) {
      t.throws(() => decrypt(ring, envelope, other), DecryptError, `associated data "${other}"`)
    }
    t.throws(() => decrypt(ring, envelope, 'channels:ws-B:telegram'), { message: /does not authenticate/ })
  })

  await t.test('tampering fails', async (t) => {
    // Threat: flipped ciphertext bits yield attacker-chosen plaintext (malleability).
    const envelope = encrypt(ring, 'secret value', aad)
    const parts = envelope.split('.')
    const flip = (b64: string) => {
      const buf = Buffer.from(b64, 'base64url')
      buf[0] = buf[0]! ^ 1
      return buf.toString('base64url')
    }
    for (const index of [2, 3, 4]) {
      const tampered = parts.map((p, i) => (i === index ? flip(p) : p)).join('.')
      t.throws(() => decrypt(ring, tampered, aad), DecryptError, `part ${index} flipped`)
    }
    t.throws(() => decrypt(ring, parts.slice(0, 4).join('.'), aad), { message: /malformed/ }, 'truncated')
    t.throws(() => decrypt(ring, `v2.${parts.slice(1).join('.')}`, aad), { message: /malformed/ }, 'another version')
    t.throws(() => decrypt(ring, `${envelope}.extra`, aad), { message: /malformed/ }, 'extra part')
    t.throws(() => decrypt(ring, 'not an envelope', aad), DecryptError)
  })

  await t.test('key rotation', async (t) => {
    const old = `k1:${key()}`
    const before = parseKeyRing(old)
    const envelope = encrypt(before, 'rotate me', aad)
    const after = parseKeyRing(`k2:${key()},${old}`)
    t.equal(after.active.id, 'k2', 'the first key is active')
    t.equal(decrypt(after, envelope, aad), 'rotate me', 'old envelopes still decrypt')
    const fresh = encrypt(after, 'new secret', aad)
    t.match(fresh, /^v1\.k2\./, 'new envelopes use the new key')
    t.throws(() => decrypt(before, fresh, aad), { name: 'DecryptError', message: 'unknown key id "k2"' }, 'a ring without k2 says so')
    const retired = parseKeyRing(`k2:${key()}`)
    t.throws(() => decrypt(retired, envelope, aad), { message: 'unknown key id "k1"' })
    const impostor = parseKeyRing(`k1:${key()}`)
    t.throws(() => decrypt(impostor, envelope, aad), { message: /does not authenticate/ }, 'the same id with another key')
  })

  await t.test('parseKeyRing', async (t) => {
    const ring2 = parseKeyRing(` a:${key()} , b_2-x:${key()} `)
    t.same([...ring2.byId.keys()], ['a', 'b_2-x'], 'spaces around entries are ignored')
    t.equal(ring2.active.key.length, 32)
    t.match(generateKeyRingSpec('dev'), /^dev:[A-Za-z0-9+/]{43}=$/)
    t.equal(parseKeyRing(generateKeyRingSpec()).active.id, 'k1')

    t.throws(() => parseKeyRing(''), { message: 'at least one key is required' }, 'empty')
    t.throws(() => parseKeyRing(' , '), { message: 'at least one key is required' }, 'only separators')
    t.throws(() => parseKeyRing(key()), { message: /key id ".*" must be 1-32 letters/ }, 'no id')
    t.throws(() => parseKeyRing(`:${key()}`), { message: 'key id "" must be 1-32 letters, digits, _ or -' }, 'empty id')
    t.throws(() => parseKeyRing(`bad id:${key()}`), { message: /key id "bad id"/ }, 'a space in the id')
    t.throws(() => parseKeyRing(`${'x'.repeat(33)}:${key()}`), { message: /must be 1-32/ }, 'a 33-character id')
    t.throws(() => parseKeyRing(`k1:${randomBytes(16).toString('base64')}`), { message: 'key "k1" must be 32 bytes of base64 (got 16)' }, 'AES-128 length')
    t.throws(() => parseKeyRing('k1:'), { message: /got 0/ }, 'no key')
    const k = key()
    t.throws(() => parseKeyRing(`k1:${k},k1:${key()}`), { message: 'key id "k1" appears twice' }, 'duplicate')
  })
})

t.test('tokens', async (t) => {
  // Threat: a guessable, colliding or reversibly stored token lets an attacker take over a session or link.
  const tokens = Array.from({ length: 1000 }, newToken)
  t.ok(tokens.every((x) => /^[A-Za-z0-9_-]{43}$/.test(x)), '43 base64url characters (256 bits)')
  t.equal(new Set(tokens).size, tokens.length, 'unique')
  t.ok(tokens.every(isWellFormedToken))
  t.notOk(isWellFormedToken('a'.repeat(42)))
  t.notOk(isWellFormedToken('a'.repeat(44)))
  t.notOk(isWellFormedToken(`${'a'.repeat(42)}=`))
  t.notOk(isWellFormedToken(`${'a'.repeat(42)}/`))

  const token = tokens[0]!
  const hashed = hashToken(token)
  t.equal(hashed.length, 32)
  t.same(hashed, createHash('sha256').update(token).digest(), 'SHA-256')
  t.equal(hashToken('abc').toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'the FIPS 180-2 test vector')

  t.ok(safeEqual('same', 'same'))
  t.notOk(safeEqual('same', 'Same'))
  t.notOk(safeEqual('short', 'longer'), 'different lengths do not throw')
})

t.test('passwords', async (t) => {
  // Threat: a stolen users table is cracked offline (it holds no Argon2id output, and every
  // guess needs the pepper), or a stored string the database compares is forged.
  const peppers = parseKeyRing(`p1:${key()}`)
  const password = 'correct horse battery staple'
  const stored = await hashPassword(password, peppers)
  t.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1,keyid=p1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/, 'argon2id at m=19456, t=2, p=1, pepper p1')
  t.same([ARGON2_OPTIONS.memoryCost, ARGON2_OPTIONS.timeCost, ARGON2_OPTIONS.parallelism], [19456, 2, 1])
  t.not(await hashPassword(password, peppers), stored, 'salted')

  // What the database checks: SHA-256 of the proof is the stored string's last field.
  const settings = parseSettings(stored)
  const lastField = Buffer.from(stored.split('$')[5]!, 'base64')
  const proof = (await passwordProof(password, settings, peppers))!
  t.equal(proof.length, 32, 'a proof is the 32-byte Argon2id output')
  t.same(createHash('sha256').update(proof).digest(), lastField, 'sha256(proof) is what is stored')
  t.notSame(proof, lastField, 'the output itself is never stored')
  const wrong = (await passwordProof('correct horse battery stapler', settings, peppers))!
  t.notSame(createHash('sha256').update(wrong).digest(), lastField, 'a wrong password proves nothing')
  const otherPepper = parseKeyRing(`p1:${key()}`)
  t.notSame(await passwordProof(password, settings, otherPepper), proof, 'without the pepper the right password proves nothing either')
  t.equal(await passwordProof(password, { ...settings, keyId: 'gone' }, peppers), null, 'a pepper no longer in the ring: no proof')

  // Hashes from before the pepper (plain PHC strings) still verify: their proof is the hash itself.
  const legacy = await legacyHash(password, { ...ARGON2_OPTIONS })
  const legacySettings = parseSettings(legacy)
  t.equal(legacySettings.keyId, undefined, 'a legacy string names no pepper')
  t.same(await passwordProof(password, legacySettings, peppers), Buffer.from(legacy.split('$')[5]!, 'base64'), 'its proof is its own hash field')

  t.equal(needsRehash(settings, peppers), false, 'current parameters and pepper: kept')
  t.equal(needsRehash(legacySettings, peppers), true, 'no pepper: rehashed at the next sign-in')
  t.equal(needsRehash({ ...settings, timeCost: 1 }, peppers), true, 'older parameters: rehashed')
  t.equal(needsRehash(settings, parseKeyRing(`p2:${key()},p1:${key()}`)), true, 'a rotated pepper: rehashed onto the new one')

  t.match(decoySettings(peppers), /^\$argon2id\$v=19\$m=19456,t=2,p=1,keyid=p1$/, 'decoy settings: the current ones, salt left to the database')
  for (const bad of ['', 'not a hash', '$argon2i$v=19$m=1,t=1,p=1$c2FsdHNhbHRzYWx0$x', '$argon2id$v=19$m=1,t=1,p=1,keyid=$c2FsdHNhbHRzYWx0']) {
    t.throws(() => parseSettings(bad), PasswordSettingsError, `unreadable: ${JSON.stringify(bad)}`)
  }
})

t.test('TOTP: the step a code is valid for, one step of drift either way', async (t) => {
  const { secret, otpauthUrl } = newTotpSecret('ada@example.test')
  t.equal(Secret.fromBase32(secret).bytes.length, 20, 'a 160-bit secret')
  const url = new URL(otpauthUrl)
  t.equal(url.searchParams.get('secret'), secret, 'the otpauth URL carries the secret')
  t.match(decodeURIComponent(url.pathname), /Gatehouse:ada@example\.test/, 'labelled with the issuer and the account')

  const now = 1_800_000_000_000
  const step = Math.floor(now / 30_000)
  const app = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) })
  const codeAt = (offset: number) => app.generate({ timestamp: now + offset * 30_000 })
  t.equal(matchingStep(secret, codeAt(0), now), step, 'the current code: the current step')
  t.equal(matchingStep(secret, ` ${codeAt(0)} `, now), step, 'surrounding spaces are ignored')
  t.equal(matchingStep(secret, codeAt(-1), now), step - 1, 'the previous step (clock drift)')
  t.equal(matchingStep(secret, codeAt(1), now), step + 1, 'the next step (clock drift)')
  t.equal(matchingStep(secret, codeAt(-2), now), null, 'two steps old: refused')
  t.equal(matchingStep(secret, codeAt(2), now), null, 'two steps ahead: refused')
  t.equal(matchingStep(newTotpSecret('x').secret, codeAt(0), now), null, 'another secret\'s code: refused')
  for (const bad of ['', '12345', '1234567', 'abcdef', '12 3456']) t.equal(matchingStep(secret, bad, now), null, `"${bad}" is no code`)
  t.ok(looksLikeTotpCode(' 123456 '))
  t.notOk(looksLikeTotpCode('abcde-fghij'), 'a backup code is not a TOTP code')
})

t.test('backup codes: ten random codes, peppered with the key ring, in one spelling', async (t) => {
  const ring = parseKeyRing(`${generateKeyRingSpec('new')},${generateKeyRingSpec('old')}`)
  const { codes, hashes } = newBackupCodes(ring)
  t.equal(codes.length, BACKUP_CODE_COUNT)
  t.equal(new Set(codes).size, BACKUP_CODE_COUNT, 'all different')
  for (const code of codes) t.match(code, /^[a-z2-7]{5}-[a-z2-7]{5}$/)
  t.same(hashes, codes.map((c) => hashBackupCode(c, ring.active)), 'each stored value is of its code, under the active key')
  const [first] = codes as [string]
  t.equal(normaliseBackupCode(first.toUpperCase().replace('-', ' ')), first.replace('-', ''))
  t.same(hashBackupCode(first.toUpperCase(), ring.active), hashBackupCode(first, ring.active), 'case and separators do not matter')
  const plain = createHash('sha256').update(first.replace('-', '')).digest()
  t.notSame(hashBackupCode(first, ring.active), plain, 'not the plain SHA-256: a dump alone cannot test guesses')
  t.notSame(hashBackupCode(first, ring.byId.get('old')!), hashBackupCode(first, ring.active), 'each key its own pepper')
  t.notSame(hashBackupCode(codes[1]!, ring.active), hashBackupCode(first, ring.active))
  t.same(backupCodeCandidates(first, ring), [hashBackupCode(first, ring.active), hashBackupCode(first, ring.byId.get('old')!), plain],
    'a code is looked for under every key, then as issued before peppering')
})

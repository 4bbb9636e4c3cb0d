// Envelope encryption for secret columns (invariant 7): AES-256-GCM with a key ring.
// The first key encrypts, every key decrypts, and the key id travels in the envelope so keys can
// rotate without a flag day. The caller passes the row's identity as associated data, so a
// ciphertext copied to another row or another tenant fails authentication instead of decrypting.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

export interface Key {
  id: string
  key: Buffer
}

export interface KeyRing {
  active: Key
  byId: Map<string, Key>
}

const VERSION = 'v1'

/** Parses `kid:base64key[,kid:base64key…]`; each key must decode to 32 bytes. */
export function parseKeyRing(spec: string): KeyRing {
  const keys: Key[] = []
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const sep = part.indexOf(':')
    const id = sep > 0 ? part.slice(0, sep) : ''
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new Error(`key id "${id}" must be 1-32 letters, digits, _ or -`)
    const key = Buffer.from(part.slice(sep + 1), 'base64')
    if (key.length !== 32) throw new Error(`key "${id}" must be 32 bytes of base64 (got ${key.length})`)
    if (keys.some((k) => k.id === id)) throw new Error(`key id "${id}" appears twice`)
    keys.push({ id, key })
  }
  const active = keys[0]
  if (!active) throw new Error('at least one key is required')
  return { active, byId: new Map(keys.map((k) => [k.id, k])) }
}

/** A fresh key ring specification, for development data folders. */
export function generateKeyRingSpec(id = 'k1'): string {
  return `${id}:${randomBytes(32).toString('base64')}`
}

/** A ring of one key: a workspace's data key (src/crypto/data-keys.ts) seals and opens like a ring. */
export function singleKeyRing(key: Key): KeyRing {
  return { active: key, byId: new Map([[key.id, key]]) }
}

/** `v1.<kid>.<iv>.<ciphertext>.<tag>`, base64url parts; sealed with the ring's active key. */
export function encrypt(ring: KeyRing, plaintext: string, associatedData: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', ring.active.key, iv)
  cipher.setAAD(Buffer.from(associatedData, 'utf8'))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  const parts = [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url'))
  return [VERSION, ring.active.id, ...parts].join('.')
}

export class DecryptError extends Error {
  override name = 'DecryptError'
}

export function decrypt(ring: KeyRing, envelope: string, associatedData: string): string {
  const [version, kid, iv, body, tag, ...rest] = envelope.split('.')
  if (version !== VERSION || !kid || iv === undefined || body === undefined || tag === undefined || rest.length) {
    throw new DecryptError('malformed envelope')
  }
  const key = ring.byId.get(kid)
  if (!key) throw new DecryptError(`unknown key id "${kid}"`)
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(iv, 'base64url'))
    decipher.setAAD(Buffer.from(associatedData, 'utf8'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
  } catch {
    throw new DecryptError('envelope does not authenticate (wrong key, row or tampering)')
  }
}

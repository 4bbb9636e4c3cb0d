// Per-workspace data keys (envelope encryption, issue 12). A workspace's secrets are sealed with
// its own random 256-bit data key; the database stores that key only wrapped by the service's
// ENCRYPTION_KEYS ring, with the workspace as associated data. So a database snapshot opens
// nothing, a wrapped key copied to another workspace does not unwrap, re-keying the ring
// re-wraps 32 bytes per workspace instead of re-encrypting every value, and destroying one
// workspace's wrapped key makes its secrets unrecoverable (crypto-shredding).
//
// A value is an envelope (src/crypto/envelope.ts) whose key id is `w<generation>`: which data
// key of the workspace sealed it, so that a re-encryption under a new data key can tell old from new.
import { createHash, randomBytes } from 'node:crypto'
import { decrypt, encrypt, singleKeyRing, type KeyRing } from './envelope.js'

export interface DataKey {
  workspaceId: string
  generation: number
  ring: KeyRing
}

const wrapAad = (workspaceId: string) => `workspace-key:${workspaceId}`

/**
 * The advisory lock of a workspace's data key (a bigint, as text for a bind parameter): a channel
 * change holds it shared while it seals with the key, the key rotation exclusive while it
 * replaces the key (src/db/key-rotation.ts), so nothing is sealed with a key being replaced.
 */
export function dataKeyLock(workspaceId: string): string {
  return createHash('sha256').update(wrapAad(workspaceId)).digest().readBigInt64BE(0).toString()
}

/** A fresh data key of `generation`, and its wrapped form for workspace_keys. */
export function newDataKey(ring: KeyRing, workspaceId: string, generation = 1): { key: DataKey; wrapped: string; kid: string } {
  const raw = randomBytes(32)
  return { key: dataKey(workspaceId, generation, raw), wrapped: encrypt(ring, raw.toString('base64'), wrapAad(workspaceId)), kid: ring.active.id }
}

function dataKey(workspaceId: string, generation: number, raw: Buffer): DataKey {
  return { workspaceId, generation, ring: singleKeyRing({ id: `w${generation}`, key: raw }) }
}

/** Unwraps a workspace's stored data key with the service's ring (DecryptError on any mismatch). */
export function unwrapDataKey(ring: KeyRing, workspaceId: string, generation: number, wrapped: string): DataKey {
  return dataKey(workspaceId, generation, Buffer.from(decrypt(ring, wrapped, wrapAad(workspaceId)), 'base64'))
}

/** Re-wraps a stored data key under the ring's active key (a key rotation). */
export function rewrapDataKey(ring: KeyRing, workspaceId: string, wrapped: string): string {
  return encrypt(ring, decrypt(ring, wrapped, wrapAad(workspaceId)), wrapAad(workspaceId))
}

/** Seals one value of the workspace; `purpose` names where it lives (e.g. `channel:resend:apiKey`). */
export function sealWith(key: DataKey, purpose: string, plaintext: string): string {
  return encrypt(key.ring, plaintext, `${key.workspaceId}:${purpose}`)
}

export function openWith(key: DataKey, purpose: string, envelope: string): string {
  return decrypt(key.ring, envelope, `${key.workspaceId}:${purpose}`)
}

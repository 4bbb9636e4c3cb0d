// Password hashing with argon2id at the OWASP Password Storage Cheat Sheet's first
// recommendation (m = 19 MiB, t = 2, p = 1). @node-rs/argon2 hashes on the libuv thread pool, so
// a burst of logins does not block the event loop.
import { hash, verify, type Options } from '@node-rs/argon2'

export const ARGON2_OPTIONS: Options = {
  algorithm: 2, // Algorithm.Argon2id (a const enum, which isolated modules cannot import)
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS)
}

// A real hash of a random password, verified against when the email is unknown, so that an
// unknown account costs the same time as a wrong password (no account enumeration by timing).
let dummyHash: Promise<string> | undefined
function getDummyHash(): Promise<string> {
  dummyHash ??= hash(`dummy-${Math.random()}`, ARGON2_OPTIONS)
  return dummyHash
}

/** Verifies a password; with no stored hash it still spends one verification and answers false. */
export async function verifyPassword(storedHash: string | null | undefined, password: string): Promise<boolean> {
  if (!storedHash) {
    await verify(await getDummyHash(), password).catch(() => false)
    return false
  }
  try {
    return await verify(storedHash, password)
  } catch {
    return false
  }
}

/**
 * True when `storedHash` was not made with ARGON2_OPTIONS (another variant or other m, t, p
 * parameters), so sign-in should store a fresh hash. Reads the PHC string
 * `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`; anything unreadable counts as outdated.
 */
export function needsRehash(storedHash: string): boolean {
  const m = /^\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(storedHash)
  if (!m) return true
  const variant = ['argon2d', 'argon2i', 'argon2id'][ARGON2_OPTIONS.algorithm ?? 2]
  return (
    m[1] !== variant ||
    m[2] !== '19' || // Argon2 version 1.3, the only one @node-rs/argon2 produces
    Number(m[3]) !== ARGON2_OPTIONS.memoryCost ||
    Number(m[4]) !== ARGON2_OPTIONS.timeCost ||
    Number(m[5]) !== ARGON2_OPTIONS.parallelism
  )
}

export const PASSWORD_MIN = 10
export const PASSWORD_MAX = 256

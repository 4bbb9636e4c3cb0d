// Passwords: argon2id at the OWASP Password Storage Cheat Sheet's first recommendation (m = 19 MiB,
// t = 2, p = 1), on the libuv thread pool (@node-rs/argon2), so a burst of sign-ins does not
// block the event loop — with a pepper, and verified by the database.
//
// The pepper is Argon2's own secret input (its "K"), a key from PASSWORD_PEPPERS that the
// database never sees. The service computes the Argon2id output for a password — the *proof* —
// with the salt and parameters the database hands it (app.login_settings), and the database
// compares SHA-256 of the proof with what it stores (sql/100_accounts.sql). So:
//   * a stolen table is useless offline: no guess can be checked without the pepper;
//   * a statement injected as the runtime login cannot sign anyone in: it has neither the
//     password nor the pepper to make a proof, and nothing hands out the stored hash.
// The stored string is PHC-shaped, with the pepper's id and SHA-256 of the output as the hash:
//   $argon2id$v=19$m=19456,t=2,p=1,keyid=<pepper id>$<salt>$<sha256(output)>
// Strings without keyid are from before the pepper: their last field is the output itself;
// they still verify (unpeppered) and are replaced at the next sign-in (needsRehash).
import { createHash, randomBytes } from 'node:crypto'
import { hashRaw, type Options } from '@node-rs/argon2'
import type { KeyRing } from './envelope.js'

export const ARGON2_OPTIONS = {
  algorithm: 2, // Algorithm.Argon2id (a const enum, which isolated modules cannot import)
  version: 1, // Version.V0x13, i.e. v=19, the only version @node-rs/argon2 produces
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
} as const satisfies Options

export const PASSWORD_MIN = 10
export const PASSWORD_MAX = 256

const SALT_BYTES = 16
const PREFIX = '$argon2id$v=19$'

/** What a proof is computed with: everything in a stored string but its hash. */
export interface PasswordSettings {
  memoryCost: number
  timeCost: number
  parallelism: number
  /** The pepper's id; absent for strings from before the pepper. */
  keyId?: string
  salt: Buffer
}

export class PasswordSettingsError extends Error {
  override name = 'PasswordSettingsError'
}

const unpadded = (b: Buffer) => b.toString('base64').replace(/=+$/, '')

function params(s: Pick<PasswordSettings, 'memoryCost' | 'timeCost' | 'parallelism' | 'keyId'>): string {
  return `m=${s.memoryCost},t=${s.timeCost},p=${s.parallelism}${s.keyId ? `,keyid=${s.keyId}` : ''}`
}

/** `$argon2id$v=19$m=…,t=…,p=…,keyid=…$<salt>` (what app.login_settings answers). */
export function formatSettings(s: PasswordSettings): string {
  return `${PREFIX}${params(s)}$${unpadded(s.salt)}`
}

/** Reads settings (a stored string with or without its hash); throws on anything else. */
export function parseSettings(text: string): PasswordSettings {
  const m = /^\$argon2id\$v=19\$m=(\d{1,9}),t=(\d{1,4}),p=(\d{1,3})(?:,keyid=([A-Za-z0-9_-]{1,32}))?\$([A-Za-z0-9+/]{11,64})(?:\$[A-Za-z0-9+/]+)?$/.exec(text)
  if (!m) throw new PasswordSettingsError('not argon2id password settings')
  return { memoryCost: Number(m[1]), timeCost: Number(m[2]), parallelism: Number(m[3]), keyId: m[4], salt: Buffer.from(m[5]!, 'base64') }
}

/** The current settings' prefix without a salt: app.login_settings completes it for unknown addresses. */
export function decoySettings(peppers: KeyRing): string {
  return `${PREFIX}${params({ ...ARGON2_OPTIONS, keyId: peppers.active.id })}`
}

/**
 * The proof of `password` under `settings`: the raw Argon2id output, peppered with the key the
 * settings name. A key no longer in the ring cannot prove anything: the caller still spends one
 * Argon2id (so the answer takes the usual time) and gets null.
 */
export async function passwordProof(password: string, settings: PasswordSettings, peppers: KeyRing): Promise<Buffer | null> {
  const pepper = settings.keyId === undefined ? undefined : peppers.byId.get(settings.keyId)
  const options: Options = {
    ...ARGON2_OPTIONS,
    memoryCost: settings.memoryCost,
    timeCost: settings.timeCost,
    parallelism: settings.parallelism,
    salt: settings.salt,
    ...(pepper ? { secret: pepper.key } : {}),
  }
  const output = await hashRaw(password, options)
  return settings.keyId !== undefined && !pepper ? null : output
}

/** A new stored string for `password`: a fresh salt, the current parameters, the active pepper. */
export async function hashPassword(password: string, peppers: KeyRing): Promise<string> {
  const settings: PasswordSettings = { ...ARGON2_OPTIONS, keyId: peppers.active.id, salt: randomBytes(SALT_BYTES) }
  const proof = await passwordProof(password, settings, peppers)
  return `${formatSettings(settings)}$${unpadded(createHash('sha256').update(proof!).digest())}`
}

/**
 * True when a stored string should be replaced at the next sign-in: other parameters than
 * ARGON2_OPTIONS, no pepper (from before PASSWORD_PEPPERS), or a pepper that is no longer the
 * active one (rotation: every sign-in moves a user to the newest pepper).
 */
export function needsRehash(settings: PasswordSettings, peppers: KeyRing): boolean {
  return (
    settings.memoryCost !== ARGON2_OPTIONS.memoryCost ||
    settings.timeCost !== ARGON2_OPTIONS.timeCost ||
    settings.parallelism !== ARGON2_OPTIONS.parallelism ||
    settings.keyId !== peppers.active.id
  )
}

// Passwords for the RLS suite: a pepper ring of its own, stored strings made exactly as the
// service makes them, and the proofs the database checks (src/crypto/passwords.ts).
import { randomBytes } from 'node:crypto'
import { parseKeyRing } from '../../src/crypto/envelope.js'
import { decoySettings, hashPassword, parseSettings, passwordProof } from '../../src/crypto/passwords.js'
import type { Sql } from './rls.js'

export const PEPPERS = parseKeyRing(`rls1:${randomBytes(32).toString('base64')}`)
export const PASSWORD = 'a test passphrase of some length'

/** A stored password string for `password`, peppered with PEPPERS. */
export function storedPassword(password = PASSWORD): Promise<string> {
  return hashPassword(password, PEPPERS)
}

/** Sets `userId`'s password (as superuser) and returns the stored string. */
export async function setPassword(su: Sql, userId: string, password = PASSWORD): Promise<string> {
  const stored = await storedPassword(password)
  await su.query('update users set password_hash = $2 where id = $1', [userId, stored])
  return stored
}

/** The proof of `password` under the settings the database hands out for `email`. */
export async function proofFor(sql: Sql, email: string, password = PASSWORD): Promise<Buffer> {
  const { rows } = await sql.query<{ s: string }>('select app.login_settings($1, $2) as s', [email, decoySettings(PEPPERS)])
  return (await passwordProof(password, parseSettings(rows[0]!.s), PEPPERS))!
}

/** The decoy prefix the service passes to app.login_settings. */
export const DECOY = decoySettings(PEPPERS)

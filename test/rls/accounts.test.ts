// The account functions of sql/100 and sql/180 as the runtime login with no HTTP in between: the
// database verifies a password proof, a link or a challenge itself before it seals anyone, so a
// statement injected as the runtime can sign in as nobody, verify nobody's address, set nobody's
// password and enrol or remove nobody's second factor.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import {
  beginRequest, inRequest, pgError, rows, seedEmailToken, seedMfa, seedSession, seedUser, tokenHash, type Sql,
  refusal,
} from '../helpers/rls.js'
import { DECOY, PASSWORD, proofFor, setPassword, storedPassword } from '../helpers/passwords.js'
import { hash as legacyHash } from '@node-rs/argon2'
import { ARGON2_OPTIONS } from '../../src/crypto/passwords.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const runtime = await connect(t, db.appUrl)

const emailOf = async (userId: string) => (await rows<{ email: string }>(su, 'select email from users where id = $1', [userId]))[0]!.email
const context = (sql: Sql) => rows(sql, 'select app.current_user_id() as user_id, app.current_session_id() as session_id')
const DAY = 86400

/** app.sign_in with fresh token hashes; answers its row. */
const signIn = (sql: Sql, email: string, proof: Buffer, rehash: string | null = null) =>
  rows<{ user_id: string; session_id: string | null; mfa_required: boolean }>(
    sql,
    'select * from app.sign_in($1, $2, $3, $4, $5, $6, $7, $8)',
    [email, proof, rehash, tokenHash(), tokenHash(), 30 * DAY, 7 * DAY, 300],
  )

t.test('login_settings hands out salt and parameters, never the hash, and decoys for unknown addresses', async (t) => {
  // Threat: an injected statement reads anyone's password hash (to crack offline) or tells registered addresses apart.
  const user = await seedUser(su)
  const stored = await setPassword(su, user)
  const settings = (email: string) => rows<{ s: string }>(runtime, 'select app.login_settings($1, $2) as s', [email, DECOY])
  const [known] = await settings(await emailOf(user))
  t.equal(known!.s, stored.slice(0, stored.lastIndexOf('$')), 'the stored string without its hash field')
  t.notMatch(known!.s, stored.slice(stored.lastIndexOf('$') + 1), 'the hash never leaves')
  const [decoy] = await settings('nobody@rls.test')
  t.match(decoy!.s, new RegExp(`^${DECOY.replaceAll('$', '\\$')}\\$[A-Za-z0-9+/]{22}$`), 'an unknown address: the current settings with a salt')
  t.same(await settings('nobody@rls.test'), [decoy], 'the same decoy every time, like a real account')
  t.not((await settings('somebody@rls.test'))[0]!.s, decoy!.s, 'a different salt per address')
  t.same(
    await pgError(runtime.query('select app.login_settings($1, $2)', ['x@rls.test', '$argon2id$v=19$m=1,t=1,p=1$trailing'])),
    refusal('GHINV', 'decoy settings must look like $argon2id$v=19$m=…,t=…,p=…'),
    'decoy settings are checked',
  )
})

t.test('sign_in opens a session only for a proof of the password', async (t) => {
  // Threat: a statement injected as the runtime signs in as any user, with no password or with another's.
  const user = await seedUser(su)
  await setPassword(su, user)
  const email = await emailOf(user)
  const wrong = await proofFor(runtime, email, 'not the password at all')
  const mine = await seedUser(su)
  await setPassword(su, mine, 'my own password here')
  const myProof = await proofFor(runtime, await emailOf(mine), 'my own password here')
  for (const [label, proof] of [
    ['a wrong password', wrong],
    ['32 zero bytes', Buffer.alloc(32)],
    ['another account\'s proof', myProof],
    ['a short proof', Buffer.alloc(16)],
  ] as const) {
    t.same(
      await pgError(inRequest(runtime, {}, (sql) => signIn(sql, email, proof))),
      refusal('GHCRD', 'Wrong email or password'),
      label,
    )
  }
  t.same(await pgError(inRequest(runtime, {}, (sql) => signIn(sql, 'nobody@rls.test', wrong))), refusal('GHCRD', 'Wrong email or password'), 'an unknown address: the same answer')
  t.same(await rows(su, 'select count(*)::int as n from sessions where user_id = $1', [user]), [{ n: 0 }], 'no session was opened')

  const right = await proofFor(runtime, email)
  const [signedIn, ctx] = await inRequest(runtime, { ip: '203.0.113.9', userAgent: 'SignInProbe' }, async (sql) => [(await signIn(sql, email, right))[0]!, (await context(sql))[0]!])
  t.match(signedIn, { user_id: user, mfa_required: false }, 'the right proof signs in')
  t.same(ctx, { user_id: user, session_id: signedIn.session_id }, 'and seals the request as that user and session')
  t.same(
    await rows(su, `select action, actor_user_id, ip, user_agent, after from audit_log where action = 'auth.login' and actor_user_id = $1`, [user]),
    [{ action: 'auth.login', actor_user_id: user, ip: '203.0.113.9', user_agent: 'SignInProbe', after: { method: 'password' } }],
    'audited as the user, with the request\'s metadata',
  )
  t.same(await pgError(runtime.query('select * from app.sign_in($1, $2, null, $3, $4, 60, 60, 300)', [email, right, tokenHash(), tokenHash()])),
    refusal('55000', 'no request context in this transaction: app.begin_request comes first'), 'outside a request: refused')
})

t.test('sign_in verifies and replaces a hash from before the pepper, and only on success', async (t) => {
  // Threat: an old unpeppered hash stays crackable forever; or a failed attempt overwrites a hash.
  const user = await seedUser(su)
  const legacy = await legacyHash(PASSWORD, { ...ARGON2_OPTIONS })
  await su.query('update users set password_hash = $2 where id = $1', [user, legacy])
  const email = await emailOf(user)
  const fresh = await storedPassword()
  t.same(await pgError(inRequest(runtime, {}, (sql) => signIn(sql, email, Buffer.alloc(32), fresh))), refusal('GHCRD', 'Wrong email or password'))
  t.same(await rows(su, 'select password_hash from users where id = $1', [user]), [{ password_hash: legacy }], 'a failed sign-in replaces nothing')
  t.same(
    await pgError(inRequest(runtime, {}, async (sql) => signIn(sql, email, await proofFor(sql, email), 'not a hash'))),
    refusal('GHINV', 'a password hash must be a peppered Argon2id string'),
    'a malformed replacement is refused',
  )
  const [row] = await inRequest(runtime, {}, async (sql) => signIn(sql, email, await proofFor(sql, email), fresh))
  t.equal(row!.user_id, user, 'the legacy hash signs in')
  t.same(await rows(su, 'select password_hash from users where id = $1', [user]), [{ password_hash: fresh }], 'and is replaced by the peppered one')
})

t.test('sign_in of an account with MFA issues a challenge, not a session', async (t) => {
  // Threat: a password alone opens a session for an account that has a second factor.
  const user = await seedUser(su)
  await setPassword(su, user)
  await seedMfa(su, user)
  const email = await emailOf(user)
  const [row] = await inRequest(runtime, {}, async (sql) => signIn(sql, email, await proofFor(sql, email)))
  t.match(row, { user_id: user, session_id: null, mfa_required: true })
  t.same(await rows(su, 'select count(*)::int as n from sessions where user_id = $1', [user]), [{ n: 0 }], 'no session')
  t.same(await rows(su, 'select count(*)::int as n from mfa_challenges where user_id = $1 and used_at is null', [user]), [{ n: 2 }], 'a second live challenge (seedMfa made one)')
})

t.test('register makes an unverified account and its session, and nothing else', async (t) => {
  // Threat: registration pre-verifies an address, takes an existing one over, or stores a plain password.
  const email = `reg-${randomUUID()}@rls.test`
  const register = (sql: Sql, address: string, hash: string) =>
    rows<{ user_id: string; session_id: string }>(sql, 'select * from app.register($1, $2, $3, $4, $5, $6)', [address, 'New', hash, tokenHash(), 30 * DAY, 7 * DAY])
  const hash = await storedPassword()
  const [row, ctx] = await inRequest(runtime, {}, async (sql) => [(await register(sql, email, hash))[0]!, (await context(sql))[0]!])
  t.same(ctx, { user_id: row.user_id, session_id: row.session_id }, 'the request is the new user\'s')
  t.same(await rows(su, 'select email, email_verified_at from users where id = $1', [row.user_id]), [{ email, email_verified_at: null }], 'unverified')
  t.same(await pgError(inRequest(runtime, {}, (sql) => register(sql, email, hash))), refusal('GHETK', 'An account with this email already exists'), 'a taken address')
  const unpeppered = await legacyHash(PASSWORD, { ...ARGON2_OPTIONS })
  t.same(await pgError(inRequest(runtime, {}, (sql) => register(sql, `x-${email}`, unpeppered))), refusal('GHINV', 'a new password hash must be peppered (keyid=…)'), 'an unpeppered hash')
  t.same(await pgError(inRequest(runtime, {}, (sql) => register(sql, `y-${email}`, 'plain password'))), refusal('GHINV', 'a new password hash must be peppered (keyid=…)'), 'a plain password')
})

t.test('verify_email verifies only the signed-in account the link was sent to', async (t) => {
  // Threat: a squatter registers someone else's address and has it verified by the owner's click;
  // or an injected statement verifies an address with a link hash it chose.
  const squatter = await seedUser(su, { verified: false })
  const owner = await seedUser(su)
  const link = await seedEmailToken(su, squatter, 'verify_email')
  const ownerSession = await seedSession(su, owner)
  const verify = (req: { session?: Buffer }) => inRequest(runtime, req, (sql) => sql.query('select app.verify_email($1)', [link]))
  t.same(await pgError(verify({})), refusal('GHAUT', 'Sign in first'), 'signed out: refused')
  t.same(await pgError(verify({ session: ownerSession })), refusal('GHFBD', 'This link belongs to another account: sign in as the account it was sent to'), 'another account: refused')
  t.same(await rows(su, 'select used_at from email_tokens where token_hash = $1', [link]), [{ used_at: null }], 'the link survives both')
  t.same(await rows(su, 'select email_verified_at from users where id = $1', [squatter]), [{ email_verified_at: null }], 'nobody was verified')

  const session = await seedSession(su, squatter)
  const other = await seedSession(su, squatter)
  await verify({ session })
  t.match(await rows(su, 'select email_verified_at is not null as v from users where id = $1', [squatter]), [{ v: true }], 'its own account, signed in: verified')
  t.same(
    await rows(su, 'select token_hash = $2 as current, revoked_at is not null as revoked from sessions where user_id = $1 order by 1', [squatter, session]),
    [{ current: false, revoked: true }, { current: true, revoked: false }],
    'every other session of the account is signed out',
  )
  t.ok(other)
  t.same(await pgError(verify({ session })), refusal('GHTOK', 'The link is unknown, used or expired'), 'the link works once')
  t.same(await pgError(inRequest(runtime, { session }, (sql) => sql.query('select app.verify_email($1)', [tokenHash()]))), refusal('GHTOK', 'The link is unknown, used or expired'), 'a chosen hash')
})

t.test('reset_password: a live link sets the password, verifies the address and signs out everywhere', async (t) => {
  // Threat: a reset link is replayed, used past its hour, used for another purpose, or leaves a thief signed in.
  const user = await seedUser(su, { verified: false })
  await setPassword(su, user, 'the old password here')
  await seedSession(su, user)
  const link = await seedEmailToken(su, user, 'reset_password')
  const older = await seedEmailToken(su, user, 'reset_password')
  const verification = await seedEmailToken(su, user, 'verify_email')
  const expired = await seedEmailToken(su, user, 'reset_password', -1)
  const newHash = await storedPassword('the new password here')
  const reset = (hash: Buffer, stored = newHash) => inRequest(runtime, {}, (sql) => sql.query('select app.reset_password($1, $2)', [hash, stored]))
  for (const [label, hash] of [['expired', expired], ['a verification link', verification], ['unknown', tokenHash()]] as const) {
    t.same(await pgError(reset(hash)), refusal('GHTOK', 'The link is unknown, used or expired'), label)
  }
  t.same(await pgError(reset(link, 'plain')), refusal('GHINV', 'a password hash must be a peppered Argon2id string'), 'a malformed hash')
  t.same(await rows(su, 'select used_at from email_tokens where token_hash = $1', [link]), [{ used_at: null }], 'nothing spent so far')

  await reset(link)
  t.same(
    await rows(su, `select password_hash = $2 as set, email_verified_at is not null as verified,
                           (select count(*)::int from sessions where user_id = $1 and revoked_at is null) as live
                      from users where id = $1`, [user, newHash]),
    [{ set: true, verified: true, live: 0 }],
    'the password is set, the address verified, every session signed out',
  )
  t.same(await pgError(reset(link)), refusal('GHTOK', 'The link is unknown, used or expired'), 'the link works once')
  t.same(await pgError(reset(older)), refusal('GHTOK', 'The link is unknown, used or expired'), 'and every other reset link is void')
  t.same(await rows(su, 'select used_at from email_tokens where token_hash = $1', [verification]), [{ used_at: null }], 'a verification link is not spent by a reset')
})

t.test('of two concurrent uses of a reset link exactly one wins', async (t) => {
  // Threat: two requests racing with the same link both succeed (double spend).
  const user = await seedUser(su)
  const link = await seedEmailToken(su, user, 'reset_password')
  const first = await connect(t, db.appUrl)
  const second = await connect(t, db.appUrl)
  const secondPid = (await rows<{ pid: number }>(second, 'select pg_backend_pid() as pid'))[0]!.pid
  const [a, b] = [await storedPassword('first racing password'), await storedPassword('second racing password')]

  await first.query('begin')
  await beginRequest(first)
  await first.query('select app.reset_password($1, $2)', [link, a])
  const racing = pgError(inRequest(second, {}, (sql) => sql.query('select app.reset_password($1, $2)', [link, b])))
  let blocked = false
  for (let i = 0; i < 10_000 && !blocked; i++) {
    const [w] = await rows<{ n: number }>(su, 'select cardinality(pg_blocking_pids($1)) as n', [secondPid])
    blocked = w!.n > 0
  }
  t.ok(blocked, 'the second use waits for the first')
  await first.query('commit')
  t.same(await racing, refusal('GHTOK', 'The link is unknown, used or expired'), 'the second finds it used')
  t.same(await rows(su, 'select password_hash = $2 as first from users where id = $1', [user, a]), [{ first: true }], 'the first one\'s password is the one stored')
})

t.test('change_password needs the signed-in session and a proof of the current password', async (t) => {
  // Threat: a stolen session (or an injected statement riding on one) sets a password it does not know.
  const user = await seedUser(su)
  await setPassword(su, user)
  const email = await emailOf(user)
  const session = await seedSession(su, user)
  const other = await seedSession(su, user)
  const newHash = await storedPassword('a brand new password')
  const change = (req: { session?: Buffer }, proof: Buffer) =>
    inRequest(runtime, req, (sql) => rows<{ id: string }>(sql, 'select app.change_password($1, $2, $3, $4, $5) as id', [proof, newHash, tokenHash(), 30 * DAY, 7 * DAY]))
  const right = await proofFor(runtime, email)
  t.same(await pgError(change({}, right)), refusal('GHAUT', 'Sign in first'), 'signed out')
  t.same(await pgError(change({ session }, Buffer.alloc(32))), refusal('GHCRD', 'The current password is wrong'), 'a wrong proof')
  t.same(await rows(su, 'select password_hash = $2 as changed from users where id = $1', [user, newHash]), [{ changed: false }], 'unchanged')
  const [{ id }] = (await change({ session }, right)) as [{ id: string }]
  t.same(
    await rows(su, 'select id = $2 as rotated, revoked_at is null as live from sessions where user_id = $1 order by 1', [user, id]),
    [{ rotated: false, live: false }, { rotated: false, live: false }, { rotated: true, live: true }],
    'the old session and the other one are signed out; only the rotated one lives',
  )
  t.ok(other)
})

t.test('MFA changes go through the functions, for the sealed user only', async (t) => {
  // Threat: a statement riding on a user's session (or none) enrols the attacker's authenticator,
  // removes the user's MFA, or mints backup codes, without the password or a second factor.
  const user = await seedUser(su)
  await setPassword(su, user)
  const email = await emailOf(user)
  let session = await seedSession(su, user)
  const proof = await proofFor(runtime, email)
  const as = (fn: (sql: Sql) => Promise<unknown>) => inRequest(runtime, { session }, fn)
  // Enabling, regenerating and disabling rotate the session to the token hash they are given.
  const rotated = tokenHash()
  t.same(await pgError(inRequest(runtime, {}, (sql) => sql.query('select app.mfa_setup($1, $2)', [proof, 'v1.k.a.b.c']))), refusal('GHAUT', 'Sign in first'), 'setup signed out')
  t.same(await pgError(as((sql) => sql.query('select app.mfa_setup($1, $2)', [Buffer.alloc(32), 'v1.k.a.b.c']))), refusal('GHCRD', 'The password is wrong'), 'setup without the password')
  await as((sql) => sql.query('select app.mfa_setup($1, $2)', [proof, 'v1.k.a.b.c']))
  t.same(await rows(su, 'select enabled_at from user_mfa where user_id = $1', [user]), [{ enabled_at: null }], 'a pending secret')
  const now = Math.floor(Date.now() / 30_000)
  const hashes = Array.from({ length: 10 }, () => tokenHash())
  const enable = (step: number, codes: Buffer[]) => as((sql) => sql.query('select app.mfa_enable($1, $2, $3, 3600, 3600)', [step, codes, rotated]))
  const disable = (pw: Buffer, code: Buffer | null) => as((sql) => sql.query('select app.mfa_disable($1, null, $2, $3, 3600, 3600)', [pw, code && [code], tokenHash()]))
  t.same(await pgError(enable(now + 1000, hashes)), refusal('GHMFA', 'The code is wrong, expired or already used'), 'a step far from now')
  t.same(await pgError(enable(now, hashes.slice(1))), refusal('GHINV', 'ten 32-byte backup code hashes are expected'), 'nine codes')
  await enable(now, hashes)
  t.same(await rows(su, 'select token_hash = $2 as rotated, mfa_at is not null as mfa from sessions where user_id = $1 and revoked_at is null', [user, rotated]),
    [{ rotated: true, mfa: true }], 'enabling rotated the session to one confirmed with the second factor')
  session = rotated
  t.same(await pgError(as((sql) => sql.query('select app.mfa_regenerate_backup_codes($1, $2, $3, 3600, 3600)', [now, hashes, tokenHash()]))), refusal('GHMFA', 'The code is wrong, expired or already used'), 'a used step is not accepted again')
  t.same(await pgError(disable(Buffer.alloc(32), hashes[0]!)), refusal('GHCRD', 'The password is wrong'), 'disable without the password')
  t.same(await pgError(disable(proof, tokenHash())), refusal('GHMFA', 'The code is wrong, expired or already used'), 'disable with a made-up backup code')
  t.same(await pgError(disable(proof, null)), refusal('GHMFA', 'The code is wrong, expired or already used'), 'disable with no factor')
  t.same(await rows(su, 'select enabled_at is not null as on from user_mfa where user_id = $1', [user]), [{ on: true }], 'still on')
  await disable(proof, hashes[0]!)
  t.same(await rows(su, 'select (select count(*)::int from user_mfa where user_id = $1) as mfa, (select count(*)::int from mfa_backup_codes where user_id = $1) as codes', [user]), [{ mfa: 0, codes: 0 }], 'off, with every code gone')
})

t.test('complete_mfa_sign_in spends a live challenge once, with a factor', async (t) => {
  // Threat: an MFA challenge is replayed, used after its 5 minutes, or completed without a second factor.
  const user = await seedUser(su)
  const challenge = await seedMfa(su, user)
  const [code] = await rows<{ code_hash: Buffer }>(su, 'select code_hash from mfa_backup_codes where user_id = $1', [user])
  const complete = (hash: Buffer, step: number | null, backup: Buffer | null) =>
    inRequest(runtime, {}, (sql) => rows(sql, 'select * from app.complete_mfa_sign_in($1, $2, $3, $4, 3600, 3600)', [hash, step, backup && [tokenHash(), backup], tokenHash()]))
  const peek = (hash: Buffer) => rows(runtime, 'select user_id from app.mfa_challenge($1)', [hash])
  t.same(await peek(challenge), [{ user_id: user }], 'peek: the user')
  t.same(await pgError(complete(challenge, null, null)), refusal('GHMFA', 'The code is wrong, expired or already used'), 'no factor')
  t.same(await pgError(complete(challenge, null, tokenHash())), refusal('GHMFA', 'The code is wrong, expired or already used'), 'a made-up backup code')
  t.same(await peek(challenge), [{ user_id: user }], 'a failed attempt consumes nothing')
  const [done] = await complete(challenge, null, code!.code_hash)
  t.match(done, { user_id: user }, 'a backup code completes it')
  t.same(await pgError(complete(challenge, null, code!.code_hash)), refusal('GHTOK', 'The sign-in challenge is unknown, used or expired'), 'once')
  t.same(await peek(challenge), [], 'a used challenge names nobody')
  const other = await seedUser(su)
  const expired = await seedMfa(su, other, { challengeExpiresIn: -1 })
  t.same(await peek(expired), [], 'expired: nobody')
  t.same(await pgError(complete(expired, null, tokenHash())), refusal('GHTOK', 'The sign-in challenge is unknown, used or expired'), 'expired: refused')
})

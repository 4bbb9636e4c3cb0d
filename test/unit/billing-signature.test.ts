// The billing webhook's signature check (src/modules/billing/signature.ts), Stripe's scheme:
// t=<unix>,v1=<hex HMAC-SHA256 of "t.raw body">, 5 minutes either way, any v1 may match.
import t from 'tap'
import { createHmac } from 'node:crypto'
import { SIGNATURE_TOLERANCE_SECONDS, signatureHeader, verifySignature } from '../../src/modules/billing/signature.js'

const SECRET = 'whsec_unit_secret'
const body = Buffer.from('{"id":"evt_1","type":"customer.subscription.updated"}')
const now = 1_800_000_000_000
const t0 = now / 1000
const hmac = (payload: string | Buffer, secret = SECRET) => createHmac('sha256', secret).update(payload).digest('hex')
const verify = (header: string | undefined, b: Buffer = body, at = now) => verifySignature(header, b, SECRET, { now: at })

t.test('a header signed with the secret over "t.body" verifies', async (t) => {
  t.same(verify(signatureHeader(body, SECRET, t0)), { ok: true, timestamp: t0 })
  t.same(verify(`t=${t0},v1=${hmac(`${t0}.${body.toString()}`)}`), { ok: true, timestamp: t0 }, 'the digest as Stripe documents it')
  t.same(verify(` t=${t0} , v1=${hmac(`${t0}.${body.toString()}`).toUpperCase()} `), { ok: true, timestamp: t0 }, 'spaces and upper-case hex')
  t.equal(verify(`t=${t0},v0=abc,v1=${hmac(`${t0}.${body.toString()}`)},x=y`).ok, true, 'other schemes are ignored')
})

t.test('several v1 entries: any one matching verifies (a secret being rolled)', async (t) => {
  const good = hmac(`${t0}.${body.toString()}`)
  const other = hmac(`${t0}.${body.toString()}`, 'whsec_old')
  t.equal(verify(`t=${t0},v1=${other},v1=${good}`).ok, true, 'second of two')
  t.equal(verify(`t=${t0},v1=${good},v1=${other}`).ok, true, 'first of two')
  t.same(verify(`t=${t0},v1=${other},v1=${other}`), { ok: false, reason: 'mismatch' }, 'none of them')
})

t.test('the wrong secret, another body or another timestamp does not verify', async (t) => {
  t.same(verify(signatureHeader(body, 'whsec_wrong', t0)), { ok: false, reason: 'mismatch' }, 'wrong secret')
  t.same(verify(signatureHeader(body, SECRET, t0), Buffer.from(body.toString() + ' ')), { ok: false, reason: 'mismatch' }, 'one more byte')
  t.same(verify(`t=${t0 + 1},v1=${hmac(`${t0}.${body.toString()}`)}`), { ok: false, reason: 'mismatch' }, 'the digest of another timestamp')
  t.same(verify(`t=${t0},v1=${hmac(body)}`), { ok: false, reason: 'mismatch' }, 'the body alone, without "t."')
})

t.test('5 minutes either way: older or newer is stale', async (t) => {
  const tol = SIGNATURE_TOLERANCE_SECONDS
  t.equal(tol, 300)
  t.equal(verify(signatureHeader(body, SECRET, t0 - tol)).ok, true, 'exactly 5 minutes old')
  t.equal(verify(signatureHeader(body, SECRET, t0 + tol)).ok, true, 'exactly 5 minutes ahead')
  t.same(verify(signatureHeader(body, SECRET, t0 - tol - 1)), { ok: false, reason: 'stale' }, 'older')
  t.same(verify(signatureHeader(body, SECRET, t0 + tol + 1)), { ok: false, reason: 'stale' }, 'from the future')
  t.same(verify(signatureHeader(body, SECRET, 0)), { ok: false, reason: 'stale' }, 't=0')
  t.equal(verifySignature(signatureHeader(body, SECRET, t0 - 600), body, SECRET, { now, toleranceSeconds: 900 }).ok, true, 'a tolerance of its own')
})

t.test('a missing or malformed header does not verify', async (t) => {
  const good = hmac(`${t0}.${body.toString()}`)
  t.same(verify(undefined), { ok: false, reason: 'missing' })
  t.same(verify(''), { ok: false, reason: 'missing' })
  for (const header of [
    'garbage', `v1=${good}`, `t=${t0}`, `t=${t0},v1=`, `t=${t0},v1=${good.slice(2)}`, `t=${t0},v1=${good}00`, `t=${t0},v1=${'z'.repeat(64)}`,
    `t=abc,v1=${good}`, `t=-${t0},v1=${good}`, `t=${t0}.5,v1=${good}`, `t=${t0},t=${t0},v1=${good}`, `t=${t0},,v1=${good}`,
    `t=${t0};v1=${good}`, `=${t0},v1=${good}`, `t=1${'0'.repeat(20)},v1=${good}`,
    `t=${t0},${Array.from({ length: 9 }, () => `v1=${good}`).join(',')}`, `t=${t0},v1=${good},x=${'a'.repeat(5000)}`,
  ]) {
    t.same(verify(header), { ok: false, reason: 'malformed' }, header.slice(0, 80))
  }
})

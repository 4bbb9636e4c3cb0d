// The email outbox: queued in the action's transaction, sealed at rest, sent by the worker through
// the real Resend SDK (to the fake Resend API), retried with backoff, given up after MAX_ATTEMPTS,
// and purged of its secret-bearing body once delivered.
import t from 'tap'
import pg from 'pg'
import { MAX_ATTEMPTS, backoffSeconds } from '../../src/email/worker.js'
import { buildTestApp } from '../helpers/app.js'
import { PASSWORD, emailsTo, register, tokenFromEmail, uniqueEmail } from '../helpers/actors.js'

const ctx = await buildTestApp(t)

interface OutboxRow {
  id: string
  status: string
  attempts: number
  body_encrypted: string | null
  last_error: string | null
  provider_message_id: string | null
  sent_at: Date | null
  due_later: boolean
  as_text: string
}

async function outbox(to: string): Promise<OutboxRow[]> {
  return ctx.sql<OutboxRow>(
    `select id, status, attempts, body_encrypted, last_error, provider_message_id, sent_at,
            next_attempt_at > now() as due_later, o::text as as_text
       from email_outbox o where to_address = $1 order by created_at`,
    [to],
  )
}

/** Registers someone (queueing their verification email) with nothing else pending. */
async function queueVerification(): Promise<string> {
  await ctx.app.outbox.drain()
  const email = uniqueEmail('mail')
  const res = await ctx.app.inject({ method: 'POST', url: '/api/auth/register', payload: { email, password: PASSWORD, name: 'Mail' } })
  if (res.statusCode !== 201) throw new Error(`register: ${res.statusCode} ${res.body}`)
  return email
}

t.test('the worker sends through Resend and purges the body', async (t) => {
  const to = await queueVerification()
  const [queued] = await outbox(to)
  t.equal(queued?.status, 'pending')
  t.equal(queued?.attempts, 0)
  t.match(queued?.body_encrypted, /^v1\./, 'sealed with the key ring')

  const sent = await ctx.app.outbox.drain()
  t.equal(sent, 1, 'one email sent')
  const mails = ctx.mail.sent.filter((m) => m.to.includes(to))
  t.equal(mails.length, 1)
  t.equal(mails[0]!.subject, 'Verify your email address')
  t.equal(mails[0]!.from, ctx.config.emailFrom)
  t.equal(mails[0]!.idempotencyKey, `outbox-${queued!.id}`, "the outbox row's idempotency key")
  t.equal(mails[0]!.authorization, 'Bearer re_test_key')

  const [row] = await outbox(to)
  t.equal(row!.status, 'sent')
  t.equal(row!.attempts, 1)
  t.equal(row!.body_encrypted, null, 'the body is purged after delivery')
  t.match(row!.provider_message_id, /^fake-\d+$/, "Resend's message id is kept")
  t.ok(row!.sent_at, 'sent_at recorded')
  t.equal(await ctx.app.outbox.drain(), 0, 'nothing is sent twice')
})

t.test('the queued body is not readable in clear in the database', async (t) => {
  // Threat: someone with read access to the database (a replica, a dump) follows a verification link.
  const to = await queueVerification()
  const [queued] = await outbox(to)
  const everything = await ctx.sql<{ dump: string }>(`select string_agg(o::text, '\n') as dump from email_outbox o`)
  const token = await tokenFromEmail(ctx, to)
  t.notOk(queued!.as_text.includes(token), 'no token in the queued row')
  t.notOk(everything[0]!.dump.includes(token), 'no token anywhere in email_outbox')
  t.notOk(queued!.as_text.includes('verify-email'), 'no link either')
  t.notOk(queued!.as_text.includes('Hello'), 'nor the text')
})

t.test('a ciphertext moved to another row does not decrypt', async (t) => {
  // Threat: a database writer swaps a sealed body into another row to have it sent to their address.
  const victim = await queueVerification()
  const attacker = uniqueEmail('attacker')
  await ctx.sql(
    `insert into email_outbox (to_address, template, body_encrypted)
     select $2, template, body_encrypted from email_outbox where to_address = $1`,
    [victim, attacker],
  )
  await ctx.app.outbox.drain()
  t.same(await emailsTo(ctx, attacker), [], 'nothing sent to the copied row')
  const [copy] = await outbox(attacker)
  t.equal(copy!.status, 'pending')
  t.equal(copy!.attempts, 1)
  t.match(copy!.last_error, /does not authenticate/)
  t.equal((await emailsTo(ctx, victim)).length, 1, 'the genuine row is delivered')
})

t.test('a failed send is retried later, with backoff', async (t) => {
  const to = await queueVerification()
  ctx.mail.failNext(1)
  t.equal(await ctx.app.outbox.drain(), 0, 'the send failed')
  t.same(await emailsTo(ctx, to), [], 'nothing delivered')
  const [failed] = await outbox(to)
  t.equal(failed!.status, 'pending', 'still pending')
  t.equal(failed!.attempts, 1)
  t.equal(failed!.due_later, true, 'next_attempt_at is in the future')
  t.match(failed!.last_error, /Resend/)
  t.match(failed!.body_encrypted, /^v1\./, 'the body is kept for the retry')

  t.equal(await ctx.app.outbox.drain(), 0, 'not retried before it is due')
  const [waiting] = await outbox(to)
  t.equal(waiting!.attempts, 1)

  await ctx.sql('update email_outbox set next_attempt_at = now() where id = $1', [failed!.id])
  t.equal(await ctx.app.outbox.drain(), 1, 'retried once due')
  const [row] = await outbox(to)
  t.equal(row!.status, 'sent')
  t.equal(row!.attempts, 2)
  t.equal(row!.last_error, null)
  t.equal(row!.body_encrypted, null)
  const mails = ctx.mail.sent.filter((m) => m.to.includes(to))
  t.equal(mails.length, 1, 'delivered once')
  t.equal(mails[0]!.idempotencyKey, `outbox-${row!.id}`, 'the same idempotency key as the failed attempt')
})

t.test(`after ${MAX_ATTEMPTS} failed attempts the email is marked failed`, async (t) => {
  const to = await queueVerification()
  const [queued] = await outbox(to)
  await ctx.sql('update email_outbox set attempts = $2 where id = $1', [queued!.id, MAX_ATTEMPTS - 1])
  ctx.mail.failNext(1)
  t.equal(await ctx.app.outbox.drain(), 0)
  const [row] = await outbox(to)
  t.equal(row!.status, 'failed')
  t.equal(row!.attempts, MAX_ATTEMPTS)
  t.equal(row!.body_encrypted, null, 'the body is purged when giving up too')
  t.match(row!.last_error, /Resend/)

  await ctx.sql('update email_outbox set next_attempt_at = now() where id = $1', [queued!.id])
  t.equal(await ctx.app.outbox.drain(), 0, 'a failed email is not retried')
  t.same(await emailsTo(ctx, to), [])
})

t.test('an email is queued only when its action commits', async (t) => {
  await ctx.app.outbox.drain()
  const actor = await register(ctx)
  const before = (await outbox(actor.email)).length
  const dup = await ctx.app.inject({ method: 'POST', url: '/api/auth/register', payload: { email: actor.email, password: PASSWORD, name: 'Again' } })
  t.equal(dup.statusCode, 409)
  t.equal((await outbox(actor.email)).length, before, 'the refused registration queued nothing')
})

t.test('the runtime role can queue emails but not read them back', async (t) => {
  // Threat: an injection in a request handler reads other users' queued emails.
  const client = new pg.Client({ connectionString: ctx.db.appUrl })
  await client.connect()
  t.teardown(() => client.end())
  await t.rejects(client.query('select * from email_outbox'), { code: '42501' })
})

t.test('backoff doubles from 30 s and is capped at an hour', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7, 8, 20].map(backoffSeconds), [30, 60, 120, 240, 480, 960, 1920, 3600, 3600])
  t.equal(backoffSeconds(0), 30)
})

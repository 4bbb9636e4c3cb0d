// The outbox worker survives losing its connection in the middle of a drain: the service keeps
// serving, and the email goes out later, exactly once.
import t from 'tap'
import type pg from 'pg'
import { buildTestApp } from '../helpers/app.js'
import { register } from '../helpers/actors.js'
import { ResendTransport, type EmailTransport, type OutgoingEmail } from '../../src/email/transport.js'

t.test('the worker\'s backend terminated mid-drain: the service lives on and the email goes out once, later', async (t) => {
  // Threat: pg emits 'error' on a checked-out client whose backend went away between two
  // queries; unguarded, that uncaught exception takes the whole service down (a PostgreSQL
  // restart did so in 7 % of outages). And a retried email must not reach the user twice.
  let sabotage: ((email: OutgoingEmail) => Promise<void>) | undefined
  const transport: EmailTransport = {
    async send(email) {
      const once = sabotage
      sabotage = undefined
      await once?.(email)
      return real.send(email)
    },
  }
  const ctx = await buildTestApp(t, {}, { emailTransport: transport })
  const real = new ResendTransport(ctx.config.resendApiKey!, ctx.mail.url)

  let drainClient: pg.PoolClient | undefined
  ctx.pools.worker.on('acquire', (client) => (drainClient = client))
  const user = await register(ctx, { verified: false })

  // While the first send is on its way, the worker's backend is killed (its transaction, with
  // the claimed row's lock, dies with it) and the client sees its connection close.
  sabotage = async () => {
    const client = drainClient!
    const pid = (client as unknown as { processID: number }).processID
    const closed = new Promise<void>((resolve) => client.once('end', () => resolve()))
    t.same(await ctx.sql('select pg_terminate_backend($1) as ok', [pid]), [{ ok: true }], 'the worker\'s backend is terminated')
    await closed
  }
  await t.rejects(ctx.app.outbox.drain(), 'the drain fails: its outcome could not be recorded')
  t.equal(sabotage, undefined, 'the sabotage ran')
  t.equal(ctx.mail.sent.filter((m) => m.to.includes(user.email)).length, 1, 'the email did reach Resend once')

  const ready = await ctx.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200, 'the service is still serving')
  const me = await ctx.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: user.cookie } })
  t.equal(me.statusCode, 200, 'requests still work')
  const [pending] = await ctx.sql<{ status: string; attempts: number }>('select status, attempts from email_outbox where to_address = $1', [user.email])
  t.same(pending, { status: 'pending', attempts: 0 }, 'the email is still queued: nothing was recorded as sent')

  t.equal(await ctx.app.outbox.drain(), 1, 'the next drain sends it')
  const [sent] = await ctx.sql<{ status: string; body: string | null }>('select status, body_encrypted as body from email_outbox where to_address = $1', [user.email])
  t.same(sent, { status: 'sent', body: null }, 'recorded as sent, its secret-bearing body purged')
  t.equal(ctx.mail.sent.filter((m) => m.to.includes(user.email)).length, 1, 'delivered exactly once')
  t.equal(ctx.mail.repeats.filter((m) => m.to.includes(user.email)).length, 1, 'the second send repeated the idempotency key, and Resend delivered nothing')
  t.equal(await ctx.app.outbox.drain(), 0, 'and nothing is left to send')
})

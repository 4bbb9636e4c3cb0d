// A fake Resend API on loopback: the real Resend SDK is pointed at it with RESEND_BASE_URL,
// so tests exercise the SDK's request exactly as production sends it. Like Resend, it honours
// the Idempotency-Key header: a request repeating a key it has seen is answered with the first
// request's id and delivers nothing again (counted in `repeats`).
import { createServer, type Server } from 'node:http'

export interface SentEmail {
  from: string
  to: string[]
  subject: string
  text: string
  html: string
  idempotencyKey?: string
  authorization?: string
}

export interface FakeResend {
  url: string
  /** Each email delivered, once per idempotency key. */
  sent: SentEmail[]
  /** Requests that repeated an idempotency key already delivered (and delivered nothing). */
  repeats: SentEmail[]
  /** Answer the next `n` requests with HTTP 500. */
  failNext(n: number): void
  /** Answer every request made with this API key with HTTP 401, as Resend does a revoked key. */
  refuseKey(apiKey: string): void
  /** Resolves with the first email (already sent or yet to come) to `to` that `matches`. */
  waitFor(to: string, matches?: (email: SentEmail) => boolean): Promise<SentEmail>
  close(): Promise<void>
}

export async function startFakeResend(): Promise<FakeResend> {
  const sent: SentEmail[] = []
  const repeats: SentEmail[] = []
  const byKey = new Map<string, string>()
  const waiters: { wanted: (email: SentEmail) => boolean; resolve: (email: SentEmail) => void }[] = []
  let failures = 0
  const refused = new Set<string>()
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      if (req.method !== 'POST' || req.url !== '/emails') {
        res.statusCode = 404
        res.end(JSON.stringify({ name: 'not_found', message: 'not found', statusCode: 404 }))
        return
      }
      if (refused.has(req.headers.authorization ?? '')) {
        res.statusCode = 401
        res.end(JSON.stringify({ name: 'validation_error', message: 'API key is invalid', statusCode: 401 }))
        return
      }
      if (failures > 0) {
        failures--
        res.statusCode = 500
        res.end(JSON.stringify({ name: 'internal_server_error', message: 'fake outage', statusCode: 500 }))
        return
      }
      const email = JSON.parse(body) as { from: string; to: string | string[]; subject: string; text: string; html: string }
      const received: SentEmail = {
        ...email,
        to: Array.isArray(email.to) ? email.to : [email.to],
        idempotencyKey: req.headers['idempotency-key'] as string | undefined,
        authorization: req.headers.authorization,
      }
      const earlier = received.idempotencyKey ? byKey.get(received.idempotencyKey) : undefined
      if (earlier) {
        repeats.push(received)
        res.end(JSON.stringify({ id: earlier }))
        return
      }
      sent.push(received)
      const id = `fake-${sent.length}`
      if (received.idempotencyKey) byKey.set(received.idempotencyKey, id)
      res.end(JSON.stringify({ id }))
      const delivered = sent[sent.length - 1]!
      for (const waiter of waiters.splice(0)) {
        if (waiter.wanted(delivered)) waiter.resolve(delivered)
        else waiters.push(waiter)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${address.port}`,
    sent,
    repeats,
    failNext: (n) => (failures = n),
    refuseKey: (apiKey) => refused.add(`Bearer ${apiKey}`),
    waitFor: (to, matches = () => true) =>
      new Promise((resolve) => {
        const wanted = (m: SentEmail) => m.to.includes(to) && matches(m)
        const found = sent.find(wanted)
        if (found) resolve(found)
        else waiters.push({ wanted, resolve })
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

// A body over BODY_LIMIT_BYTES over a real socket. Threat, to clients rather than to the service:
// the 413 is written and the connection closed while the client is still sending, the server's
// kernel answers the rest with a reset, and the client sees ECONNRESET or EPIPE instead of the
// answer (RFC 9112 §9.6) — an SPA uploading too much gets a network error, not
// `payload_too_large`. So the rest of the body is read and thrown away, up to a bound, before the
// 413 goes out. Checked with Node's fetch (undici) and with a client that, like Python's
// http.client, sends the whole request before it reads anything; each with a declared
// Content-Length and with a chunked body.
import t, { type Test } from 'tap'
import net from 'node:net'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, as } from '../helpers/actors.js'

const ctx = await buildTestApp(t)
const { owner, workspaceId } = await activeTenant(ctx, 'Upload Co')
await ctx.app.listen({ host: '127.0.0.1', port: 0 })
const { port } = ctx.app.server.address() as net.AddressInfo
const base = `http://127.0.0.1:${port}`

const MB = 1024 * 1024
/** A JSON body of `bytes` bytes (a contact whose name is far too long), in 64 KiB pieces. */
function body(bytes: number): Buffer[] {
  const whole = Buffer.from(`{"name":"${'x'.repeat(bytes - 11)}"}`)
  const pieces: Buffer[] = []
  for (let i = 0; i < whole.length; i += 64 * 1024) pieces.push(whole.subarray(i, i + 64 * 1024))
  return pieces
}

function assertTooLarge(t: Test, status: number, headers: Headers | Record<string, string>, json: unknown): void {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers[name])
  t.equal(status, 413)
  t.same(json, { statusCode: 413, error: 'Payload Too Large', code: 'payload_too_large', message: 'The body is too large' }, 'the API error shape')
  t.equal(get('cache-control'), 'no-store')
}

async function count(): Promise<number> {
  const [row] = await ctx.sql<{ n: number }>('select count(*)::int as n from contacts where workspace_id = $1', [workspaceId])
  return row!.n
}

t.test('fetch() reads the 413', async (t) => {
  const before = await count()
  const headers = { ...as(owner, workspaceId), 'content-type': 'application/json' }
  for (let i = 0; i < 3; i++) {
    const declared = await fetch(`${base}/api/crm/contacts`, { method: 'POST', headers, body: Buffer.concat(body(2 * MB)) })
    assertTooLarge(t, declared.status, declared.headers, await declared.json())

    const pieces = body(2 * MB)
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = pieces.shift()
        if (next) controller.enqueue(next)
        else controller.close()
      },
    })
    const chunked = await fetch(`${base}/api/crm/contacts`, { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit)
    assertTooLarge(t, chunked.status, chunked.headers, await chunked.json())
  }
  t.equal(await count(), before, 'nothing was written')
})

// The client that sends everything before reading, as a process of its own (like a real one, its
// writes do not wait on this process's event loop, which also runs the server): it connects,
// writes the request head and the whole body, and only then reads the answer to its end. It
// prints {sendError} if a write failed — the connection was reset under it, the answer lost.
const SEND_ALL_THEN_READ = `
const net = require('node:net')
const [port, head, size, chunked] = process.argv.slice(1)
const body = Buffer.alloc(Number(size), 0x78)
const socket = net.connect(Number(port), '127.0.0.1')
const received = []
let sendError
const finish = () => { process.stdout.write(JSON.stringify({ sendError, answer: Buffer.concat(received).toString() })); process.exit(0) }
socket.on('error', (err) => { sendError = sendError || err.code || err.message; finish() })
socket.on('connect', async () => {
  const write = (data) => new Promise((ok, fail) => socket.write(data, (err) => (err ? fail(err) : ok())))
  try {
    await write(head)
    for (let i = 0; i < body.length; i += 65536) {
      const piece = body.subarray(i, i + 65536)
      await write(chunked === 'chunked' ? Buffer.concat([Buffer.from(piece.length.toString(16) + '\\r\\n'), piece, Buffer.from('\\r\\n')]) : piece)
    }
    if (chunked === 'chunked') await write('0\\r\\n\\r\\n')
  } catch (err) {
    sendError = sendError || err.code || String(err)
    return
  }
  socket.on('data', (d) => received.push(d))
  socket.on('end', finish)
})
`

interface RawResult {
  sendError?: string
  status?: number
  headers: Record<string, string>
  json?: unknown
}

async function sendAllThenRead(size: number, chunked: boolean): Promise<RawResult> {
  const head = [
    'POST /api/crm/contacts HTTP/1.1',
    'Host: 127.0.0.1',
    `Cookie: ${owner.cookie}`,
    `X-Workspace-Id: ${workspaceId}`,
    'Content-Type: application/json',
    chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`,
    '',
    '',
  ].join('\r\n')
  // Only what a plain node process gets: none of tap's loaders (as test/e2e/production-build.test.ts).
  const env = { PATH: process.env.PATH ?? '', NODE_OPTIONS: '', _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  const child = spawn(process.execPath, ['-e', SEND_ALL_THEN_READ, String(port), head, String(size), chunked ? 'chunked' : 'length'], { env })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  await once(child, 'close')
  const { sendError, answer } = JSON.parse(out) as { sendError?: string; answer: string }
  const [rawHead = '', ...rest] = answer.split('\r\n\r\n')
  const [statusLine = '', ...lines] = rawHead.split('\r\n')
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]
  const text = rest.join('\r\n\r\n')
  return { sendError, status: status ? Number(status) : undefined, headers, json: text ? JSON.parse(text) : undefined }
}

t.test('a client that sends everything before reading gets the 413 too', async (t) => {
  const before = await count()
  for (const size of [2 * MB, 8 * MB]) {
    for (const chunked of [false, true]) {
      for (let i = 0; i < 3; i++) {
        const res = await sendAllThenRead(size, chunked)
        const what = `${size / MB} MB, ${chunked ? 'chunked' : 'Content-Length'}`
        t.equal(res.sendError, undefined, `${what}: the whole body was taken, no reset`)
        assertTooLarge(t, res.status ?? 0, res.headers, res.json)
        t.equal(res.headers.connection, 'close', `${what}: the connection closes after the answer`)
      }
    }
  }
  t.equal(await count(), before, 'nothing was written')
})

t.test('a declared length far beyond the limit is not waited for', async (t) => {
  // Threat: a client declares a gigabyte and trickles it, holding the server to read it all.
  // Past BODY_LIMIT_BYTES + 16 MiB nothing is read: the 413 goes out at once, and the connection closes.
  const socket = net.connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  await once(socket, 'connect')
  const started = Date.now()
  socket.write(
    `POST /api/crm/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${owner.cookie}\r\nX-Workspace-Id: ${workspaceId}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${1024 * MB}\r\n\r\n{"name":"`,
  )
  const received: Buffer[] = []
  socket.on('data', (d: Buffer) => received.push(d))
  await once(socket, 'end')
  const answer = Buffer.concat(received).toString()
  t.match(answer, /^HTTP\/1\.1 413 /, '413')
  t.match(answer, /"code":"payload_too_large"/)
  t.ok(Date.now() - started < 5000, `at once (${Date.now() - started} ms), not after the 10-second bound`)
})

t.test('a body within the limit over the same socket path still works', async (t) => {
  const res = await fetch(`${base}/api/crm/contacts`, {
    method: 'POST',
    headers: { ...as(owner, workspaceId), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Small enough' }),
  })
  t.equal(res.status, 201)
})

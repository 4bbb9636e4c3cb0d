// Threat: secrets (cookies, bearer tokens, passwords, single-use tokens) end up in log storage.
import t from 'tap'
import pino from 'pino'
import { Writable } from 'node:stream'
import { loggerOptions } from '../../src/logger.js'

t.test('the logger redacts credentials wherever they appear', async (t) => {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  const log = pino(loggerOptions('info', false), sink)
  log.info(
    {
      req: { headers: { cookie: 'sid=secret-cookie', authorization: 'Bearer secret-bearer', 'user-agent': 'curl' } },
      res: { headers: { 'set-cookie': 'sid=secret-set-cookie' } },
      body: { email: 'a@example.test', password: 'secret-password', token: 'secret-token', inviteCode: 'secret-code' },
    },
    'request',
  )
  const out = lines.join('')
  t.notMatch(out, /secret-/, 'no secret value is written')
  t.match(out, /"user-agent":"curl"/, 'ordinary fields are kept')
  t.match(out, /"email":"a@example.test"/)
  t.match(out, /\[redacted\]/)
})

t.test('pretty output is opt-in (development terminals only)', async (t) => {
  t.notOk(loggerOptions('info', false).transport)
  t.ok(loggerOptions('debug', true).transport)
  t.equal(loggerOptions('warn', false).level, 'warn')
})

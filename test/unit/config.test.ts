// loadConfig: defaults, the production rules (a missing secret is a startup error, never a
// silent default) and clear messages for malformed values.
import t from 'tap'
import { ConfigError, loadConfig, type GeneratedSecrets } from '../../src/config.js'
import { generateDevSecrets } from '../../src/dev-secrets.js'

const generated = generateDevSecrets()
const PG = 'postgres://owner:pw@db.internal:5432/gatehouse'
const APP_PG = 'postgres://app:pw@db.internal:5432/gatehouse'

interface Asserts {
  ok(value: unknown, message: string): boolean
  equal(found: unknown, wanted: unknown, message: string): boolean
  fail(message: string): boolean
}

/** The ConfigError message of loadConfig(env), or fails the test if it does not throw one. */
function problems(t: Asserts, env: Record<string, string | undefined>, secrets: GeneratedSecrets | null = generated): string {
  try {
    loadConfig(env, secrets ?? undefined)
  } catch (err) {
    t.ok(err instanceof ConfigError, 'a ConfigError')
    t.equal((err as Error).name, 'ConfigError', 'named ConfigError')
    return (err as Error).message
  }
  t.fail('loadConfig did not throw')
  return ''
}

const production = {
  NODE_ENV: 'production',
  DATABASE_URL: PG,
  APP_DATABASE_URL: APP_PG,
  ENCRYPTION_KEYS: generated.encryptionKeys,
  PASSWORD_PEPPERS: generated.passwordPeppers,
  SESSION_SECRET: 's'.repeat(40),
  CLOSED_BETA_INVITE_CODE: 'beta-code',
  RESEND_API_KEY: 're_live',
}

t.test('defaults', async (t) => {
  const c = loadConfig({}, generated)
  t.equal(c.nodeEnv, 'development')
  t.equal(c.host, '127.0.0.1')
  t.equal(c.port, 3000)
  t.equal(c.publicUrl, 'http://127.0.0.1:3000')
  t.equal(c.databaseUrl, undefined, 'no DATABASE_URL: the embedded PostgreSQL')
  t.equal(c.pgDataDir, '.data/postgres')
  t.equal(c.trialDays, 14)
  t.equal(c.logLevel, 'info')
  t.same(c.corsOrigins, [])
  t.same(c.trustProxy, [], 'no proxy trusted: the client IP is the connection\'s peer')
  t.equal(c.bodyLimit, 1024 * 1024, '1 MiB')
  t.equal(c.statementTimeoutMs, 5000, 'statement_timeout 5 s')
  t.equal(c.sessionAbsoluteSeconds, 30 * 24 * 3600)
  t.equal(c.sessionIdleSeconds, 7 * 24 * 3600)
  t.equal(c.platformAdminEmails.size, 0)
  t.equal(c.resendApiKey, undefined, 'no key: emails are logged in development')
  t.match(c.emailFrom, /<no-reply@/)
  t.equal(c.sessionSecret, generated.sessionSecret, 'generated secrets outside production')
  t.equal(c.closedBetaInviteCode, generated.closedBetaInviteCode)
  t.equal(c.encryptionKeys.active.id, 'dev1')
  t.equal(c.docs, true, '/docs served in development')
})

t.test('values are read and normalised', async (t) => {
  const c = loadConfig(
    {
      NODE_ENV: 'test',
      HOST: '::1',
      PORT: '8080',
      TRIAL_DAYS: '7',
      CORS_ORIGINS: ' https://app.example.com , http://localhost:5173,',
      PLATFORM_ADMIN_EMAILS: 'Root@Example.com, ops@example.com',
      TRUST_PROXY: ' 10.0.0.0/8, 127.0.0.1 ,::1, 2001:db8::/32,',
      LOG_LEVEL: 'warn',
      PUBLIC_URL: 'https://api.example.com/',
    },
    generated,
  )
  t.equal(c.nodeEnv, 'test')
  t.equal(c.port, 8080)
  t.equal(c.trialDays, 7)
  t.same(c.corsOrigins, ['https://app.example.com', 'http://localhost:5173'])
  t.same([...c.platformAdminEmails], ['root@example.com', 'ops@example.com'], 'admin emails lower-cased')
  t.same(c.trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1', '2001:db8::/32'], 'addresses and CIDRs, IPv4 and IPv6')
  t.equal(c.publicUrl, 'https://api.example.com', 'trailing slash removed')
  t.equal(loadConfig({ HOST: '::1' }, generated).publicUrl, 'http://[::1]:3000', 'an IPv6 host is bracketed')
  t.same(loadConfig({ TRUST_PROXY: '' }, generated).trustProxy, [], 'empty: no proxy')
  t.same(loadConfig({ TRUST_PROXY: '192.168.1.10/32,fd00::/8' }, generated).trustProxy, ['192.168.1.10/32', 'fd00::/8'])
})

t.test('production requires every secret, DATABASE_URL and RESEND_API_KEY', async (t) => {
  // Threat: a production deployment silently runs with generated or default secrets.
  const message = problems(t, { NODE_ENV: 'production' })
  for (const name of ['ENCRYPTION_KEYS', 'PASSWORD_PEPPERS', 'SESSION_SECRET', 'CLOSED_BETA_INVITE_CODE', 'DATABASE_URL', 'RESEND_API_KEY']) {
    t.match(message, new RegExp(`${name} is required`), `names ${name}`)
  }
  const noGenerated = problems(t, { NODE_ENV: 'production' }, null)
  t.equal(noGenerated, message, 'the same with or without generated secrets: production never uses them')

  for (const name of ['ENCRYPTION_KEYS', 'PASSWORD_PEPPERS', 'SESSION_SECRET', 'CLOSED_BETA_INVITE_CODE', 'RESEND_API_KEY'] as const) {
    const env = { ...production, [name]: undefined }
    t.match(problems(t, env), new RegExp(`^Invalid configuration:\\n  - ${name} is required`), `only ${name} missing`)
    t.match(problems(t, { ...production, [name]: '   ' }), new RegExp(`${name} is required`), `${name} blank`)
  }
  const dev = problems(t, {}, null)
  t.match(dev, /ENCRYPTION_KEYS is required\n/, 'outside production, with nothing generated, secrets are still required')
  t.notMatch(dev, /NODE_ENV=production/)
  const ok = loadConfig(production, generated)
  t.equal(ok.nodeEnv, 'production')
  t.equal(ok.docs, false, 'no /docs in production unless asked for')
  t.equal(ok.sessionSecret, production.SESSION_SECRET, 'the given secret, not the generated one')
})

t.test('DATABASE_URL without APP_DATABASE_URL throws', async (t) => {
  // Threat: the runtime pool logs in as the schema owner, which bypasses row-level security.
  t.match(problems(t, { DATABASE_URL: PG }), /APP_DATABASE_URL is required with DATABASE_URL/)
  t.match(problems(t, { ...production, APP_DATABASE_URL: undefined }), /APP_DATABASE_URL is required/)
  t.match(problems(t, { DATABASE_URL: 'mysql://x@y/z', APP_DATABASE_URL: APP_PG }), /DATABASE_URL must be a postgres:\/\/ URL/)
  t.match(problems(t, { DATABASE_URL: PG, APP_DATABASE_URL: 'http://x' }), /APP_DATABASE_URL must be a postgres:\/\/ URL/)
  t.equal(loadConfig({ DATABASE_URL: 'postgresql://a@b/c', APP_DATABASE_URL: APP_PG }, generated).databaseUrl, 'postgresql://a@b/c')
})

t.test('TRUST_PROXY takes addresses and CIDRs only: no true, no hop count', async (t) => {
  // Threat: `true` believes every X-Forwarded-For hop and a hop count believes whatever is that
  // far in front without checking the immediate peer: a client then picks its own IP, and a fresh
  // rate-limit budget with every request.
  for (const value of ['true', 'TRUE', 'false', 'False', 'yes', 'no', 'on', 'off', '1', '2', '0', '0.0.0.0/0', '::/0',
    '10.0.0.0/33', '2001:db8::/129', '10.0.0.0/8/1', '10.0.0.0/x', '10.0.0.300', '10.0.0', 'localhost', 'loopback',
    'proxy.internal', 'fe80::1%eth0', '10.0.0.1,true', '127.0.0.1, 3']) {
    const message = problems(t, { TRUST_PROXY: value })
    t.match(message, /^Invalid configuration:\n {2}- TRUST_PROXY must be a comma-separated list of the proxies' IP addresses or CIDRs/, `${value}: refused`)
    t.equal(message.split('\n').length, 2, `${value}: one line`)
  }
  t.match(problems(t, { TRUST_PROXY: 'true' }), /"true" is not an address/)
  t.match(problems(t, { TRUST_PROXY: '2' }), /"2" is a hop count, not an address/)
  t.match(problems(t, { TRUST_PROXY: '0.0.0.0/0' }), /"0\.0\.0\.0\/0" would trust every address/)
  t.match(problems(t, { TRUST_PROXY: '10.0.0.0/33' }), /"10\.0\.0\.0\/33" has an invalid prefix length/)
  t.match(problems(t, { TRUST_PROXY: '10.0.0.1,localhost,2' }), /"localhost" is not an IP address or CIDR; "2" is a hop count/, 'every bad entry named')
})

t.test('DOCS: true or false; it turns /docs on in production, which is always on elsewhere', async (t) => {
  t.equal(loadConfig({ ...production, DOCS: 'true' }, generated).docs, true)
  t.equal(loadConfig({ ...production, DOCS: 'false' }, generated).docs, false)
  t.equal(loadConfig({ NODE_ENV: 'test', DOCS: 'false' }, generated).docs, true, 'always on in test')
  t.equal(loadConfig({ NODE_ENV: 'development', DOCS: 'false' }, generated).docs, true, 'and in development')
  for (const value of ['TRUE', 'yes', '1', 'on', 'enabled']) {
    t.match(problems(t, { ...production, DOCS: value }), `DOCS must be true or false (got "${value}")`)
    t.match(problems(t, { DOCS: value }), /DOCS must be true or false/, `${value}: refused outside production too`)
  }
})

t.test('malformed values get clear messages', async (t) => {
  t.match(problems(t, { PORT: 'http' }), 'PORT must be an integer from 0 to 65535 (got "http")')
  t.match(problems(t, { PORT: '70000' }), 'PORT must be an integer from 0 to 65535 (got "70000")')
  t.match(problems(t, { PORT: '-1' }), /PORT must be an integer/)
  t.match(problems(t, { TRIAL_DAYS: '0' }), 'TRIAL_DAYS must be an integer from 1 to 365 (got "0")')
  t.match(problems(t, { TRIAL_DAYS: '1.5' }), /TRIAL_DAYS must be an integer/)
  t.match(problems(t, { TRIAL_DAYS: 'two weeks' }), /TRIAL_DAYS must be an integer .*got "two weeks"/)
  t.match(problems(t, { CORS_ORIGINS: 'app.example.com' }), 'CORS_ORIGINS entry "app.example.com" must be an origin like https://app.example.com')
  t.match(problems(t, { CORS_ORIGINS: 'https://ok.example.com,https://app.example.com/path' }), /CORS_ORIGINS entry "https:\/\/app\.example\.com\/path"/)
  t.match(problems(t, { CORS_ORIGINS: '*' }), /CORS_ORIGINS entry "\*"/, 'no wildcard with credentials')
  t.match(problems(t, { NODE_ENV: 'staging' }), /NODE_ENV must be development, test or production \(got "staging"\)/)
  t.match(problems(t, { LOG_LEVEL: 'verbose' }), /LOG_LEVEL must be one of/)
  t.match(problems(t, { SESSION_SECRET: 'short' }), /SESSION_SECRET must be at least 32 characters/)
  t.match(problems(t, { ENCRYPTION_KEYS: 'k1:c2hvcnQ=' }), /ENCRYPTION_KEYS: key "k1" must be 32 bytes/)
  t.match(problems(t, { PASSWORD_PEPPERS: 'p1:c2hvcnQ=' }), /PASSWORD_PEPPERS: key "p1" must be 32 bytes/)

  t.equal(loadConfig({ STATEMENT_TIMEOUT_MS: '250' }, generated).statementTimeoutMs, 250)
  for (const value of ['0', '-1', '1.5', 'fast', '5s', '600001']) {
    t.match(problems(t, { STATEMENT_TIMEOUT_MS: value }), `STATEMENT_TIMEOUT_MS must be an integer from 1 to 600000 (got "${value}")`, `${value}: refused (0 would mean no timeout)`)
  }

  const all = problems(t, { PORT: 'x', TRIAL_DAYS: 'y', CORS_ORIGINS: 'z' })
  t.equal(all.split('\n  - ').length - 1, 3, 'every problem is reported at once')
})

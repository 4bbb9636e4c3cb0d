// Environment → typed configuration. The one place where variable names, defaults and the
// production rules live. It reads the object it is given (server.ts passes process.env), so
// tests build configurations without touching the process.
import { isIP } from 'node:net'
import { parseKeyRing, type KeyRing } from './crypto/envelope.js'
import { LIMITS, parseLimit, type LimitName, type RateLimits } from './rate-limit/limits.js'

export type NodeEnv = 'development' | 'test' | 'production'

export interface Config {
  nodeEnv: NodeEnv
  host: string
  port: number
  /** Public base URL used in email links; defaults to http://HOST:PORT. */
  publicUrl: string
  databaseUrl?: string
  appDatabaseUrl?: string
  pgDataDir: string
  closedBetaInviteCode: string
  platformAdminEmails: Set<string>
  resendApiKey?: string
  resendBaseUrl?: string
  emailFrom: string
  encryptionKeys: KeyRing
  /** Argon2id secrets ("peppers") for passwords; the first hashes, every one verifies. */
  passwordPeppers: KeyRing
  sessionSecret: string
  corsOrigins: string[]
  /**
   * The proxies (addresses and CIDRs) whose X-Forwarded-For is believed, hop by hop, for the
   * client IP; empty: none, the client IP is the connection's peer.
   */
  trustProxy: string[]
  trialDays: number
  billingWebhookSecret?: string
  logLevel: string
  /** Sessions end this long after sign-in, whatever the activity. */
  sessionAbsoluteSeconds: number
  /** Sessions end after this long without a request. */
  sessionIdleSeconds: number
  /** Largest accepted request body, bytes. */
  bodyLimit: number
  /** PostgreSQL's statement_timeout on every connection of the service's pools, ms. */
  statementTimeoutMs: number
  /** Whether /docs and /docs/json are served: always outside production, with DOCS=true in it. */
  docs: boolean
  /** Every named rate limit (src/rate-limit/limits.ts), from RATE_LIMIT_* = "max/window". */
  rateLimits: RateLimits
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

/** Secrets a development or test run may generate (server.ts keeps them in the data folder). */
export interface GeneratedSecrets {
  encryptionKeys: string
  passwordPeppers: string
  sessionSecret: string
  closedBetaInviteCode: string
}

/**
 * The default statement_timeout. Every statement the service sends is a short OLTP one (the
 * request's opening, its few statements, its COMMIT with the audit seal; a rate-limit hit; an
 * outbox claim): under load they take milliseconds. Anything that runs for seconds — a lock queue,
 * a pathological plan, a search someone found a way to make slow — would otherwise hold a pooled
 * connection for as long as it likes, and twenty of them stop the service.
 */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5000

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

/**
 * Why one TRUST_PROXY entry is refused, or undefined for an IPv4 or IPv6 address or CIDR. Only
 * addresses: `true` (or a /0 network) would believe every hop, and a hop count would believe
 * whatever sits that many hops in front without checking who the immediate peer is — either way a
 * client that reaches the service directly, or puts its own X-Forwarded-For in front, chooses its
 * own IP, and with it its rate-limit budget and what the sessions and the audit trail record.
 */
function trustProxyProblem(entry: string): string | undefined {
  if (/^(true|false|yes|no|on|off)$/i.test(entry)) return `"${entry}" is not an address`
  if (/^\d+$/.test(entry)) return `"${entry}" is a hop count, not an address`
  const [address = '', prefix, extra] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || extra !== undefined || address.includes('%')) return `"${entry}" is not an IP address or CIDR`
  if (prefix === undefined) return undefined
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1
  if (bits < 0 || bits > (family === 4 ? 32 : 128)) return `"${entry}" has an invalid prefix length`
  if (bits === 0) return `"${entry}" would trust every address`
  return undefined
}

export function loadConfig(env: Env, generated?: GeneratedSecrets): Config {
  const problems: string[] = []
  const str = (name: string): string | undefined => {
    const value = env[name]?.trim()
    return value ? value : undefined
  }
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`)
      return fallback
    }
    return value
  }
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name)
    if (raw === undefined) return fallback
    if (raw === 'true' || raw === 'false') return raw === 'true'
    problems.push(`${name} must be true or false (got "${raw}")`)
    return fallback
  }
  const list = (name: string): string[] =>
    (str(name) ?? '').split(',').map((s) => s.trim()).filter(Boolean)

  const nodeEnvRaw = str('NODE_ENV') ?? 'development'
  if (!['development', 'test', 'production'].includes(nodeEnvRaw)) {
    problems.push(`NODE_ENV must be development, test or production (got "${nodeEnvRaw}")`)
  }
  const nodeEnv = (['development', 'test', 'production'].includes(nodeEnvRaw) ? nodeEnvRaw : 'development') as NodeEnv
  const production = nodeEnv === 'production'

  // A secret: required in production, generated otherwise. Never a silent default.
  const secret = (name: string, fromGenerated: string | undefined): string => {
    const value = str(name)
    if (value) return value
    if (!production && fromGenerated) return fromGenerated
    problems.push(`${name} is required${production ? ' when NODE_ENV=production' : ''}`)
    return ''
  }

  const host = str('HOST') ?? '127.0.0.1'
  const port = int('PORT', 3000, 0, 65535)

  const logLevel = str('LOG_LEVEL') ?? 'info'
  if (!LOG_LEVELS.has(logLevel)) problems.push(`LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}`)

  const databaseUrl = str('DATABASE_URL')
  const appDatabaseUrl = str('APP_DATABASE_URL')
  if (production && !databaseUrl) problems.push('DATABASE_URL is required when NODE_ENV=production (the embedded PostgreSQL is for development)')
  if (databaseUrl && !appDatabaseUrl) {
    problems.push('APP_DATABASE_URL is required with DATABASE_URL: the runtime login must not be the schema owner')
  }
  for (const [name, url] of [['DATABASE_URL', databaseUrl], ['APP_DATABASE_URL', appDatabaseUrl]] as const) {
    if (url && !/^postgres(ql)?:\/\//.test(url)) problems.push(`${name} must be a postgres:// URL`)
  }

  // A key ring secret (`kid:base64key[,…]`): required like any secret, and parsed.
  const keyRing = (name: string, fromGenerated: string | undefined): KeyRing => {
    const raw = secret(name, fromGenerated)
    if (raw) {
      try {
        return parseKeyRing(raw)
      } catch (err) {
        problems.push(`${name}: ${(err as Error).message}`)
      }
    }
    return { active: { id: '', key: Buffer.alloc(0) }, byId: new Map() }
  }
  const encryptionKeys = keyRing('ENCRYPTION_KEYS', generated?.encryptionKeys)
  // Same format as ENCRYPTION_KEYS, and kept apart from it: a pepper cannot be rotated away like
  // an encryption key (a password hashed with it needs the password to move to another), so
  // removing one signs its users out of their passwords until they reset them.
  const passwordPeppers = keyRing('PASSWORD_PEPPERS', generated?.passwordPeppers)
  const sessionSecret = secret('SESSION_SECRET', generated?.sessionSecret)
  if (sessionSecret && sessionSecret.length < 32) problems.push('SESSION_SECRET must be at least 32 characters')
  const closedBetaInviteCode = secret('CLOSED_BETA_INVITE_CODE', generated?.closedBetaInviteCode)

  const trustProxy = list('TRUST_PROXY')
  const proxyProblems = trustProxy.map(trustProxyProblem).filter((p) => p !== undefined)
  if (proxyProblems.length) {
    problems.push(
      `TRUST_PROXY must be a comma-separated list of the proxies' IP addresses or CIDRs, e.g. 127.0.0.1,10.0.0.0/8, ` +
        `or unset to trust no proxy: ${proxyProblems.join('; ')}`,
    )
  }

  const corsOrigins = list('CORS_ORIGINS')
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/]+$/.test(origin)) problems.push(`CORS_ORIGINS entry "${origin}" must be an origin like https://app.example.com`)
  }

  const rateLimits = {} as RateLimits
  for (const [name, spec] of Object.entries(LIMITS) as [LimitName, (typeof LIMITS)[LimitName]][]) {
    try {
      rateLimits[name] = parseLimit(str(spec.env) ?? spec.fallback)
    } catch (err) {
      problems.push(`${spec.env} ${(err as Error).message}`)
      rateLimits[name] = parseLimit(spec.fallback)
    }
  }

  const config: Config = {
    nodeEnv,
    host,
    port,
    publicUrl: (str('PUBLIC_URL') ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, ''),
    databaseUrl,
    appDatabaseUrl,
    pgDataDir: str('PG_DATA_DIR') ?? '.data/postgres',
    closedBetaInviteCode,
    platformAdminEmails: new Set(list('PLATFORM_ADMIN_EMAILS').map((e) => e.toLowerCase())),
    resendApiKey: str('RESEND_API_KEY'),
    resendBaseUrl: str('RESEND_BASE_URL'),
    emailFrom: str('EMAIL_FROM') ?? 'Gatehouse <no-reply@gatehouse.localhost>',
    encryptionKeys,
    passwordPeppers,
    sessionSecret,
    corsOrigins,
    trustProxy,
    trialDays: int('TRIAL_DAYS', 14, 1, 365),
    billingWebhookSecret: str('BILLING_WEBHOOK_SECRET'),
    logLevel,
    sessionAbsoluteSeconds: int('SESSION_ABSOLUTE_HOURS', 24 * 30, 1, 24 * 365) * 3600,
    sessionIdleSeconds: int('SESSION_IDLE_HOURS', 24 * 7, 1, 24 * 365) * 3600,
    bodyLimit: int('BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    // Not 0, which PostgreSQL reads as "no timeout".
    statementTimeoutMs: int('STATEMENT_TIMEOUT_MS', DEFAULT_STATEMENT_TIMEOUT_MS, 1, 10 * 60 * 1000),
    // The OpenAPI document maps every route and field: handy in development, and in production
    // only when asked for.
    docs: bool('DOCS', false) || !production,
    rateLimits,
  }
  if (production && !config.resendApiKey) problems.push('RESEND_API_KEY is required when NODE_ENV=production')
  if (problems.length) {
    throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
  }
  return config
}

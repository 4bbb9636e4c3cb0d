// buildApp(config, deps): registers everything, in a fixed and visible order — third-party
// plugins, then ours, then the route modules — and returns the app without listening. Tests
// build it exactly as server.ts does.
import Fastify, { type FastifyBaseLogger } from 'fastify'
import cookie from '@fastify/cookie'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import type { Config } from './config.js'
import type { Pools } from './db/pool.js'
import type { ServiceKeys } from './db/startup.js'
import type { EmailTransport } from './email/transport.js'
import { validatorCompiler } from './schemas/validator.js'
import errors, { frameworkError } from './plugins/errors.js'
import rateLimit, { apiTokenRateLimit } from './plugins/rate-limit.js'
import identity from './plugins/identity.js'
import security from './plugins/security.js'
import requestTx from './plugins/request-tx.js'
import gates from './plugins/gates.js'
import sessionReissue from './plugins/session-reissue.js'
import securityEvents from './plugins/security-events.js'
import retention from './plugins/retention.js'
import openapi from './plugins/openapi.js'
import outbox from './plugins/outbox.js'
import consolePlugin from './plugins/console.js'
import opsRoutes from './modules/ops/routes.js'
import authRoutes from './modules/auth/routes.js'
import { workspaceRoutes, workspacesRoutes } from './modules/workspaces/routes.js'
import adminRoutes from './modules/admin/routes.js'
import { adminSecurityEvents, workspaceSecurityEvents } from './modules/security-events/routes.js'
import contactsRoutes from './modules/crm/contacts/routes.js'
import auditRoutes from './modules/audit/routes.js'
import securitySettingsRoutes from './modules/security-settings/routes.js'
import membersRoutes from './modules/members/routes.js'
import rolesRoutes from './modules/roles/routes.js'
import departmentsRoutes from './modules/departments/routes.js'
import apiTokensRoutes from './modules/api-tokens/routes.js'
import { billingWebhookRoutes, workspaceBillingRoutes } from './modules/billing/routes.js'
import channelsRoutes from './modules/channels/routes.js'
import { invitesRoutes, workspaceInvitesRoutes } from './modules/invites/routes.js'
import { RESET_REQUEST_TEMPLATE, composePasswordReset } from './modules/auth/password-reset.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    pools: Pools
    /** The service's clock (epoch ms): rate-limit windows and TOTP time steps read it. */
    clock: () => number
  }
}

export interface AppDeps {
  pools: Pools
  /** What the schema owner handed over at start-up (src/db/startup.ts): the outbox worker's and the billing webhook's keys. */
  keys: ServiceKeys
  /** A pino logger (server.ts makes it); tests pass none and get a silent one. */
  logger?: FastifyBaseLogger
  /** Overrides the email transport built from the configuration. */
  emailTransport?: EmailTransport
  /** Outbox poll interval; 0 (tests) means drain by hand with app.outbox.drain(). */
  outboxIntervalMs?: number
  /** The clock (default Date.now) of rate limits and TOTP steps: tests move time instead of sleeping. */
  clock?: () => number
  /** How often the retention sweep runs (default 10 minutes); 0: never on its own. */
  retentionSweepMs?: number
  /** Rate-limit sweep interval (default 60 s); 0 means sweep by hand with app.rateLimits.sweep(). */
  rateLimitSweepMs?: number
  /** A built web console (web/dist) to serve at /; none: / is the JSON 404 like any unknown path. */
  consoleDir?: string
}

export async function buildApp(config: Config, deps: AppDeps) {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: config.bodyLimit,
    // Only the listed proxies' X-Forwarded-For is believed (config.ts refuses `true` and hop
    // counts); with none, request.ip is the connection's peer whatever the headers say.
    trustProxy: config.trustProxy.length ? config.trustProxy : false,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors: frameworkError,
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  app.decorate('config', config)
  app.decorate('pools', deps.pools)
  app.decorate('clock', deps.clock ?? Date.now)
  // text/plain is parsed by default; only JSON bodies are accepted (CSRF rule 1, API.md).
  app.removeContentTypeParser('text/plain')

  // Third-party plugins.
  await app.register(cookie, { secret: config.sessionSecret, hook: 'onRequest' })
  if (config.docs) await app.register(openapi)

  // Ours, in the order their hooks run for a request:
  //   errors          the error handler and the 404 (every failure below ends there)
  //   security        onRequest: helmet, CORS, the CSRF rules
  //   identity        onRequest: the session cookie's token hash, the X-Workspace-Id header;
  //                   401 at once on a route that needs a user when no token could be valid
  //   rate-limit      preValidation: counted before any connection is taken
  //                   (then Fastify validates body, params and query: a 400 costs no round trip)
  //   request-tx      preHandler: BEGIN + app.begin_request; COMMIT after the handler; rollback
  //   api-token limit preHandler: an API token's request counted against its token's budget
  //   gates           preHandler: the gate chain, on what app.begin_request resolved
  //   session-reissue onSend: a new token for a session marked for one
  //   outbox          the email worker (no request hooks)
  await app.register(errors)
  await app.register(security)
  await app.register(identity)
  await app.register(rateLimit, { pool: deps.pools.runtime, clock: app.clock, sweepIntervalMs: deps.rateLimitSweepMs ?? 60_000 })
  await app.register(requestTx)
  await app.register(apiTokenRateLimit)
  await app.register(gates)
  await app.register(sessionReissue)
  await app.register(securityEvents)
  await app.register(retention, { intervalMs: deps.retentionSweepMs ?? 10 * 60_000 })
  await app.register(outbox, {
    transport: deps.emailTransport,
    workerKey: deps.keys.workerKey,
    intervalMs: deps.outboxIntervalMs ?? 1000,
    composers: { [RESET_REQUEST_TEMPLATE]: composePasswordReset(config) },
  })

  // Routes.
  await app.register(opsRoutes)
  await app.register(authRoutes, { prefix: '/api/auth' })
  await app.register(securitySettingsRoutes, { prefix: '/api/settings/security' })
  await app.register(workspacesRoutes, { prefix: '/api/workspaces' })
  await app.register(workspaceRoutes, { prefix: '/api/workspace' })
  await app.register(auditRoutes, { prefix: '/api/workspace/audit-log' })
  await app.register(membersRoutes, { prefix: '/api/workspace/members' })
  await app.register(rolesRoutes, { prefix: '/api/workspace/roles' })
  await app.register(departmentsRoutes, { prefix: '/api/workspace/departments' })
  await app.register(apiTokensRoutes, { prefix: '/api/workspace/api-tokens' })
  await app.register(workspaceBillingRoutes, { prefix: '/api/workspace/billing' })
  await app.register(channelsRoutes, { prefix: '/api/workspace/channels' })
  await app.register(workspaceInvitesRoutes, { prefix: '/api/workspace/invites' })
  await app.register(invitesRoutes, { prefix: '/api/invites' })
  await app.register(adminRoutes, { prefix: '/api/admin' })
  await app.register(adminSecurityEvents, { prefix: '/api/admin/security-events' })
  await app.register(workspaceSecurityEvents, { prefix: '/api/workspace/security-events' })
  await app.register(contactsRoutes, { prefix: '/api/crm/contacts' })
  await app.register(billingWebhookRoutes, { prefix: '/api/billing', billingKey: deps.keys.billingKey })
  if (deps.consoleDir) await app.register(consolePlugin, { dir: deps.consoleDir })

  return app
}

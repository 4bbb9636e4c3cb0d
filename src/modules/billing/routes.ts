// POST /api/billing/webhook: the billing provider's subscription events. Public (no cookie, no
// session: the provider is no user), authenticated by its signature over the raw body, checked
// in preValidation, before the request transaction takes a connection: an unsigned request costs
// an HMAC and no database work. The body is parsed here, by this plugin's own JSON parser (it
// keeps the bytes the signature covers), only once the signature verified. A cookie, were one
// sent, is ignored: the event is applied in a context naming no user.
// GET /api/workspace/billing: the workspace's billing state, for billing:read (owners).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../../errors.js'
import { routes } from '../../plugins/request-tx.js'
import { rateLimit } from '../../rate-limit/route-config.js'
import { schemas } from './schemas.js'
import { verifySignature } from './signature.js'
import { receiveEvent, workspaceBilling } from './service.js'

export interface BillingWebhookOptions {
  /** The billing key the schema owner read at start-up (src/db/startup.ts, sql/220). */
  billingKey: Buffer
}

export const billingWebhookRoutes: FastifyPluginAsyncTypebox<BillingWebhookOptions> = async (app, opts) => {
  // This plugin only (encapsulated): the raw bytes, for the signature. Still application/json
  // only (plugins/security.ts refuses any other content type first).
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  app.addHook('preValidation', async (request) => {
    const secret = app.config.billingWebhookSecret
    // Unset: billing is not set up. 503, not 400: the provider retries, and the events arrive
    // once BILLING_WEBHOOK_SECRET is configured.
    if (!secret) throw new AppError('unavailable', 'The billing webhook is not configured')
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    const header = request.headers['stripe-signature']
    const verdict = verifySignature(typeof header === 'string' ? header : undefined, raw, secret, { now: app.clock() })
    if (!verdict.ok) {
      request.log.info({ reason: verdict.reason }, 'billing webhook: signature refused')
      throw new AppError('invalid_signature')
    }
    try {
      request.body = JSON.parse(raw.toString('utf8'))
    } catch {
      throw new AppError('invalid_json')
    }
    if (request.credentials) request.credentials = { ...request.credentials, tokenHash: null }
  })

  routes(app, 'public').post('/webhook', { schema: schemas.webhook, config: { rateLimit: rateLimit('billing_webhook_ip') } }, async (ctx, request) => {
    return { received: true as const, outcome: await receiveEvent(ctx, opts.billingKey, request.body) }
  })
}

export const workspaceBillingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  routes(app, 'workspace').get('/', { schema: schemas.current, config: { permission: 'billing:read' } }, async (ctx) => {
    return workspaceBilling(ctx)
  })
}

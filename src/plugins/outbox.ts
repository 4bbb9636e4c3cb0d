// Wires the outbox worker to the app: a transport from the configuration (or the one a test
// injects), a polling worker when asked for, and app.outbox.drain() for tests and shutdown.
import fp from 'fastify-plugin'
import { drainOutbox, startOutboxWorker, type Composer, type OutboxWorkerOptions } from '../email/worker.js'
import { LogTransport, ResendTransport, type EmailTransport } from '../email/transport.js'

declare module 'fastify' {
  interface FastifyInstance {
    outbox: { drain(): Promise<number>; kick(): void }
  }
}

export interface OutboxPluginOptions {
  transport?: EmailTransport
  /** The worker key the database issued (src/db/startup.ts). */
  workerKey: Buffer
  /** Poll interval; 0 disables the background worker (tests drain by hand). */
  intervalMs: number
  /** Composers of queued compositions, by template (email/outbox.ts). */
  composers?: Record<string, Composer>
}

export default fp<OutboxPluginOptions>(
  async (app, opts) => {
    const { config } = app
    const platformKey = !!(opts.transport ?? config.resendApiKey)
    const transport =
      opts.transport ??
      (config.resendApiKey ? new ResendTransport(config.resendApiKey, config.resendBaseUrl) : new LogTransport(app.log))
    const options: OutboxWorkerOptions = {
      pool: app.pools.worker,
      workerKey: opts.workerKey,
      transport,
      platformKey,
      // A workspace's own key goes to the same Resend API (the fake one in tests).
      workspaceTransport: (apiKey) => new ResendTransport(apiKey, config.resendBaseUrl),
      keys: config.encryptionKeys,
      from: config.emailFrom,
      log: app.log,
      composers: opts.composers,
    }
    const worker = opts.intervalMs > 0 ? startOutboxWorker({ ...options, intervalMs: opts.intervalMs }) : undefined
    app.decorate('outbox', {
      drain: () => drainOutbox(options),
      kick: () => worker?.kick(),
    })
    app.addHook('onClose', async () => {
      await worker?.stop()
    })
  },
  { name: 'outbox' },
)

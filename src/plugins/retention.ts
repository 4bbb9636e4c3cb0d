// Retention (sql/190_retention.sql): every few minutes, sessions, email links and MFA
// challenges past their retention are deleted, a bounded batch per table, through
// app.sweep_expired, whose delete policies are the only statement of what may go. Each instance
// runs its own timer; two sweeping at once delete each row once. A failure is logged and retried
// at the next tick.
import fp from 'fastify-plugin'
import { repeatInBackground } from './background.js'

/** Rows per table per sweep: a backlog drains over several ticks, never in one long statement. */
export const SWEEP_BATCH = 1000

export interface RetentionOptions {
  /** How often to sweep; 0 disables the timer (tests sweep by hand). */
  intervalMs: number
}

declare module 'fastify' {
  interface FastifyInstance {
    retention: {
      /** One sweep now: how many rows went from each table. */
      sweep(): Promise<Record<string, number>>
    }
  }
}

export default fp<RetentionOptions>(
  async (app, opts) => {
    async function sweep(): Promise<Record<string, number>> {
      const { rows } = await app.pools.runtime.query<{ what: string; deleted: number }>('select * from app.sweep_expired($1)', [SWEEP_BATCH])
      const deleted = Object.fromEntries(rows.map((r) => [r.what, r.deleted]))
      if (rows.some((r) => r.deleted > 0)) app.log.info({ deleted }, 'retention sweep')
      return deleted
    }
    repeatInBackground(app, opts.intervalMs, 'retention sweep', sweep)
    app.decorate('retention', { sweep })
  },
  { name: 'retention' },
)

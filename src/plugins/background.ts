// A task the service repeats in the background (the rate-limit and retention sweeps): every
// `intervalMs` (0: never; tests call the task by hand), never keeping the process alive on its
// own, stopped when the app closes, and a failure logged and retried at the next tick.
import type { FastifyInstance } from 'fastify'

export function repeatInBackground(app: FastifyInstance, intervalMs: number, what: string, task: () => Promise<unknown>): void {
  if (intervalMs <= 0) return
  const timer = setInterval(() => {
    task().catch((err: unknown) => app.log.warn({ err }, `${what} failed`))
  }, intervalMs)
  timer.unref()
  app.addHook('onClose', async () => clearInterval(timer))
}

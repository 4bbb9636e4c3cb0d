// The two servers under load run in child processes, so that autocannon in the parent does not
// share their event loop (on a 2-core machine a shared loop would measure autocannon as much as
// the service). This file is the parent's side of that: the message shapes and a small
// request/answer channel over Node's IPC.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** One gated request the service child replays with app.inject, counting its queries. */
export interface ProbeAnswer {
  status: number
  /** Rows in the answer's `contacts` array (lists), or null. */
  rows: number | null
  /** The SQL each database round trip sent, first line only, in order. */
  statements: string[]
}

/** A child's memory (and, for the service, its pool queue since the previous stats request). */
export interface ChildStats {
  /** Resident set size now, bytes. */
  rss: number
  /** Peak resident set size since the child started, bytes (getrusage ru_maxrss). */
  maxRss: number
  heapUsed: number
  /** Service only: requests waiting for a runtime pool connection, sampled every 50 ms. */
  poolWaiting?: { max: number; mean: number }
}

export type ToChild =
  | { id: number; type: 'probe'; method: 'GET' | 'POST'; url: string; headers: Record<string, string>; body?: unknown }
  | { id: number; type: 'stats' }
  | { id: number; type: 'stop' }

export type FromChild =
  | { type: 'ready'; port: number }
  | { type: 'failed'; message: string }
  | { id: number; type: 'answer'; value: unknown }
  | { id: number; type: 'error'; message: string }

export interface Child {
  name: string
  port: number
  pid: number
  process: ChildProcess
  ask<T>(message: DistributiveOmit<ToChild, 'id'>): Promise<T>
  /** Asks the child to close its server and pools; kills it if it does not exit in time. */
  stop(): Promise<void>
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never

/**
 * Forks `file` (a sibling module, by its name without extension) with exactly `env`, and
 * resolves once it reports that it listens. The bench runs compiled (`npm run bench` builds
 * dist/ first), so the children run as plain JavaScript, as the production image does; run
 * through tsx instead, they run through tsx too.
 */
export function startChild(name: string, file: string, env: Record<string, string>, execArgv: string[] = []): Promise<Child> {
  const compiled = import.meta.url.endsWith('.js')
  const path = fileURLToPath(new URL(`${file}${compiled ? '.js' : '.ts'}`, import.meta.url))
  const child = fork(path, [], {
    execArgv: [...(compiled ? [] : ['--import', 'tsx']), ...execArgv],
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let nextId = 1
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))

  child.on('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited (${signal ?? code}) before answering`))
    pending.clear()
  })

  return new Promise<Child>((resolve, reject) => {
    const onEarlyExit = (code: number | null, signal: string | null) =>
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready`))
    child.once('exit', onEarlyExit)
    child.on('error', reject)
    child.on('message', (raw) => {
      const msg = raw as FromChild
      if (msg.type === 'failed') return reject(new Error(`${name}: ${msg.message}`))
      if (msg.type === 'ready') {
        child.off('exit', onEarlyExit)
        return resolve({
          name,
          port: msg.port,
          pid: child.pid!,
          process: child,
          ask<T>(message: DistributiveOmit<ToChild, 'id'>): Promise<T> {
            const id = nextId++
            return new Promise<T>((res, rej) => {
              pending.set(id, { resolve: res, reject: rej })
              child.send({ ...message, id })
            })
          },
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return
            if (child.connected) child.send({ id: 0, type: 'stop' } satisfies ToChild)
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
            await exited
            clearTimeout(timer)
          },
        })
      }
      const waiter = pending.get(msg.id)
      if (!waiter) return
      pending.delete(msg.id)
      if (msg.type === 'answer') waiter.resolve(msg.value)
      else waiter.reject(new Error(`${name}: ${msg.message}`))
    })
  })
}

/**
 * The children's side: the parent coordinates shutdown, so a Ctrl-C that the terminal sends to
 * the whole process group must not kill a child mid-run; a child ends when told to, or when the
 * parent goes away (its IPC channel closes).
 */
export function serveParent(handlers: {
  probe?: (m: Extract<ToChild, { type: 'probe' }>) => Promise<unknown>
  extraStats?: () => Partial<ChildStats>
  close: () => Promise<void>
}): void {
  const send = (m: FromChild) => process.send?.(m)
  let closing = false
  const close = async () => {
    if (closing) return
    closing = true
    await handlers.close().catch(() => {})
    process.exit(0)
  }
  process.on('SIGINT', () => {})
  process.on('disconnect', () => void close())
  process.on('message', (raw) => {
    const msg = raw as ToChild
    void (async () => {
      try {
        if (msg.type === 'stop') return await close()
        if (msg.type === 'stats') {
          const value: ChildStats = {
            rss: process.memoryUsage.rss(),
            maxRss: process.resourceUsage().maxRSS * 1024,
            heapUsed: process.memoryUsage().heapUsed,
            ...handlers.extraStats?.(),
          }
          return send({ id: msg.id, type: 'answer', value })
        }
        if (msg.type === 'probe' && handlers.probe) return send({ id: msg.id, type: 'answer', value: await handlers.probe(msg) })
        send({ id: msg.id, type: 'error', message: `unsupported message ${msg.type}` })
      } catch (err) {
        send({ id: msg.id, type: 'error', message: err instanceof Error ? err.message : String(err) })
      }
    })()
  })
}

export function reportReady(port: number): void {
  process.send?.({ type: 'ready', port } satisfies FromChild)
}

/** Tells the parent why start-up failed, then exits (after the message is on its way). */
export function reportFailure(err: unknown): void {
  const message: FromChild = { type: 'failed', message: err instanceof Error ? err.stack ?? err.message : String(err) }
  if (process.send) process.send(message, () => process.exit(1))
  else process.exit(1)
}

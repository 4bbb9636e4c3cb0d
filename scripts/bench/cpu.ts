// Where the CPU goes: per-process CPU time from /proc, sampled before and after each measured
// run, so the report can say how many CPU milliseconds one request costs in the server process
// and in PostgreSQL. On a 2-core machine throughput is mostly CPU divided by that cost, which
// makes this the first thing to look at when a ratio fails. Linux only; elsewhere it reports
// nothing rather than guessing.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'

/** CPU time in ms per process id. */
export type CpuSnapshot = Map<number, number>

let tickMs: number | undefined
function msPerTick(): number {
  if (tickMs === undefined) {
    let hz = 100 // USER_HZ on every mainstream Linux build
    try {
      hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || hz
    } catch {
      // keep the default
    }
    tickMs = 1000 / hz
  }
  return tickMs
}

/** [ppid, utime + stime in ms] of one process, or undefined if it is gone. */
function readStat(pid: number): [number, number] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return [Number(fields[1]), (Number(fields[11]) + Number(fields[12])) * msPerTick()]
  } catch {
    return undefined
  }
}

export const cpuAccountingAvailable = existsSync('/proc/self/stat')

/** The process and, with `withChildren`, its direct children (the postmaster's backends). */
export function snapshot(pid: number, withChildren = false): CpuSnapshot {
  const result: CpuSnapshot = new Map()
  if (!cpuAccountingAvailable) return result
  const own = readStat(pid)
  if (own) result.set(pid, own[1])
  if (withChildren) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      const stat = readStat(Number(entry))
      if (stat && stat[0] === pid) result.set(Number(entry), stat[1])
    }
  }
  return result
}

/** CPU ms spent between two snapshots (processes born in between count from zero). */
export function spent(before: CpuSnapshot, after: CpuSnapshot): number {
  let total = 0
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0)
  return total
}

/** The postmaster's pid, from the data folder's postmaster.pid. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0])
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

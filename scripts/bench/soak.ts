// BENCH_SOAK_SECONDS: DESIGN.md's "resident memory … does not grow over a 10-minute soak". After
// the budget scenarios, the gated insert and the gated list-50 take turns in rounds of up to
// 30 s for that long, and the service's RSS is sampled after each round. It holds when the
// second half's peak stays within 5 % (at least 10 MB, for the GC's sawtooth) of the first's.
import { measure, type Scenario } from './load.js'

export interface SoakResult {
  seconds: number
  /** The service's RSS after each round, MB. */
  samplesMb: number[]
  firstHalfPeakMb: number
  secondHalfPeakMb: number
  requests: number
  non2xx: number
  errors: number
  pass: boolean
}

const ROUND_SECONDS = 30

export async function soak(
  rounds: Scenario[],
  opts: { seconds: number; connections: number },
  rssMb: () => Promise<number>,
  log: (message: string) => void,
): Promise<SoakResult> {
  const samplesMb: number[] = []
  let requests = 0
  let non2xx = 0
  let errors = 0
  for (let done = 0, i = 0; done < opts.seconds; i++) {
    const s = rounds[i % rounds.length]!
    const seconds = Math.min(ROUND_SECONDS, opts.seconds - done)
    const m = await measure(s, { seconds, warmupSeconds: 0, connections: opts.connections })
    done += seconds
    requests += m.total
    non2xx += m.non2xx
    errors += m.errors
    samplesMb.push(await rssMb())
    log(`soak ${done}/${opts.seconds} s: ${s.name} ${m.requestsPerSecond.toFixed(0)} req/s, service RSS ${samplesMb.at(-1)!.toFixed(0)} MB`)
  }
  const half = Math.ceil(samplesMb.length / 2)
  const firstHalfPeakMb = Math.max(...samplesMb.slice(0, half))
  const secondHalfPeakMb = Math.max(...samplesMb.slice(half), 0)
  return {
    seconds: opts.seconds,
    samplesMb,
    firstHalfPeakMb,
    secondHalfPeakMb,
    requests,
    non2xx,
    errors,
    pass: secondHalfPeakMb <= firstHalfPeakMb + Math.max(10, firstHalfPeakMb * 0.05),
  }
}

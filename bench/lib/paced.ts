import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'

/** One request of a paced run. */
export interface PacedRequest {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly headers: Record<string, string>
  readonly body?: string
}

/** What an HTTP load measured: the bench's figures for autocannon and paced runs alike. */
export interface PacedFigures {
  /** Requests answered per second (autocannon: the mean of its per-second counts). */
  reqPerSec: number
  p50Ms: number
  p99Ms: number
  meanMs: number
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  durationS: number
  statusCodes: Record<string, number>
}

/**
 * An open-loop load at a steady rate: request i is due at start + i / rate and goes out then
 * (over a keep-alive pool of `connections`), whatever the answers before it did, so a server
 * that falls behind shows it: its requests wait for a connection, and that wait counts. autocannon's `overallRate` sends each second's budget as fast as it can and then
 * waits for the next second: its latencies are those of a burst at full speed, not of the rate.
 */
export async function paced(o: {
  url: string
  rate: number
  connections: number
  warmupS: number
  durationS: number
  timeoutMs?: number
  request: (i: number) => PacedRequest
}): Promise<PacedFigures> {
  const pool = new Pool(o.url, { connections: o.connections, pipelining: 1 })
  const latencies: number[] = []
  const statusCodes: Record<string, number> = {}
  let errors = 0
  let timeouts = 0
  let i = 0
  const intervalMs = 1000 / o.rate
  const one = async (n: number, measured: boolean): Promise<void> => {
    const req = o.request(n)
    // From when it is handed to the pool: a busy server's backlog (requests queued for a
    // connection) counts, the load generator's own timer granularity does not.
    const sentAt = performance.now()
    try {
      const res = await pool.request({
        method: req.method,
        path: req.path,
        headers: req.headers,
        ...(req.body === undefined ? {} : { body: req.body }),
        headersTimeout: o.timeoutMs ?? 30_000,
        bodyTimeout: o.timeoutMs ?? 30_000,
      })
      await res.body.dump()
      if (!measured) return
      latencies.push(performance.now() - sentAt)
      statusCodes[res.statusCode] = (statusCodes[res.statusCode] ?? 0) + 1
    } catch (err) {
      if (!measured) return
      const code = (err as { code?: string }).code ?? ''
      if (code.includes('TIMEOUT')) timeouts++
      else errors++
    }
  }
  const run = async (seconds: number, measured: boolean): Promise<number> => {
    const start = performance.now()
    const end = start + seconds * 1000
    const inFlight = new Set<Promise<void>>()
    // Each turn sends what is due by now, then yields (a timer of at most a millisecond) so
    // the answers are read.
    for (let k = 0; start + k * intervalMs < end;) {
      const now = performance.now()
      for (; start + k * intervalMs <= now && start + k * intervalMs < end; k++) {
        const p = one(i++, measured)
        inFlight.add(p)
        void p.finally(() => inFlight.delete(p))
      }
      await sleep(Math.max(0, Math.min(1, start + k * intervalMs - performance.now())))
    }
    await Promise.all(inFlight)
    return (performance.now() - start) / 1000
  }
  try {
    await run(o.warmupS, false)
    const durationS = await run(o.durationS, true)
    latencies.sort((a, b) => a - b)
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
    const round = (ms: number) => Math.round(ms * 100) / 100
    const ok = Object.entries(statusCodes)
      .filter(([c]) => c.startsWith('2'))
      .reduce((s, [, n]) => s + n, 0)
    return {
      reqPerSec: Math.round(latencies.length / durationS),
      p50Ms: round(at(0.5)),
      p99Ms: round(at(0.99)),
      meanMs: round(latencies.reduce((s, x) => s + x, 0) / Math.max(1, latencies.length)),
      ok,
      non2xx: latencies.length - ok,
      errors,
      timeouts,
      durationS: round(durationS),
      statusCodes,
    }
  } finally {
    await pool.close()
  }
}

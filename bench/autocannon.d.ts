/**
 * The part of autocannon's programmatic API the benchmarks use (the package ships no types).
 * See node_modules/autocannon/README.md for the full option list.
 */
declare module 'autocannon' {
  namespace autocannon {
    interface Request {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string | Buffer
      /** Called before each send of this request: the request to send (its body, say). */
      setupRequest?: (req: Request, context: Record<string, unknown>) => Request
    }

    interface Options {
      url: string
      connections?: number
      pipelining?: number
      /** Seconds. */
      duration?: number
      /** Requests per second over all connections (a fixed rate). */
      overallRate?: number
      /** Seconds per request before it counts as a timeout. */
      timeout?: number
      method?: string
      headers?: Record<string, string>
      body?: string | Buffer
      /** Cycled through in order by every connection; built once when they have no setup hook. */
      requests?: Request[]
      /** Requests per second over all connections (default: as fast as answered). */
      overallRate?: number
      /** A run before the measured one whose figures are reported separately. */
      warmup?: { connections?: number; duration?: number; overallRate?: number }
      title?: string
    }

    interface Histogram {
      average: number
      mean: number
      stddev: number
      min: number
      max: number
      total: number
      p50: number
      p90: number
      p97_5: number
      p99: number
      p99_9: number
    }

    interface Result {
      title?: string
      url: string
      connections: number
      /** Seconds. */
      duration: number
      errors: number
      timeouts: number
      mismatches: number
      non2xx: number
      resets: number
      '1xx': number
      '2xx': number
      '3xx': number
      '4xx': number
      '5xx': number
      statusCodeStats: Record<string, { count: number }>
      /** Milliseconds. */
      latency: Histogram & { totalCount: number }
      /** Per-second samples. */
      requests: Histogram & { sent: number }
      /** Bytes per second samples. */
      throughput: Histogram
      warmup?: Result
    }

    interface Instance extends PromiseLike<Result> {
      on(event: string, listener: (...args: unknown[]) => void): this
    }
  }

  function autocannon(opts: autocannon.Options): autocannon.Instance

  export default autocannon
}

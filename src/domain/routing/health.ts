/** A provider instance's recent health, as `GET /v1/providers` shows it. */
export interface HealthView {
  /** Sends in the window (the last `windowMs`, at most the last `capacity` sends). */
  readonly sends: number
  /** Share of them the provider answered (accepted, or refused on the message's merits); null without sends. */
  readonly successRate: number | null
  /** Request latency percentiles over the window, in milliseconds; null without sends. */
  readonly latencyP50Ms: number | null
  readonly latencyP99Ms: number | null
  readonly windowMs: number
}

/**
 * Recent sends of one instance in a ring buffer: outcome and latency, on an injected clock.
 * Memory is fixed (`capacity` samples); percentiles are computed when read.
 */
export class HealthWindow {
  readonly #at: Float64Array
  readonly #latency: Float64Array
  readonly #ok: Uint8Array
  #next = 0
  #size = 0

  constructor(
    readonly windowMs = 300_000,
    readonly capacity = 1024,
  ) {
    this.#at = new Float64Array(capacity)
    this.#latency = new Float64Array(capacity)
    this.#ok = new Uint8Array(capacity)
  }

  record(at: number, ok: boolean, latencyMs: number): void {
    this.#at[this.#next] = at
    this.#latency[this.#next] = latencyMs
    this.#ok[this.#next] = ok ? 1 : 0
    this.#next = (this.#next + 1) % this.capacity
    this.#size = Math.min(this.#size + 1, this.capacity)
  }

  view(now: number): HealthView {
    const since = now - this.windowMs
    const latencies: number[] = []
    let ok = 0
    for (let i = 0; i < this.#size; i++) {
      if ((this.#at[i] ?? 0) < since) continue
      latencies.push(this.#latency[i] ?? 0)
      ok += this.#ok[i] ?? 0
    }
    latencies.sort((a, b) => a - b)
    const n = latencies.length
    return {
      sends: n,
      successRate: n === 0 ? null : ok / n,
      latencyP50Ms: percentile(latencies, 0.5),
      latencyP99Ms: percentile(latencies, 0.99),
      windowMs: this.windowMs,
    }
  }
}

/** Nearest-rank percentile of sorted values, or null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.ceil(p * sorted.length)
  return Math.round(sorted[rank - 1] ?? 0)
}

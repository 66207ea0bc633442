import type { PacerClock } from './pacer.js'

/** Lets every promise that can settle now settle (a turn of the event loop). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

/** A clock for pacing tests: time moves only when the test advances it. */
export class VirtualClock implements PacerClock {
  #t: number
  #timers: { at: number; resolve: () => void }[] = []

  /** `lagMs`: every timer fires this much late, as on a busy machine. */
  constructor(
    start = 1_800_000_000_000,
    private readonly lagMs = 0,
  ) {
    this.#t = start
  }

  now = (): number => this.#t

  wait(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal.aborted) return resolve()
      const timer = { at: this.#t + ms + this.lagMs, resolve }
      this.#timers.push(timer)
      signal.addEventListener(
        'abort',
        () => {
          this.#timers = this.#timers.filter((x) => x !== timer)
          resolve()
        },
        { once: true },
      )
    })
  }

  /** Runs every timer due up to `target` in time order, letting the code react after each. */
  async advanceTo(target: number): Promise<void> {
    for (;;) {
      await settle()
      const next = this.#timers.reduce<{ at: number } | undefined>(
        (a, b) => (a === undefined || b.at < a.at ? b : a),
        undefined,
      )
      if (next === undefined || next.at > target) break
      this.#t = Math.max(this.#t, next.at)
      const due = this.#timers.filter((x) => x.at <= this.#t)
      this.#timers = this.#timers.filter((x) => x.at > this.#t)
      for (const x of due) x.resolve()
    }
    this.#t = Math.max(this.#t, target)
    await settle()
  }

  /** The process stalls (a long synchronous task): time jumps, then the timers fire late. */
  async stall(ms: number): Promise<void> {
    this.#t += ms
    await this.advanceTo(this.#t)
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.#t + ms)
  }
}

/** The most segments any half-open window of `ms` holds (the worst window starts at a send). */
export function worstWindow(sends: readonly { t: number; n: number }[], ms: number): number {
  const s = [...sends].sort((a, b) => a.t - b.t)
  let worst = 0
  let j = 0
  let sum = 0
  for (let i = 0; i < s.length; i++) {
    while (j < s.length && s[j]!.t < s[i]!.t + ms) sum += s[j++]!.n
    worst = Math.max(worst, sum)
    sum -= s[i]!.n
  }
  return worst
}

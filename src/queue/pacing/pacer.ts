import type { SlotBook } from './book.js'
import type { BookRequest, Booking, PaceKey, Release } from './schedule.js'

/**
 * `go`: send now (the slot has come). `later`: no slot within the horizon (or the worker is
 * stopping): give the message back to the queue until `at`, without counting an attempt.
 */
export type PaceResult =
  { readonly outcome: 'go' } | { readonly outcome: 'later'; readonly at: number }

/** Segments per second per provider instance and per sender (`from`); absent: no limit. */
export interface PacingLimits {
  readonly providers: ReadonlyMap<string, number>
  readonly senders: ReadonlyMap<string, number>
}

/** Time as the pacer sees it: tests drive a virtual clock. */
export interface PacerClock {
  now(): number
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>
}

export interface PacerOptions {
  book: SlotBook
  limits: PacingLimits
  clock?: PacerClock
  /**
   * Added to the one-second window the limits are kept over, so that the sends' own jitter on
   * the way to the provider (event loop, network) cannot put one more into a second than the
   * limit. Under backlog the pacer uses 1000 / (1000 + marginMs) of each limit.
   */
  marginMs?: number
  /** A send that wakes up later than this after its slot books a new one (its slot is gone). */
  lateMs?: number
  /**
   * A send may go this much before its slot (timers are set early by how late they have been
   * firing, and may then fire a little early). `earlyMs + lateMs` must stay below the margin.
   */
  earlyMs?: number
  /** How far ahead sends are booked and held in memory; later ones go back to the queue. */
  horizonMs?: number
  /** A round the schedule could not take (database or Redis unreachable). */
  onError?: (err: unknown) => void
}

const realClock: PacerClock = {
  now: Date.now,
  wait: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve()
      const done = () => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal.addEventListener('abort', done, { once: true })
    }),
}

const GO: PaceResult = { outcome: 'go' }
/** How long a message waits in the queue when the schedule cannot be reached. */
const UNREACHABLE_RETRY_MS = 1000

/**
 * A send the pacer handed back, as a rejection (for a hook that resolves with nothing, like the
 * dispatcher's `PaceFn`): the message goes back to the queue until `at`, its attempt not
 * counted. Recognised by `name` across boundaries.
 */
export class PacingDeferred extends Error {
  override readonly name = 'PacingDeferred'
  constructor(readonly at: number) {
    super(`paced: next slot at ${new Date(at).toISOString()}`)
  }
}

interface Pending {
  request: BookRequest
  resolve: (b: Booking) => void
  reject: (err: unknown) => void
}

/**
 * Paces sends to the limits of their provider instance and sender, measured where requests
 * reach the provider. Each send books the earliest slot that keeps every one of its limits
 * (see schedule.ts) in a {@link SlotBook} shared by every worker process, then waits for it;
 * the bookings of one turn of the event loop go to the book in one round. A send that cannot
 * be booked within the horizon is handed back (`later`), so a slow sender's backlog waits in
 * the queue, not in the worker's memory or concurrency.
 */
export class Pacer {
  readonly #book: SlotBook
  readonly #limits: PacingLimits
  readonly #clock: PacerClock
  readonly #rules: { windowMs: number; horizonMs: number }
  readonly #lateMs: number
  readonly #onError: (err: unknown) => void
  readonly #earlyMs: number
  /** How late this process's timers have been firing (smoothed). */
  #lag = 0
  #pending: Pending[] = []
  #releases: Release[] = []
  #flushing = false
  /** Round-trip time of the book (smoothed): bookings start this far ahead. */
  #lead = 0
  /** Per key, the time after the last send handed back: the next one goes after it. */
  readonly #deferred = new Map<string, number>()

  constructor(o: PacerOptions) {
    const { marginMs = 40, lateMs = 15, earlyMs = 0, horizonMs = 1000 } = o
    if (earlyMs + lateMs >= marginMs) throw new Error('earlyMs + lateMs must be below marginMs')
    this.#book = o.book
    this.#limits = o.limits
    this.#clock = o.clock ?? realClock
    this.#rules = { windowMs: 1000 + marginMs, horizonMs }
    this.#lateMs = lateMs
    this.#onError = o.onError ?? (() => undefined)
    this.#earlyMs = earlyMs
  }

  get book(): SlotBook {
    return this.#book
  }

  /** The limits a send through `provider` from `sender` is held to (none: not paced). */
  keysFor(provider: string, sender: string | null): PaceKey[] {
    const keys: PaceKey[] = []
    const p = this.#limits.providers.get(provider)
    if (p !== undefined) keys.push({ key: `provider:${provider}`, mps: p })
    const s = sender === null ? undefined : this.#limits.senders.get(sender)
    if (s !== undefined) keys.push({ key: `sender:${sender}`, mps: s })
    return keys
  }

  /**
   * Waits until a send of `segments` through `provider` from `sender` may go. Unpaced sends get
   * `go` at once, without a promise. `signal` (the worker stopping) hands the send back.
   */
  pace(
    provider: string,
    sender: string | null,
    segments: number,
    signal: AbortSignal,
  ): PaceResult | Promise<PaceResult> {
    const keys = this.keysFor(provider, sender)
    if (keys.length === 0) return GO
    return this.#acquire({ keys, n: Math.max(1, segments) }, signal)
  }

  /**
   * `pace` as a hook that resolves when the send may go and rejects with {@link PacingDeferred}
   * when it goes back to the queue.
   */
  async take(
    provider: string,
    sender: string | null,
    segments: number,
    signal: AbortSignal,
  ): Promise<void> {
    let r: PaceResult
    try {
      r = await this.pace(provider, sender, segments, signal)
    } catch (err) {
      // The schedule could not be reached: the message waits in the queue a moment.
      this.#onError(err)
      throw new PacingDeferred(this.#clock.now() + UNREACHABLE_RETRY_MS)
    }
    if (r.outcome === 'later') throw new PacingDeferred(r.at)
  }

  async #acquire(request: BookRequest, signal: AbortSignal): Promise<PaceResult> {
    for (;;) {
      if (signal.aborted) return { outcome: 'later', at: this.#clock.now() }
      const booking = await this.#request(request)
      if (booking.outcome === 'full')
        return { outcome: 'later', at: this.#handBack(request, booking.t) }
      const slot = { t: booking.t, n: request.n }
      // Timers are set early by how late they have been firing, so they fire about on time.
      const opens = slot.t - this.#earlyMs
      let target = slot.t - Math.min(this.#lag, this.#rules.horizonMs / 4)
      while (!signal.aborted && this.#clock.now() < opens) {
        await this.#clock.wait(Math.max(1, target - this.#clock.now()), signal)
        if (signal.aborted) break
        // Quick to follow a slower timer, slow to forget it.
        const lag = Math.max(0, this.#clock.now() - target)
        this.#lag = lag > this.#lag ? lag : 0.9 * this.#lag + 0.1 * lag
        target = opens
      }
      if (signal.aborted) {
        this.#release({ keys: request.keys, slot })
        return { outcome: 'later', at: this.#clock.now() }
      }
      // Sending well after the slot could put this send into the next sends' window.
      if (this.#clock.now() - slot.t <= this.#lateMs) return GO
      this.#release({ keys: request.keys, slot })
    }
  }

  /**
   * When a send with no room within the horizon comes back: sends handed back on the same
   * limiting key follow one another at its rate, each returning half a horizon before its
   * expected slot, so the next claim finds it booked in time and the key never runs dry.
   */
  #handBack(request: BookRequest, earliest: number): number {
    const key = request.keys.reduce((a, b) => (b.mps < a.mps ? b : a))
    const now = this.#clock.now()
    const after = this.#deferred.get(key.key) ?? 0
    const t = Math.max(earliest, after)
    this.#deferred.set(key.key, t + (Math.min(request.n, key.mps) * this.#rules.windowMs) / key.mps)
    if (this.#deferred.size > 10_000) {
      for (const [k, v] of this.#deferred) if (v < now) this.#deferred.delete(k)
    }
    return Math.max(now, Math.round(t - this.#rules.horizonMs / 2))
  }

  #request(request: BookRequest): Promise<Booking> {
    return new Promise<Booking>((resolve, reject) => {
      this.#pending.push({ request, resolve, reject })
      this.#schedule()
    })
  }

  #release(r: Release): void {
    this.#releases.push(r)
    this.#schedule()
  }

  #schedule(): void {
    if (this.#flushing) return
    this.#flushing = true
    // Everything asked for in this turn goes in one round.
    queueMicrotask(() => void this.#flush())
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#releases.length > 0) {
      const batch = this.#pending
      const releases = this.#releases
      this.#pending = []
      this.#releases = []
      const now = this.#clock.now()
      try {
        const bookings = await this.#book.book(
          batch.map((p) => p.request),
          releases,
          now,
          now + this.#lead,
          this.#rules,
        )
        const took = this.#clock.now() - now
        this.#lead = Math.min(this.#rules.horizonMs / 4, 0.8 * this.#lead + 0.2 * (2 * took))
        batch.forEach((p, i) => p.resolve(bookings[i] as Booking))
      } catch (err) {
        // The releases are lost with the round: their slots stay booked (the safe side).
        for (const p of batch) p.reject(err)
      }
    }
    this.#flushing = false
  }
}

/**
 * A claim loop: runs `tick` until it reports no work, then sleeps `pollMs` or until woken.
 * One loop per kind of work; no timer per item.
 */
export class PollingLoop {
  #running = false
  #wake: (() => void) | null = null
  #timer: NodeJS.Timeout | null = null
  #done: Promise<void> = Promise.resolve()
  #pending = false

  constructor(
    private readonly tick: () => Promise<'more' | 'idle'>,
    private readonly pollMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#done = this.#run()
  }

  /** Skips the current sleep: new work may be due. */
  wake(): void {
    this.#pending = true
    this.#wake?.()
  }

  async stop(): Promise<void> {
    this.#running = false
    this.#wake?.()
    await this.#done
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let state: 'more' | 'idle' = 'idle'
      this.#pending = false
      try {
        state = await this.tick()
      } catch (err) {
        this.onError(err)
      }
      if (!this.#running) break
      if (state === 'more' || this.#pending) {
        // Yield to I/O between batches so HTTP intake is never starved.
        await new Promise<void>((r) => setImmediate(r))
        continue
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve
        this.#timer = setTimeout(resolve, this.pollMs)
      })
      if (this.#timer) clearTimeout(this.#timer)
      this.#wake = null
    }
  }
}

/** A flush of at least this many items means busy: the next partial batch may linger. */
export const LINGER_WHEN = 8

/**
 * Coalesces items pushed in the same turn of the event loop into one flush. By default one
 * flush runs at a time (the next gathers what arrived meanwhile); `maxInFlight` lets more
 * overlap, for a flush that only hands its batch on (to the background thread, in order).
 * With `lingerMs`, a partial batch waits that long for company before it goes, but only while
 * busy (the previous flush carried at least LINGER_WHEN items): for items that arrive one by
 * one (answers of separate requests) and cost a transaction per flush. A lone item at low load
 * goes at once, as without a linger.
 */
export class Batcher<T, R> {
  #queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = []
  #inFlight = 0
  #scheduled = false
  /** Items in the latest flush: the linger applies only when it was busy. */
  #lastSize = 0

  constructor(
    private readonly flush: (items: T[]) => Promise<R[]>,
    private readonly maxBatch: number,
    private readonly maxInFlight = 1,
    private readonly lingerMs = 0,
  ) {}

  push(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      // A full batch goes at once; a partial one waits for the end of this turn.
      if (this.#queue.length >= this.maxBatch && this.#inFlight < this.maxInFlight) this.#drain()
      else this.#schedule()
    })
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.maxInFlight) return
    this.#scheduled = true
    const go = () => {
      this.#scheduled = false
      this.#drain()
    }
    if (this.#lingering()) setTimeout(go, this.lingerMs)
    else setImmediate(go)
  }

  #lingering(): boolean {
    return this.lingerMs > 0 && this.#lastSize >= LINGER_WHEN
  }

  #drain(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.maxInFlight) {
      const batch = this.#queue.splice(0, this.maxBatch)
      this.#lastSize = batch.length
      this.#inFlight++
      // Only the callbacks wait for the flush: the items are the flush's to keep or drop (the
      // background thread's hand-over drops them once posted).
      const items = batch.map((b) => b.item)
      const waiting = batch.map(({ resolve, reject }) => ({ resolve, reject }))
      this.flush(items)
        .then(
          (results) => waiting.forEach((b, i) => b.resolve(results[i] as R)),
          (err: unknown) => {
            for (const b of waiting) b.reject(err)
          },
        )
        .finally(() => {
          this.#inFlight--
          // What arrived during the flush goes next, without waiting for another push (after
          // the linger, unless it already fills a batch).
          if (this.#queue.length >= this.maxBatch || (this.#queue.length > 0 && !this.#lingering()))
            this.#drain()
          else if (this.#queue.length > 0) this.#schedule()
        })
    }
  }
}

import type { Logger } from 'pino'
import type { Store } from '../store/store.js'

export interface EventFeedOptions {
  /** Concurrent streams at most (EVENT_STREAM_MAX). */
  readonly maxStreams: number
  /** The slow fallback: how often the log's last id is read while streams are open. */
  readonly pollMs?: number
}

/** A stream's place in the feed; `release` it when the stream ends. */
export interface FeedSlot {
  /** Resolves when new events may exist (a generation after `since`), or the slot is closed. */
  changed(since: number): Promise<void>
  readonly closed: boolean
  release(): void
}

/**
 * What wakes the event streams of this process: every stream reads the event log by id
 * (`WHERE id > last`) when woken, so a wake-up lost or doubled costs a read, never an event.
 * Wake-ups come from commits of this thread's store, the background thread (a message after
 * each commit that raised events), PostgreSQL NOTIFY (every process of a cluster), and a slow
 * poll of the log's last id in case one is missed. The number of streams is bounded.
 */
export class EventFeed {
  #generation = 0
  #head: number | null = null
  readonly #waiters = new Set<() => void>()
  readonly #slots = new Set<{ close: () => void }>()
  #timer: NodeJS.Timeout | undefined
  #polling = false
  #closed = false

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly o: EventFeedOptions,
  ) {}

  /** The current generation: a stream notes it before reading, then waits for a later one. */
  get generation(): number {
    return this.#generation
  }

  get streams(): number {
    return this.#slots.size
  }

  /** New events may have been committed: every waiting stream reads again. */
  wake(): void {
    this.#generation++
    const waiters = [...this.#waiters]
    this.#waiters.clear()
    for (const w of waiters) w()
  }

  /** A slot for one more stream; undefined when EVENT_STREAM_MAX are open or the feed closed. */
  open(onClose: () => void): FeedSlot | undefined {
    if (this.#closed || this.#slots.size >= this.o.maxStreams) return undefined
    let closed = false
    let wakeMe: (() => void) | undefined
    const entry = {
      close: () => {
        if (closed) return
        closed = true
        wakeMe?.()
        onClose()
      },
    }
    this.#slots.add(entry)
    this.#startPolling()
    const release = () => {
      closed = true
      wakeMe?.()
      this.#slots.delete(entry)
      if (this.#slots.size === 0) this.#stopPolling()
    }
    return {
      get closed() {
        return closed
      },
      changed: (since) =>
        new Promise<void>((resolve) => {
          if (closed || this.#generation !== since) return resolve()
          const done = () => {
            this.#waiters.delete(done)
            wakeMe = undefined
            resolve()
          }
          wakeMe = done
          this.#waiters.add(done)
        }),
      release,
    }
  }

  /** Ends every stream (server stop) and refuses new ones. */
  close(): void {
    this.#closed = true
    this.#stopPolling()
    for (const s of [...this.#slots]) s.close()
  }

  #startPolling(): void {
    if (this.#timer) return
    this.#timer = setInterval(() => void this.#poll(), this.o.pollMs ?? 2000)
    this.#timer.unref()
  }

  #stopPolling(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  async #poll(): Promise<void> {
    if (this.#polling) return
    this.#polling = true
    try {
      const { last } = await this.store.eventBounds()
      if (last !== null && last !== this.#head) {
        this.#head = last
        this.wake()
      }
    } catch (err) {
      this.logger.warn({ err }, 'polling the event log failed')
    } finally {
      this.#polling = false
    }
  }
}

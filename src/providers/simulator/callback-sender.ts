import { Agent, request } from 'undici'
import type { SimulatorReport } from './simulator-options.js'
import { signSimulatorBody } from './simulator-signature.js'

export interface CallbackSenderOptions {
  /** Receiver of the signed JSON arrays of reports. */
  url: string
  webhookSecret: string
  /** How long one batch is retried after its first failure before it is dropped. Default 10 min. */
  callbackRetryMs?: number
  /** First retry delay; doubles per failure up to `maxBackoffMs`. Default 100. */
  initialBackoffMs?: number
  /** Largest delay between tries. Default 2000. */
  maxBackoffMs?: number
  /** Parallel POSTs. Default 4. */
  concurrency?: number
  /** Most reports per POST; queued reports are merged up to this size. Default 500. */
  maxBatch?: number
  /** Per-request time limit. Default 10 s. */
  requestTimeoutMs?: number
  /** Wall clock used for signature timestamps. Default `Date.now`. */
  now?: () => number
}

interface Batch {
  reports: SimulatorReport[]
  firstFailureAt?: number
}

/**
 * Pushes batches of delivery reports to a callback URL, signed, with bounded retries:
 * a failing batch is retried with capped exponential backoff for `callbackRetryMs`, so
 * a receiver that is down for a while (a crash and restart) loses nothing.
 */
export class CallbackSender {
  readonly #url: string
  readonly #secret: string
  readonly #retryMs: number
  readonly #initialBackoffMs: number
  readonly #maxBackoffMs: number
  readonly #concurrency: number
  readonly #maxBatch: number
  readonly #now: () => number
  readonly #agent: Agent
  /** Batches not yet tried; entries before #head are taken. */
  #queue: Batch[] = []
  #head = 0
  #inFlight = 0
  readonly #controller = new AbortController()
  #active = 0
  #closed = false
  #delivered = 0
  #dropped = 0
  #failures = 0
  readonly #sleepers = new Set<() => void>()

  constructor(options: CallbackSenderOptions) {
    this.#url = options.url
    this.#secret = options.webhookSecret
    this.#retryMs = options.callbackRetryMs ?? 10 * 60 * 1000
    this.#initialBackoffMs = options.initialBackoffMs ?? 100
    this.#maxBackoffMs = options.maxBackoffMs ?? 2000
    this.#concurrency = Math.max(1, options.concurrency ?? 4)
    this.#maxBatch = Math.max(1, options.maxBatch ?? 500)
    this.#now = options.now ?? Date.now
    const timeout = options.requestTimeoutMs ?? 10_000
    this.#agent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout, connections: 16 })
  }

  /** Counters: reports delivered, reports dropped after the retry window, failed POSTs. */
  stats(): { delivered: number; dropped: number; failedPosts: number; pending: number } {
    let pending = this.#inFlight
    for (let i = this.#head; i < this.#queue.length; i++) {
      pending += this.#queue[i]?.reports.length ?? 0
    }
    return {
      delivered: this.#delivered,
      dropped: this.#dropped,
      failedPosts: this.#failures,
      pending,
    }
  }

  enqueue(reports: SimulatorReport[]): void {
    if (this.#closed) return
    let offset = 0
    const last = this.#queue.length > this.#head ? this.#queue.at(-1) : undefined
    if (last && last.reports.length < this.#maxBatch) {
      offset = this.#maxBatch - last.reports.length
      last.reports.push(...reports.slice(0, offset))
    }
    for (; offset < reports.length; offset += this.#maxBatch) {
      this.#queue.push({ reports: reports.slice(offset, offset + this.#maxBatch) })
    }
    this.#pump()
  }

  /** Resolves once nothing is queued or in flight (or after `timeoutMs`). */
  async drain(timeoutMs = 5000): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while ((this.#queue.length > this.#head || this.#active > 0) && performance.now() < deadline) {
      await this.#sleep(10)
    }
  }

  /** Stops sending; queued and in-flight reports are dropped. */
  async close(): Promise<void> {
    this.#closed = true
    this.#controller.abort()
    for (const wake of this.#sleepers) wake()
    this.#sleepers.clear()
    await this.#agent.close().catch(() => undefined)
  }

  #pump(): void {
    while (!this.#closed && this.#active < this.#concurrency) {
      const batch = this.#queue[this.#head]
      if (!batch) break
      this.#head++
      if (this.#head === this.#queue.length) {
        this.#queue = []
        this.#head = 0
      } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head)
        this.#head = 0
      }
      this.#active++
      this.#inFlight += batch.reports.length
      void this.#deliver(batch).finally(() => {
        this.#active--
        this.#inFlight -= batch.reports.length
        this.#pump()
      })
    }
  }

  async #deliver(batch: Batch): Promise<void> {
    const body = Buffer.from(JSON.stringify(batch.reports))
    for (let failures = 0; !this.#closed; failures++) {
      if (await this.#post(body)) {
        this.#delivered += batch.reports.length
        return
      }
      this.#failures++
      const now = performance.now()
      batch.firstFailureAt ??= now
      if (now - batch.firstFailureAt >= this.#retryMs) {
        this.#dropped += batch.reports.length
        process.emitWarning(`simulator dropped ${batch.reports.length} delivery reports`)
        return
      }
      const backoff = Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** failures)
      await this.#sleep(backoff)
    }
  }

  async #post(body: Buffer): Promise<boolean> {
    try {
      const res = await request(this.#url, {
        method: 'POST',
        dispatcher: this.#agent,
        signal: this.#controller.signal,
        headers: {
          'content-type': 'application/json',
          ...signSimulatorBody(this.#secret, body, this.#now()),
        },
        body,
      })
      await res.body.dump()
      return res.statusCode >= 200 && res.statusCode < 300
    } catch {
      return false
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve()
      const wake = (): void => {
        clearTimeout(timer)
        this.#sleepers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.#sleepers.add(wake)
    })
  }
}

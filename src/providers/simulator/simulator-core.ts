import { fnv1a32, seedBits, simulatorSid, unitFloat } from './simulator-hash.js'
import {
  compileRules,
  resolveSimulatorOptions,
  type CompiledRule,
  type ReportHandler,
  type ResolvedSimulatorOptions,
  type SimulatorOptions,
  type SimulatorReport,
  type SimulatorRule,
  type TransientKind,
} from './simulator-options.js'

export type {
  ReportHandler,
  RuleOutcome,
  SimulatorOptions,
  SimulatorReport,
  SimulatorRule,
  TransientKind,
} from './simulator-options.js'

/** One send attempt as the simulated provider sees it. */
export interface SimulatorSubmit {
  id: string
  to: string
  from: string | null
  body: string
  /** 1 on the first attempt. */
  attempt: number
}

/**
 * What the simulated provider answers. `timeout` means the provider accepted the request
 * (it is counted and reported) but the answer never reaches the client.
 */
export type SubmitOutcome =
  | { kind: 'accepted'; providerMessageId: string }
  | { kind: 'server_error' }
  | { kind: 'rate_limited'; retryAfterMs: number }
  | { kind: 'timeout'; providerMessageId: string }
  | { kind: 'invalid_number' }
  /** The recipient opted out of this sender (replied STOP): refused, and to be suppressed. */
  | { kind: 'opted_out' }

export interface SimulatorStats {
  /** Every submit, whatever its outcome. */
  attempts: number
  /** Submits accepted by the provider, duplicates and timeouts included. */
  accepted: number
  /** Distinct message ids accepted at least once. */
  uniqueAccepted: number
  /** Acceptances beyond the first per message id (counted whether or not dedupe is on). */
  duplicates: number
  /** Submits rejected permanently (`invalid_number`). */
  rejected: number
  /** Submits the client saw fail transiently (server_error, rate_limited, timeout). */
  transient: number
  /** Of `transient`: timeouts, which are also counted in `accepted`. */
  timeouts: number
}

// Salts keeping the per-purpose random streams independent.
const SALT_PERMANENT = 1
const SALT_TRANSIENT = 2
const SALT_KIND = 3
const SALT_UNDELIVERED = 4
const SALT_LATENCY = 5

const STATUS_DELIVERED = 0
const STATUS_UNDELIVERED = 1

/**
 * Deterministic in-memory SMS provider: decides each submit from (seed, message id,
 * attempt), counts every attempt, and emits batched delivery reports from one timer.
 * It performs no I/O; adapters put it behind the provider port or an HTTP server.
 *
 * @example
 * const core = new SimulatorCore({ seed: 7, transientRate: 0.1, onReports: console.log })
 * core.submit({ id: 'm1', to: '+15550100', from: null, body: 'hi', attempt: 1 })
 */
/** How many message ids the simulator remembers for deduplication and counting. */
export const TRACKED_IDS = 200_000

export class SimulatorCore {
  readonly #opts: ResolvedSimulatorOptions
  readonly #seedHash: number
  /** Destination rules; {@link setRules} switches them while running (a fault that comes and goes). */
  #rules: readonly CompiledRule[]
  #handler: ReportHandler | undefined
  /** Acceptances per message id, for the most recent TRACKED_IDS ids (bounded memory). */
  #counts = new Map<string, number>()
  #unique = 0
  #attempts = 0
  #accepted = 0
  #rejected = 0
  #transientCount = 0
  #timeouts = 0
  // Time-ordered report queue as parallel arrays; entries before #head are consumed.
  #due: number[] = []
  #qId: string[] = []
  #qSid: string[] = []
  #qStatus: number[] = []
  #head = 0
  #timer: NodeJS.Timeout | undefined
  #lastFlush = Number.NEGATIVE_INFINITY

  constructor(options: SimulatorOptions = {}) {
    this.#opts = resolveSimulatorOptions(options)
    this.#seedHash = seedBits(this.#opts.seed)
    this.#rules = this.#opts.rules
    this.#handler = options.onReports
  }

  /**
   * Replaces the destination rules from now on, e.g. `[{ match: '+', outcome: 'server_error' }]`
   * to make every send fail and `[]` to recover. Throws RangeError on an invalid rule.
   */
  setRules(rules: readonly SimulatorRule[]): void {
    this.#rules = compileRules(rules)
  }

  /** Retry-After, in milliseconds, that `rate_limited` answers carry. */
  get retryAfterMs(): number {
    return this.#opts.retryAfterMs
  }

  /** Deterministic latency in whole milliseconds for this attempt. */
  latencyFor(id: string, attempt: number): number {
    const { latencyMin, latencyMax } = this.#opts
    if (latencyMax === latencyMin) return latencyMin
    const u = unitFloat(this.#seedHash, fnv1a32(id), SALT_LATENCY, attempt)
    return Math.round(latencyMin + u * (latencyMax - latencyMin))
  }

  /** Decides and records one attempt. Never throws for valid input. */
  submit(sms: SimulatorSubmit): SubmitOutcome {
    this.#attempts++
    const opts = this.#opts
    const idHash = fnv1a32(sms.id)
    const rule = this.#rules.find((r) => r.test(sms.to))
    let undelivered: boolean
    if (rule) {
      switch (rule.outcome) {
        case 'server_error':
        case 'rate_limited':
        case 'timeout':
          // Rule-forced timeouts still reach the provider and are reported delivered.
          return this.#transient(sms.id, rule.outcome, false)
        case 'invalid_number':
        case 'opted_out':
          this.#rejected++
          return { kind: rule.outcome }
        case 'undelivered':
        case 'delivered':
          undelivered = rule.outcome === 'undelivered'
      }
    } else {
      if (unitFloat(this.#seedHash, idHash, SALT_PERMANENT, 0) < opts.permanentRate) {
        this.#rejected++
        return { kind: 'invalid_number' }
      }
      undelivered = unitFloat(this.#seedHash, idHash, SALT_UNDELIVERED, 0) < opts.undeliveredRate
      if (unitFloat(this.#seedHash, idHash, SALT_TRANSIENT, sms.attempt) < opts.transientRate) {
        const u = unitFloat(this.#seedHash, idHash, SALT_KIND, sms.attempt)
        const kinds = opts.transientKinds
        const kind = kinds[Math.floor(u * kinds.length)] ?? 'server_error'
        return this.#transient(sms.id, kind, undelivered)
      }
    }
    return { kind: 'accepted', providerMessageId: this.#accept(sms.id, undelivered) }
  }

  /** How many times the provider accepted `messageId` (timeouts included). */
  acceptedCount(messageId: string): number {
    return this.#counts.get(messageId) ?? 0
  }

  /** Message ids accepted at least once. */
  acceptedIds(): Iterable<string> {
    return this.#counts.keys()
  }

  stats(): SimulatorStats {
    const uniqueAccepted = this.#unique
    return {
      attempts: this.#attempts,
      accepted: this.#accepted,
      uniqueAccepted,
      duplicates: this.#accepted - uniqueAccepted,
      rejected: this.#rejected,
      transient: this.#transientCount,
      timeouts: this.#timeouts,
    }
  }

  /** Reports waiting for their due time. */
  pendingReports(): number {
    return this.#due.length - this.#head
  }

  /**
   * Queues again the report owed for a message accepted before a restart (pending reports live
   * in memory): the status `submit` decided then, which depends only on the seed, the message
   * id and the destination, due `delayMs` from now. Nothing is queued without a handler.
   */
  requeueReport(m: { id: string; to: string; providerMessageId: string }, delayMs: number): void {
    const rule = this.#rules.find((r) => r.test(m.to))
    const undelivered = rule
      ? rule.outcome === 'undelivered'
      : unitFloat(this.#seedHash, fnv1a32(m.id), SALT_UNDELIVERED, 0) < this.#opts.undeliveredRate
    this.#queue(m.id, m.providerMessageId, undelivered, Math.max(0, delayMs))
  }

  /** Attaches (or with `undefined` detaches) the report handler. */
  setReportHandler(handler: ReportHandler | undefined): void {
    this.#handler = handler
    if (handler) this.#schedule()
    else this.#clearQueue()
  }

  /** Forgets all counts and pending reports. */
  reset(): void {
    this.#counts = new Map()
    this.#unique = 0
    this.#attempts = this.#accepted = this.#rejected = this.#transientCount = this.#timeouts = 0
    this.#clearQueue()
  }

  /** Stops the report timer and drops pending reports and the handler. */
  close(): void {
    this.#handler = undefined
    this.#clearQueue()
  }

  /** Records a transient failure. A timeout reached the provider: it is accepted there. */
  #transient(id: string, kind: TransientKind, undelivered: boolean): SubmitOutcome {
    this.#transientCount++
    switch (kind) {
      case 'server_error':
        return { kind }
      case 'rate_limited':
        return { kind, retryAfterMs: this.#opts.retryAfterMs }
      case 'timeout':
        this.#timeouts++
        return { kind, providerMessageId: this.#accept(id, undelivered) }
    }
  }

  /** Records an acceptance, queues its report, and returns the provider message id. */
  #accept(id: string, undelivered: boolean): string {
    this.#accepted++
    const n = (this.#counts.get(id) ?? 0) + 1
    if (n === 1) {
      this.#unique++
      // A long-running simulator (the default provider) must not grow without bound: forget
      // the oldest ids. Counts stay exact for the last TRACKED_IDS ids.
      if (this.#counts.size >= TRACKED_IDS) {
        let drop = TRACKED_IDS / 10
        for (const old of this.#counts.keys()) {
          this.#counts.delete(old)
          if (--drop === 0) break
        }
      }
    }
    this.#counts.set(id, n)
    if (n > 1 && this.#opts.dedupe) return simulatorSid(id, 1)
    const sid = simulatorSid(id, this.#opts.dedupe ? 1 : n)
    this.#queue(id, sid, undelivered, this.#opts.dlrDelayMs)
    return sid
  }

  #queue(id: string, sid: string, undelivered: boolean, delayMs: number): void {
    if (!this.#handler) return
    this.#due.push(this.#opts.monotonic() + delayMs)
    this.#qId.push(id)
    this.#qSid.push(sid)
    this.#qStatus.push(undelivered ? STATUS_UNDELIVERED : STATUS_DELIVERED)
    this.#schedule()
  }

  #schedule(): void {
    if (this.#timer !== undefined || !this.#handler) return
    const next = this.#due[this.#head]
    if (next === undefined) return
    const now = this.#opts.monotonic()
    const wait = Math.max(0, next - now, this.#lastFlush + this.#opts.minFlushIntervalMs - now)
    this.#timer = setTimeout(this.#flush, Math.ceil(wait))
  }

  #flush = (): void => {
    this.#timer = undefined
    const now = this.#opts.monotonic()
    this.#lastFlush = now
    const at = this.#opts.now()
    let batch: SimulatorReport[] = []
    while (this.#handler && this.#head < this.#due.length && (this.#due[this.#head] ?? 0) <= now) {
      const i = this.#head++
      const id = this.#qId[i] ?? ''
      const report: SimulatorReport = {
        messageId: id,
        providerMessageId: this.#qSid[i] ?? '',
        status: this.#qStatus[i] === STATUS_UNDELIVERED ? 'undelivered' : 'delivered',
        at,
      }
      if (report.status === 'undelivered') report.errorCode = 'undeliverable'
      batch.push(report)
      if (batch.length >= this.#opts.maxReportBatch) {
        this.#emit(batch)
        batch = []
      }
    }
    if (batch.length > 0) this.#emit(batch)
    this.#compact()
    this.#schedule()
  }

  #emit(batch: SimulatorReport[]): void {
    try {
      this.#handler?.(batch)
    } catch (error) {
      this.#opts.onError(error)
    }
  }

  #compact(): void {
    const head = this.#head
    if (head === this.#due.length) {
      this.#clearQueue(false)
    } else if (head > 4096 && head * 2 > this.#due.length) {
      this.#due.splice(0, head)
      this.#qId.splice(0, head)
      this.#qSid.splice(0, head)
      this.#qStatus.splice(0, head)
      this.#head = 0
    }
  }

  #clearQueue(stopTimer = true): void {
    if (stopTimer && this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    this.#due = []
    this.#qId = []
    this.#qSid = []
    this.#qStatus = []
    this.#head = 0
  }
}

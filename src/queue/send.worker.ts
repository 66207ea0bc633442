import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { analyzeBody } from '../domain/messages/encoding.js'
import type { MessageRecord } from '../domain/messages/message.js'
import { decideRetry } from '../domain/messages/retry.js'
import { newId } from '../domain/ids.js'
import type { SendResult, SmsProvider } from '../providers/provider.js'
import type { AttemptRecord, OutcomeWrite } from '../store/message.repo.js'
import type { Store } from '../store/store.js'
import { Batcher, PollingLoop } from './loop.js'
import type { PaceResult } from './pacing/pacer.js'

/**
 * Waits for a send's turn under the limits of its provider instance and sender
 * (src/queue/pacing). `later`: give the message back to the queue until then.
 */
export type PaceHook = (
  provider: string,
  sender: string | null,
  segments: number,
  signal: AbortSignal,
) => PaceResult | Promise<PaceResult>

/** A claimed message handed back unsent (pacing): queued again, the attempt not counted. */
interface Deferral {
  kind: 'deferred'
  id: string
  until: number
}
type Outcome = OutcomeWrite | Deferral

export interface SendWorkerOptions {
  store: Store
  /** Picks the provider for a message (routing lives in domain/routing). */
  route: (m: MessageRecord) => SmsProvider
  config: Config['worker']
  logger: Logger
  now?: () => number
  /** Pacing: called after routing, before each send; none: every send goes at once. */
  pace?: PaceHook
}

/** Intake counts as busy for this long after its last commit. */
const INTAKE_BUSY_MS = 100
/** Sleep between paced claims while intake is busy. */
const PACE_MS = 5
/** Sends starting within this many milliseconds share one timeout signal. */
const SHARED_TIMEOUT_MS = 5
/** How long a message waits in the queue when the pacing schedule cannot be reached. */
const PACING_RETRY_MS = 1000

/**
 * Claims due messages in batches, sends them with bounded concurrency, and records outcomes
 * in batched transactions. A crash loses nothing: claimed rows return when their lease ends.
 */
export class SendWorker {
  readonly owner = newId('wrk')
  readonly #o: SendWorkerOptions
  readonly #loop: PollingLoop
  readonly #outcomes: Batcher<Outcome, undefined>
  readonly #now: () => number
  /** Aborted by `stop`: sends still waiting for their pacing slot are handed back. */
  readonly #stopping = new AbortController()
  #inflight = 0
  /** Of `#inflight`, the sends waiting for their pacing slot: they hold no request slot. */
  #waiting = 0
  /** When intake last committed messages, and the claim allowance while it stays busy. */
  #intakeAt = -Infinity
  #tokens = 0
  #tokensAt = 0
  #idle: (() => void) | null = null
  #slot: (() => void) | null = null

  constructor(o: SendWorkerOptions) {
    this.#o = o
    this.#now = o.now ?? Date.now
    this.#loop = new PollingLoop(
      () => this.#tick(),
      o.config.pollMs,
      (err) => o.logger.error({ err }, 'send worker tick failed'),
    )
    this.#outcomes = new Batcher<Outcome, undefined>(async (items) => {
      const writes: OutcomeWrite[] = []
      const deferrals: Deferral[] = []
      for (const w of items) {
        if (w.kind === 'deferred') deferrals.push(w)
        else writes.push(w)
      }
      const { messages } = o.store
      const owner = this.owner
      const now = this.#now()
      await o.store.tx(function* () {
        if (writes.length > 0) yield* messages.recordOutcomes(owner, writes, now)
        if (deferrals.length > 0) yield* messages.deferClaims(owner, deferrals, now)
      })
      return items.map(() => undefined)
    }, 2000)
  }

  start(): void {
    this.#loop.start()
  }

  /**
   * Intake committed new messages: claim them now. This is also how the worker knows intake
   * is busy, so only intake calls it (dispatch then gives way, see `#allowance`).
   */
  intakeCommitted(): void {
    this.#intakeAt = this.#now()
    this.#loop.wake()
  }

  /**
   * How many messages this tick may claim. While intake committed within the last
   * INTAKE_BUSY_MS, claims are paced to `rateDuringIntake` per second, so a burst of
   * submissions is acknowledged at full speed and dispatch catches up when it ends; it never
   * stops entirely, so a one-time code submitted mid-campaign still goes out.
   */
  #allowance(want: number): number {
    const rate = this.#o.config.rateDuringIntake
    const now = this.#now()
    // The bucket holds 10 ms of claims (at least one), so pacing starts without a burst.
    const burst = Math.max(1, rate / 100)
    if (rate === 0 || now - this.#intakeAt > INTAKE_BUSY_MS) {
      this.#tokens = burst
      this.#tokensAt = now
      return want
    }
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#tokensAt) * rate) / 1000)
    this.#tokensAt = now
    const n = Math.min(want, Math.floor(this.#tokens))
    this.#tokens -= n
    return n
  }

  /** Stops claiming and waits for in-flight sends to be recorded (or the timeout to pass). */
  async stop(timeoutMs: number): Promise<void> {
    await this.#loop.stop()
    this.#stopping.abort()
    if (this.#inflight === 0) return
    await Promise.race([
      new Promise<void>((r) => (this.#idle = r)),
      new Promise<void>((r) => setTimeout(r, timeoutMs).unref()),
    ])
  }

  async #tick(): Promise<'more' | 'idle'> {
    const { batchSize, concurrency, leaseMs } = this.#o.config
    // Sends waiting for a pacing slot do not count: a slow sender's turn never takes the room
    // of other senders' requests (the pacer holds at most its horizon's worth of them).
    const room = concurrency - (this.#inflight - this.#waiting)
    if (room < Math.min(batchSize, concurrency) / 2) {
      await new Promise<void>((r) => (this.#slot = r))
      return 'more'
    }
    const limit = this.#allowance(Math.min(batchSize, room))
    if (limit < 1) {
      await new Promise<void>((r) => setTimeout(r, PACE_MS))
      return 'more'
    }
    const claimed = await this.#o.store.tx(() =>
      this.#o.store.messages.claim(this.owner, limit, this.#now(), leaseMs),
    )
    for (const m of claimed) {
      this.#inflight++
      void this.#dispatch(m)
    }
    return claimed.length === limit ? 'more' : 'idle'
  }

  async #dispatch(m: MessageRecord): Promise<void> {
    try {
      await this.#outcomes.push(await this.#attempt(m))
    } catch (err) {
      // The row keeps its lease and returns to the pool when it ends: nothing is lost.
      this.#o.logger.error({ err, messageId: m.id }, 'recording a send outcome failed')
    } finally {
      this.#inflight--
      const slot = this.#slot
      this.#slot = null
      slot?.()
      if (this.#inflight === 0) this.#idle?.()
    }
  }

  /**
   * The timeout of a send that starts now: one signal serves every send starting within the
   * same few milliseconds (a timer each would cost more than the send), each timing out no
   * sooner than `providerTimeoutMs` after its own start.
   */
  #timeoutSignal(): AbortSignal {
    const at = performance.now()
    if (this.#timeout === undefined || at - this.#timeout.at > SHARED_TIMEOUT_MS) {
      const ms = this.#o.config.providerTimeoutMs + SHARED_TIMEOUT_MS
      this.#timeout = { at, signal: AbortSignal.timeout(ms) }
    }
    return this.#timeout.signal
  }

  #timeout: { at: number; signal: AbortSignal } | undefined

  /** Waits for the send's pacing slot; `later` when it must go back to the queue. */
  async #pace(provider: SmsProvider, m: MessageRecord): Promise<PaceResult> {
    const paced = this.#o.pace?.(provider.name, m.from_number, m.segments, this.#stopping.signal)
    if (paced === undefined || !(paced instanceof Promise)) return paced ?? { outcome: 'go' }
    this.#waiting++
    try {
      return await paced
    } catch (err) {
      // The shared schedule could not be reached: the message waits in the queue a moment.
      this.#o.logger.warn({ err, provider: provider.name }, 'pacing schedule unavailable')
      return { outcome: 'later', at: this.#now() + PACING_RETRY_MS }
    } finally {
      this.#waiting--
    }
  }

  async #attempt(m: MessageRecord): Promise<Outcome> {
    const now = this.#now()
    if (now >= m.valid_until) {
      return {
        kind: 'final',
        id: m.id,
        provider: null,
        status: 'expired',
        errorCode: 'validity_expired',
        errorMessage: null,
      }
    }
    const provider = this.#o.route(m)
    const turn = await this.#pace(provider, m)
    if (turn.outcome === 'later') return { kind: 'deferred', id: m.id, until: turn.at }
    const sms = {
      id: m.id,
      to: m.to_number,
      from: m.from_number,
      body: m.smart_encoding === 1 ? analyzeBody(m.body, { smartEncoding: true }).text : m.body,
      encoding: m.encoding,
      segments: m.segments,
      validUntil: m.valid_until,
      attempt: m.attempts,
    }
    const startedAt = this.#now()
    // The timeout starts with the request, not with the claim or the wait for a slot.
    const signal = this.#timeoutSignal()
    let result: SendResult
    try {
      result = await provider.send(sms, signal)
    } catch (err) {
      this.#o.logger.warn({ err, messageId: m.id, provider: provider.name }, 'provider threw')
      result = { outcome: 'retry', code: 'provider_connection_error' }
    }
    const endedAt = this.#now()
    const attempt: AttemptRecord = {
      number: m.attempts,
      provider: provider.name,
      sender: sms.from,
      startedAt,
      endedAt,
      outcome: result.outcome,
      errorCode: result.outcome === 'accepted' ? null : result.code,
      latencyMs: endedAt - startedAt,
    }
    switch (result.outcome) {
      case 'accepted':
        return {
          kind: 'sent',
          id: m.id,
          provider: provider.name,
          providerMessageIds: result.providerMessageIds,
          sender: sms.from,
          ...(result.price ? { price: result.price } : {}),
          attempt,
        }
      case 'rejected':
        return {
          kind: 'final',
          id: m.id,
          provider: provider.name,
          status: 'failed',
          errorCode: result.code,
          errorMessage: result.message ?? null,
          attempt,
        }
      case 'retry':
      case 'unknown': {
        const d = decideRetry(
          m,
          {
            outcome: 'retry',
            code: result.code,
            ...(result.outcome === 'retry' && result.after !== undefined
              ? { after: result.after }
              : {}),
          },
          this.#now(),
          this.#o.config,
        )
        return { ...d, id: m.id, provider: provider.name, attempt }
      }
    }
  }
}

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

export interface SendWorkerOptions {
  store: Store
  /** Picks the provider for a message (routing lives in domain/routing). */
  route: (m: MessageRecord) => SmsProvider
  config: Config['worker']
  logger: Logger
  now?: () => number
}

/** Intake counts as busy for this long after its last commit. */
const INTAKE_BUSY_MS = 100
/** Sleep between paced claims while intake is busy. */
const PACE_MS = 5

/**
 * Claims due messages in batches, sends them with bounded concurrency, and records outcomes
 * in batched transactions. A crash loses nothing: claimed rows return when their lease ends.
 */
export class SendWorker {
  readonly owner = newId('wrk')
  readonly #o: SendWorkerOptions
  readonly #loop: PollingLoop
  readonly #outcomes: Batcher<OutcomeWrite, undefined>
  readonly #now: () => number
  #inflight = 0
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
    this.#outcomes = new Batcher<OutcomeWrite, undefined>(async (writes) => {
      await o.store.tx(() => o.store.messages.recordOutcomes(this.owner, writes, this.#now()))
      return writes.map(() => undefined)
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
    if (this.#inflight === 0) return
    await Promise.race([
      new Promise<void>((r) => (this.#idle = r)),
      new Promise<void>((r) => setTimeout(r, timeoutMs).unref()),
    ])
  }

  async #tick(): Promise<'more' | 'idle'> {
    const { batchSize, concurrency, leaseMs } = this.#o.config
    const room = concurrency - this.#inflight
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
    // One timeout signal per claimed batch (they start together), not one timer per send.
    const signal = AbortSignal.timeout(this.#o.config.providerTimeoutMs)
    for (const m of claimed) {
      this.#inflight++
      void this.#dispatch(m, signal)
    }
    return claimed.length === limit ? 'more' : 'idle'
  }

  async #dispatch(m: MessageRecord, signal: AbortSignal): Promise<void> {
    try {
      await this.#outcomes.push(await this.#attempt(m, signal))
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

  async #attempt(m: MessageRecord, signal: AbortSignal): Promise<OutcomeWrite> {
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

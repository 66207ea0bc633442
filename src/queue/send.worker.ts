import type { Logger } from 'pino'
import { statesByPhone } from '../domain/consent/enforce.js'
import type { Config } from '../config.js'
import type { MessageRecord } from '../domain/messages/message.js'
import { newId } from '../domain/ids.js'
import { PriceTable } from '../domain/routing/prices.js'
import { ProviderMonitor } from '../domain/routing/provider-monitor.js'
import { defaultRoutes } from '../domain/routing/route.js'
import { Router } from '../domain/routing/router.js'
import type { QuietHours } from '../domain/quiet-hours/quiet-hours.js'
import type { RoutingConfig } from '../domain/routing/routing-config.js'
import type { SmsProvider } from '../providers/provider.js'
import type { ConsentEntry } from '../store/consent.repo.js'
import { isKeywordReply } from '../usecases/keywords.js'
import type { OutcomeWrite } from '../store/message.repo.js'
import type { Suppression } from '../store/routing.repo.js'
import type { Store } from '../store/store.js'
import { Dispatcher, noPacing, type Dispatched, type PaceFn } from './dispatch.js'
import { Batcher, PollingLoop } from './loop.js'

export type { PaceFn } from './dispatch.js'

type ConsentStates = ReturnType<typeof statesByPhone>

export interface SendWorkerOptions {
  store: Store
  /** Provider instances by name, in configured order. */
  providers: ReadonlyMap<string, SmsProvider>
  /** Routes, prices and circuit settings; default: one route over every instance, in order. */
  routing?: RoutingConfig
  /** The instances' circuits and health (GET /v1/providers reads them); default: its own. */
  monitor?: ProviderMonitor
  /** Called before each send once instance and sender are chosen (see PaceFn); default: no wait. */
  pace?: PaceFn
  config: Config['worker']
  /** Marketing messages wait for their recipient's window (none: never). */
  quietHours?: QuietHours
  logger: Logger
  now?: () => number
  random?: () => number
}

/** Intake counts as busy for this long after its last commit. */
const INTAKE_BUSY_MS = 100
/** Sleep between paced claims while intake is busy. */
const PACE_MS = 5
/**
 * How long a send outcome waits for others before they are recorded together. Provider
 * answers arrive one by one; committing each turn's handful cost a transaction per few
 * messages (a quarter of the background thread's time at a few thousand messages/s).
 */
const OUTCOME_LINGER_MS = 5

/**
 * Claims due messages in batches, sends them with bounded concurrency, and records outcomes
 * in batched transactions. A crash loses nothing: claimed rows return when their lease ends.
 */
export class SendWorker {
  readonly owner = newId('wrk')
  readonly #o: SendWorkerOptions
  readonly #loop: PollingLoop
  readonly #outcomes: Batcher<Dispatched, undefined>
  readonly #dispatcher: Dispatcher
  readonly #now: () => number
  /** Aborts pacing waits when the worker stops. */
  readonly #stopping = new AbortController()
  /** The circuits and health of the provider instances, as this worker sends through them. */
  readonly monitor: ProviderMonitor
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
    const names = [...o.providers.keys()]
    const routing = o.routing ?? {
      routes: defaultRoutes(names),
      configured: false,
      prices: [],
      circuit: { failures: 5, cooldownMs: 30_000 },
    }
    this.monitor = o.monitor ?? new ProviderMonitor(names, routing.circuit)
    this.#dispatcher = new Dispatcher({
      providers: o.providers,
      router: new Router(routing.routes),
      monitor: this.monitor,
      prices: new PriceTable(routing.prices),
      pace: o.pace ? this.#counted(o.pace) : noPacing,
      policy: o.config,
      providerTimeoutMs: o.config.providerTimeoutMs,
      logger: o.logger,
      now: this.#now,
      ...(o.random ? { random: o.random } : {}),
      ...(o.quietHours ? { quietHours: o.quietHours } : {}),
      reveal: (verificationId, messageId, now) =>
        o.store.verify.reveal(verificationId, messageId, now),
    })
    this.#outcomes = new Batcher<Dispatched, undefined>(
      async (done) => {
        const suppressions = done.flatMap((d) => (d.kind === 'final' && d.suppression) || [])
        const writes = done.map(outcomeWrite)
        const now = this.#now()
        const { messages, routing: repo, consents } = o.store
        const owner = this.owner
        await o.store.tx(function* () {
          if (suppressions.length > 0) {
            yield* repo.suppress(suppressions, now)
            yield* consents.record(providerOptOuts(suppressions, now))
          }
          yield* messages.recordOutcomes(owner, writes, now)
        })
        return done.map(() => undefined)
      },
      2000,
      1,
      OUTCOME_LINGER_MS,
    )
  }

  start(): void {
    this.#loop.start()
  }

  /** The pacing hook, counting the sends that wait in it. */
  #counted(pace: PaceFn): PaceFn {
    return async (provider, sender, segments, signal) => {
      this.#waiting++
      try {
        await pace(provider, sender, segments, signal)
      } finally {
        this.#waiting--
      }
    }
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
    // of other senders' requests (the pacer holds at most about a second of them).
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
    const { messages, consents } = this.#o.store
    const owner = this.owner
    const now = this.#now()
    // The recipients' consent is read in the claim's transaction: an opt-out committed before
    // it stops the send (the message ends `rejected`); one committed after finds it in flight.
    const { claimed, states } = await this.#o.store.tx(function* () {
      const claimed = yield* messages.claim(owner, limit, now, leaseMs)
      const states =
        claimed.length === 0 ? [] : yield* consents.states(claimed.map((m) => m.to_number))
      return { claimed, states }
    })
    if (claimed.length === 0) return 'idle'
    const consent = statesByPhone(states)
    // The batch shares one lease: a message may wait for pacing while its send (with its own
    // timeout) and the record of the outcome still fit in it, then goes back to the queue.
    const paceBudget = Math.max(0, (leaseMs - this.#o.config.providerTimeoutMs) / 2)
    const paceSignal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(paceBudget)])
    let suppressed: ReadonlySet<string>
    try {
      suppressed = await this.#o.store.routing.suppressedAmong(claimed.map((m) => m.to_number))
    } catch (err) {
      // The rows keep their lease and return when it ends: nothing is lost.
      this.#o.logger.error({ err }, 'reading suppressions failed')
      return 'more'
    }
    for (const m of claimed) {
      this.#inflight++
      void this.#dispatch(m, paceSignal, suppressed, consent)
    }
    return claimed.length === limit ? 'more' : 'idle'
  }

  async #dispatch(
    m: MessageRecord,
    paceSignal: AbortSignal,
    suppressed: ReadonlySet<string>,
    consent: ConsentStates,
  ): Promise<void> {
    try {
      // A keyword's reply (the confirmation of an opt-out, a HELP answer) is the one message a
      // number that opted out may still get: consent does not hold it back.
      const states = isKeywordReply(m) ? undefined : consent.get(m.to_number)
      await this.#outcomes.push(await this.#dispatcher.dispatch(m, paceSignal, suppressed, states))
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
}

/**
 * A provider's own opt-out signal (Twilio 21610 and its equivalents) is also an opt-out in the
 * consent ledger, source `provider`, of the sender it was sent from. A send from an instance's
 * default sender (`@instance`, a Twilio Messaging Service) names no sender: it stays in the
 * provider suppressions only.
 */
function providerOptOuts(list: readonly Suppression[], now: number): ConsentEntry[] {
  return list
    .filter((s) => !s.senderKey.startsWith('@'))
    .map((s) => ({
      phone: s.recipient,
      action: 'opt_out',
      scope: s.senderKey,
      source: 'provider',
      disclosure: null,
      evidence: { provider: s.provider, errorCode: s.errorCode },
      at: now,
    }))
}

/** The store's record of a dispatch decision. */
function outcomeWrite(d: Dispatched): OutcomeWrite {
  switch (d.kind) {
    case 'sent':
      return {
        kind: 'sent',
        id: d.id,
        provider: d.provider,
        providerMessageIds: d.providerMessageIds,
        sender: d.sender,
        errorCode: d.errorCode,
        errorMessage: d.errorMessage,
        ...(d.estimatedCost ? { estimatedCost: d.estimatedCost } : {}),
        ...(d.price ? { price: d.price } : {}),
        ...(d.attempt ? { attempt: d.attempt } : {}),
      }
    case 'final': {
      const { suppression: _, attempt, ...rest } = d
      return { ...rest, ...(attempt ? { attempt } : {}) }
    }
    case 'retry':
    case 'release':
      return d
  }
}

import type { Logger } from 'pino'
import { Agent, request, type Dispatcher } from 'undici'
import { newId } from '../domain/ids.js'
import { splitUserInfo } from '../domain/webhooks/callback-url.js'
import type { WebhookDeliveryRecord } from '../domain/webhooks/delivery.js'
import { classifyDeliveryError, type DeliveryFailure } from '../domain/webhooks/failure.js'
import { signWebhook } from '../domain/webhooks/signing.js'
import { createGuardedDispatcher, type GuardOptions } from '../net/destination-guard.js'
import type { DeliveryAttempt } from '../store/webhook.repo.js'
import type { Store } from '../store/store.js'
import { PollingLoop } from './loop.js'

export interface WebhookWorkerOptions {
  store: Store
  logger: Logger
  /**
   * Secrets for a delivery: its endpoint's, or the global ones for per-message callbacks (two
   * during a rotation's overlap: each signs). Undefined: the endpoint was removed.
   */
  keys: {
    refresh(): Promise<void>
    for(endpointId: string | null): readonly string[] | undefined
  }
  timeoutMs: number
  /** Seconds to wait before each retry; the delivery fails after the last. */
  retryScheduleSeconds: readonly number[]
  pollMs: number
  /**
   * WEBHOOK_ALLOW_PRIVATE: connect to loopback and private addresses too (development).
   * Otherwise every connection goes through the destination guard.
   */
  allowPrivate: boolean
  /** The guard's resolver and connector (tests inject them). */
  guard?: GuardOptions
  /** Deliveries in flight at once, and of those at most `perDestination` to one destination. */
  maxInFlight?: number
  perDestination?: number
  now?: () => number
  random?: () => number
}

const MAX_IN_FLIGHT = 50
const PER_DESTINATION = 4

/**
 * Delivers outbound webhooks (Standard Webhooks v1): signed per attempt, retried on the
 * schedule with ±10% jitter, every attempt recorded. 2xx succeeds; 410 Gone stops at once.
 * Deliveries run independently: the worker keeps claiming into free slots while others are
 * in flight, with a cap per destination (endpoint, or statusCallback origin) so one slow
 * receiver holds only its own slots.
 */
export class WebhookWorker {
  readonly owner = newId('wrk')
  readonly #o: WebhookWorkerOptions
  readonly #loop: PollingLoop
  readonly #now: () => number
  readonly #random: () => number
  readonly #dispatcher: Dispatcher
  readonly #maxInFlight: number
  readonly #perDestination: number
  /** In-flight deliveries by id, and how many each destination has. */
  readonly #inFlight = new Map<string, Promise<void>>()
  readonly #busy = new Map<string, number>()
  /** Attempts finished and not yet recorded. */
  #finished: DeliveryAttempt[] = []

  constructor(o: WebhookWorkerOptions) {
    this.#o = o
    this.#now = o.now ?? Date.now
    this.#random = o.random ?? Math.random
    this.#maxInFlight = o.maxInFlight ?? MAX_IN_FLIGHT
    this.#perDestination = o.perDestination ?? PER_DESTINATION
    this.#dispatcher = o.allowPrivate
      ? new Agent()
      : createGuardedDispatcher({ connectTimeoutMs: o.timeoutMs, ...o.guard })
    this.#loop = new PollingLoop(
      () => this.#tick(),
      o.pollMs,
      (err) => o.logger.error({ err }, 'webhook worker tick failed'),
    )
  }

  start(): void {
    this.#loop.start()
  }

  wake(): void {
    this.#loop.wake()
  }

  /** Stops claiming, lets in-flight deliveries finish (each within the timeout), records them. */
  async stop(): Promise<void> {
    await this.#loop.stop()
    await Promise.all(this.#inFlight.values())
    try {
      await this.#record()
    } finally {
      // Even when the last record fails (its deliveries are retried after their lease), the
      // connections close: an open pool would keep the process alive.
      await this.#dispatcher.close()
    }
  }

  async #record(): Promise<void> {
    if (this.#finished.length === 0) return
    const done = this.#finished
    this.#finished = []
    await this.#o.store.tx(() => this.#o.store.webhooks.recordAttempts(this.owner, done))
  }

  async #tick(): Promise<'more' | 'idle'> {
    await this.#record()
    const free = this.#maxInFlight - this.#inFlight.size
    if (free <= 0) return 'idle' // a finishing delivery wakes the loop
    const leaseMs = this.#o.timeoutMs + 30_000
    const claimed = await this.#o.store.tx(() =>
      this.#o.store.webhooks.claim(
        this.owner,
        free,
        this.#now(),
        leaseMs,
        this.#perDestination,
        this.#busy,
      ),
    )
    if (claimed.length > 0) await this.#o.keys.refresh()
    for (const d of claimed) this.#start(d)
    return claimed.length === free ? 'more' : 'idle'
  }

  #start(d: WebhookDeliveryRecord): void {
    const destination = d.destination
    this.#busy.set(destination, (this.#busy.get(destination) ?? 0) + 1)
    const run = this.#deliver(d).then((attempt) => {
      this.#finished.push(attempt)
      this.#inFlight.delete(d.id)
      const left = (this.#busy.get(destination) ?? 1) - 1
      if (left > 0) this.#busy.set(destination, left)
      else this.#busy.delete(destination)
      this.#loop.wake()
    })
    this.#inFlight.set(d.id, run)
  }

  async #deliver(d: WebhookDeliveryRecord): Promise<DeliveryAttempt> {
    const attempt = d.attempts + 1
    const started = this.#now()
    // The duration by the monotonic clock: the wall clock may jump (NTP, an injected clock).
    const startedMono = performance.now()
    const secrets = this.#o.keys.for(d.endpoint_id)
    if (!secrets?.length) {
      // Its endpoint left the configuration after the event: drop it, with the reason.
      const base = { id: d.id, attempt, at: started, durationMs: 0, statusCode: null }
      return { ...base, error: 'endpoint_removed', result: { status: 'dropped' } }
    }
    let statusCode: number | null = null
    let error: DeliveryFailure | null = null
    let retryAfterMs = 0
    const timestamp = Math.floor(started / 1000)
    try {
      // User info in the URL is sent as Basic auth, never as part of the request line.
      const target = splitUserInfo(d.url)
      const res = await request(target.url, {
        method: 'POST',
        body: d.payload,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Switchboard-Webhooks/1',
          'webhook-id': d.id,
          'webhook-timestamp': String(timestamp),
          // Two during a rotation's overlap, space-separated (Standard Webhooks).
          'webhook-signature': secrets
            .map((secret) => signWebhook(secret, d.id, timestamp, d.payload))
            .join(' '),
          ...(target.authorization ? { authorization: target.authorization } : {}),
        },
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        dispatcher: this.#dispatcher,
      })
      statusCode = res.statusCode
      const retryAfter = Number(res.headers['retry-after'])
      if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = retryAfter * 1000
      await res.body.dump()
    } catch (err) {
      // Only the classified reason is kept: the error's text names what was tried.
      error = classifyDeliveryError(err)
    }
    const at = this.#now()
    const durationMs = Math.round(performance.now() - startedMono)
    const base = { id: d.id, attempt, at, durationMs, statusCode, error }
    if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
      return { ...base, result: { status: 'succeeded' } }
    }
    const delaySeconds = this.#o.retryScheduleSeconds[attempt - 1]
    if (statusCode === 410 || delaySeconds === undefined) {
      this.#o.logger.warn(
        { deliveryId: d.id, attempt, statusCode, error },
        'webhook delivery gave up',
      )
      return { ...base, result: { status: 'failed' } }
    }
    const jittered = delaySeconds * 1000 * (0.9 + 0.2 * this.#random())
    return {
      ...base,
      result: {
        status: 'pending',
        nextAttemptAt: Math.round(at + Math.max(jittered, retryAfterMs)),
      },
    }
  }
}

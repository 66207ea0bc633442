import type { Logger } from 'pino'
import { request, type Dispatcher } from 'undici'
import { newId } from '../domain/ids.js'
import type { WebhookDeliveryRecord } from '../domain/webhooks/delivery.js'
import { signWebhook } from '../domain/webhooks/signing.js'
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
  dispatcher?: Dispatcher
  now?: () => number
  random?: () => number
}

const BATCH = 50

/**
 * Delivers outbound webhooks (Standard Webhooks v1): signed per attempt, retried on the
 * schedule with ±10% jitter, every attempt recorded. 2xx succeeds; 410 Gone stops at once.
 */
export class WebhookWorker {
  readonly owner = newId('wrk')
  readonly #o: WebhookWorkerOptions
  readonly #loop: PollingLoop
  readonly #now: () => number
  readonly #random: () => number

  constructor(o: WebhookWorkerOptions) {
    this.#o = o
    this.#now = o.now ?? Date.now
    this.#random = o.random ?? Math.random
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

  stop(): Promise<void> {
    return this.#loop.stop()
  }

  async #tick(): Promise<'more' | 'idle'> {
    const leaseMs = this.#o.timeoutMs + 30_000
    const claimed = await this.#o.store.tx(() =>
      this.#o.store.webhooks.claim(this.owner, BATCH, this.#now(), leaseMs),
    )
    if (claimed.length === 0) return 'idle'
    await this.#o.keys.refresh()
    const attempts = await Promise.all(claimed.map((d) => this.#deliver(d)))
    await this.#o.store.tx(() => this.#o.store.webhooks.recordAttempts(this.owner, attempts))
    return claimed.length === BATCH ? 'more' : 'idle'
  }

  async #deliver(d: WebhookDeliveryRecord): Promise<DeliveryAttempt> {
    const attempt = d.attempts + 1
    const started = this.#now()
    const secrets = this.#o.keys.for(d.endpoint_id)
    let statusCode: number | null = null
    let error: string | null = null
    let retryAfterMs = 0
    if (!secrets?.length) {
      // Its endpoint left the configuration after the event: drop it, with the reason.
      const at = this.#now()
      const base = { id: d.id, attempt, at, durationMs: 0, statusCode: null }
      return { ...base, error: 'endpoint_removed', result: { status: 'dropped' } }
    } else {
      const timestamp = Math.floor(started / 1000)
      try {
        const res = await request(d.url, {
          method: 'POST',
          body: d.payload,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Switchboard-Webhooks/1',
            'webhook-id': d.id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': secrets
              .map((secret) => signWebhook(secret, d.id, timestamp, d.payload))
              .join(' '),
          },
          signal: AbortSignal.timeout(this.#o.timeoutMs),
          ...(this.#o.dispatcher ? { dispatcher: this.#o.dispatcher } : {}),
        })
        statusCode = res.statusCode
        const retryAfter = Number(res.headers['retry-after'])
        if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = retryAfter * 1000
        await res.body.dump()
      } catch (err) {
        error =
          err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : 'request failed'
      }
    }
    const at = this.#now()
    const base = { id: d.id, attempt, at, durationMs: at - started, statusCode, error }
    if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
      return { ...base, result: { status: 'succeeded' } }
    }
    const delaySeconds = this.#o.retryScheduleSeconds[attempt - 1]
    if (statusCode === 410 || delaySeconds === undefined) {
      this.#o.logger.warn({ deliveryId: d.id, attempt, statusCode }, 'webhook delivery gave up')
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

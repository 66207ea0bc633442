import type { Logger } from 'pino'
import { receivedMessage } from '../domain/messages/inbound.js'
import type { ProviderEvent } from '../providers/provider.js'
import type { Store } from '../store/store.js'
import { noInboundEffect, type InboundEffect } from '../usecases/inbound.js'
import { parkedReport } from './jobs/provider-report.job.js'
import { Batcher } from './loop.js'

type StatusReport = Extract<ProviderEvent, { type: 'status' }>
/** Parts of one concatenated SMS at most: its UDH counts them in one byte. */
const MAX_PARTS = 255
type Inbound = Extract<ProviderEvent, { type: 'inbound' }>

/** Where provider webhook routes hand their events: resolves once they are durably applied. */
export interface ReportSink {
  ingest(provider: string, events: readonly ProviderEvent[]): Promise<void>
}

/**
 * Applies provider events: delivery reports in batched monotonic updates, inbound SMS as
 * `received` messages. A report that matches no message yet (it can overtake the worker's
 * own record of the send) becomes a job and is tried again later, never dropped at once.
 */
export class ReportIngestor implements ReportSink {
  readonly #batcher: Batcher<{ provider: string; report: StatusReport }, undefined>

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    /** What an inbound SMS sets off, in the transaction that stores it (src/usecases/inbound.ts). */
    readonly afterInbound: InboundEffect = noInboundEffect,
  ) {
    this.#batcher = new Batcher<{ provider: string; report: StatusReport }, undefined>(
      async (items) => {
        const byProvider = new Map<string, StatusReport[]>()
        for (const { provider, report } of items) {
          const list = byProvider.get(provider) ?? []
          list.push(report)
          byProvider.set(provider, list)
        }
        for (const [provider, reports] of byProvider) await this.apply(provider, reports)
        return items.map(() => undefined)
      },
      2000,
    )
  }

  /** Provider event sink: fire-and-forget for in-process providers. */
  readonly sink = (provider: string, events: ProviderEvent[]): void => {
    this.ingest(provider, events).catch((err: unknown) =>
      this.logger.error({ err, provider }, 'ingesting provider events failed'),
    )
  }

  /** Resolves once the events are durably applied (webhook routes acknowledge after this). */
  async ingest(provider: string, untrusted: readonly ProviderEvent[]): Promise<void> {
    const events = untrusted.flatMap((e) => this.#sanitize(e))
    if (events.length < untrusted.length) {
      this.logger.warn(
        { provider, dropped: untrusted.length - events.length },
        'malformed provider events dropped',
      )
    }
    const inbound = events.filter((e): e is Inbound => e.type === 'inbound')
    const waits: Promise<unknown>[] = events
      .filter((e): e is StatusReport => e.type === 'status')
      .map((report) => this.#batcher.push({ provider, report }))
    if (inbound.length > 0) waits.push(this.#storeInbound(provider, inbound))
    await Promise.all(waits)
  }

  /**
   * Provider input is untrusted even when signed: identifiers must be short printable text
   * (a NUL cannot be stored by PostgreSQL) and times plausible, else one bad event would fail
   * the whole batch it lands in.
   */
  #sanitize(e: ProviderEvent): ProviderEvent[] {
    const id = (v: string | undefined) =>
      v === undefined || (v.length > 0 && v.length <= 128 && ![...v].some((c) => c < ' '))
    const now = this.now()
    const at =
      Number.isInteger(e.at) && e.at > 946_684_800_000 && e.at < now + 86_400_000 ? e.at : now
    if (!id(e.providerMessageId)) return []
    const count = (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_PARTS
    if (e.type === 'status') {
      if (!id(e.messageId)) return []
      const part = e.part
      if (part && (!id(part.id) || !count(part.number) || !count(part.total))) return []
      if (part && part.number > part.total) return []
      const price = e.price
      if (price && !(Number.isFinite(price.amount) && /^[A-Z]{3}$/.test(price.currency))) {
        return []
      }
      return [{ ...e, at }]
    }
    if (!id(e.from) || !id(e.to) || e.body.includes('\u0000')) return []
    if (e.concat) {
      // A part number outside 1..total, or more parts than an SMS may be cut into, would
      // leave parts waiting for a message that can never be whole.
      const { ref, part, total } = e.concat
      if (!id(ref) || !count(part) || !count(total) || part > total) return []
    }
    return [{ ...e, at }]
  }

  /** Applies reports; unmatched ones are parked as `provider_report` jobs (the job catalog). */
  async apply(provider: string, reports: StatusReport[]): Promise<void> {
    const now = this.now()
    const unmatched = await this.store.tx(() =>
      this.store.messages.applyReports(provider, reports, now),
    )
    if (unmatched.length === 0) return
    await this.store.tx(() =>
      this.store.jobs.enqueue(unmatched.map((report) => parkedReport(provider, report, now))),
    )
  }

  /** Applies a parked report again (its job's run); `false` when it still matches nothing. */
  readonly applyParked = async (provider: string, report: StatusReport): Promise<boolean> => {
    const now = this.now()
    const unmatched = await this.store.tx(() =>
      this.store.messages.applyReports(provider, [report], now),
    )
    return unmatched.length === 0
  }

  async #storeInbound(provider: string, events: Inbound[]): Promise<void> {
    const now = this.now()
    const { inbound } = this.store
    const after = this.afterInbound
    await this.store.tx(function* () {
      const stored = yield* inbound.store(provider, events, (p, t) => receivedMessage(p, t, now))
      if (stored.length > 0) yield* after(stored, now)
    })
  }
}

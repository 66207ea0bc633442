import { randomUUID } from 'node:crypto'
import type {
  OutboundSms,
  ProviderEvent,
  ProviderEventSink,
  ProviderRecords,
  SendResult,
  SmsProvider,
} from '../provider.js'
import { SimulatorCore, type SimulatorReport, type SubmitOutcome } from './simulator-core.js'
import type { SimulatorOptions } from './simulator-options.js'

/** Options of the in-process simulator adapter. */
export type SimulatorProviderOptions = SimulatorOptions & {
  name?: string
  /** The numbers it owns (SIMULATOR_NUMBERS); a message without a sender goes from the first. */
  numbers?: readonly string[]
}

/** An SMS a simulated phone sends to one of the simulator's numbers. */
export interface SimulatedText {
  readonly from: string
  readonly to: string
  readonly body: string
}

/** The in-process simulator: a provider that also stands for the phones it reaches. */
export type SimulatorProvider = SmsProvider & {
  readonly core: SimulatorCore
  readonly numbers: readonly string[]
  /**
   * A phone's SMS to one of its numbers, as the provider's inbound event (what a gateway's
   * inbound webhook carries); the caller ingests it like any provider webhook's events.
   */
  inbound(text: SimulatedText, at: number): Extract<ProviderEvent, { type: 'inbound' }>
  /**
   * The handset: the texts of secret SMS (verification codes) it received, by message id,
   * kept in memory only (the newest HANDSET_LIMIT), as a phone would show them.
   */
  handset(ids: readonly string[]): Map<string, string>
}

/** Secret texts the simulated handset keeps (the oldest go first). */
export const HANDSET_LIMIT = 10_000

export const isSimulatorProvider = (p: SmsProvider): p is SimulatorProvider =>
  p.type === 'simulator' && 'inbound' in p

/** The one place a simulator decision becomes a normalised send result. */
export function outcomeToSendResult(outcome: SubmitOutcome): SendResult {
  switch (outcome.kind) {
    case 'accepted':
      return { outcome: 'accepted', providerMessageIds: [outcome.providerMessageId] }
    case 'server_error':
      return { outcome: 'retry', code: 'provider_unavailable' }
    case 'rate_limited':
      return { outcome: 'retry', code: 'provider_rate_limited', after: outcome.retryAfterMs }
    case 'timeout':
      return { outcome: 'retry', code: 'provider_timeout' }
    case 'invalid_number':
      return { outcome: 'rejected', code: 'invalid_number' }
    case 'opted_out':
      return { outcome: 'rejected', code: 'recipient_opted_out', suppress: true }
  }
}

/** Converts a simulator delivery report to a provider event. */
export function toProviderEvent(report: SimulatorReport): ProviderEvent {
  const event: ProviderEvent = {
    type: 'status',
    messageId: report.messageId,
    providerMessageId: report.providerMessageId,
    status: report.status,
    at: report.at,
  }
  if (report.errorCode !== undefined) event.errorCode = report.errorCode
  return event
}

function reportError(error: unknown): void {
  const text = error instanceof Error ? error.message : String(error)
  process.emitWarning(`simulator could not recover its pending reports: ${text}`)
}

/** Resolves after `ms`, or early with `false` when `signal` aborts. */
function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false)
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * In-process simulator provider. `send()` waits the deterministic latency (no timer at all
 * when it is 0), then asks the core. An abort during the latency returns `provider_timeout`
 * and the attempt never reaches the core. Delivery reports flow to the sink passed to
 * `start()`. The simulator stands for an outside provider, which keeps reporting whatever
 * happens to Switchboard: its pending reports live in memory, so `start()` reads from
 * `records` the messages it accepted before (a crash or a restart) that still wait for their
 * report, and reports them as decided then, once their delay has passed.
 *
 * @example
 * const sim = createSimulatorProvider({ transientRate: 0.05 })
 * sim.start((name, events) => handle(name, events))
 * await sim.send(sms, AbortSignal.timeout(5000))
 */
export function createSimulatorProvider(options: SimulatorProviderOptions = {}): SimulatorProvider {
  const { name = 'simulator', numbers = ['+15005550006'], ...coreOptions } = options
  const core = new SimulatorCore(coreOptions)
  const dlrDelayMs = coreOptions.dlrDelayMs ?? 50
  let stopped = false
  const handset = new Map<string, string>()
  let recovery: Promise<void> = Promise.resolve()
  /** Runs beside new sends, a page at a time; a recovered report waits at most one delay. */
  const recover = async (records: ProviderRecords): Promise<void> => {
    try {
      for await (const page of records.awaitingReport()) {
        if (stopped) return
        const now = Date.now()
        for (const m of page) core.requeueReport(m, m.sentAt + dlrDelayMs - now)
      }
    } catch (error) {
      ;(coreOptions.onError ?? reportError)(error)
    }
  }
  return {
    name,
    type: 'simulator',
    // The core answers a repeated (id, attempt-independent) submission with its first id.
    deduplicates: coreOptions.dedupe ?? true,
    ...(numbers[0] === undefined ? {} : { defaultSender: numbers[0] }),
    core,
    numbers,
    inbound(text, at) {
      const { from, to, body } = text
      return { type: 'inbound', providerMessageId: `SIMI${randomUUID()}`, from, to, body, at }
    },
    handset(ids) {
      const out = new Map<string, string>()
      for (const id of ids) {
        const text = handset.get(id)
        if (text !== undefined) out.set(id, text)
      }
      return out
    },
    async send(sms: OutboundSms, signal: AbortSignal): Promise<SendResult> {
      if (signal.aborted) return { outcome: 'retry', code: 'provider_timeout' }
      const latency = core.latencyFor(sms.id, sms.attempt)
      if (latency > 0 && !(await delay(latency, signal))) {
        return { outcome: 'retry', code: 'provider_timeout' }
      }
      const result = outcomeToSendResult(core.submit(sms))
      if (sms.secret === true && result.outcome === 'accepted') {
        handset.delete(sms.id)
        handset.set(sms.id, sms.body)
        if (handset.size > HANDSET_LIMIT) handset.delete(handset.keys().next().value as string)
      }
      return result
    },
    start(sink: ProviderEventSink, records?: ProviderRecords): void {
      stopped = false
      core.setReportHandler((reports) => sink(name, reports.map(toProviderEvent)))
      if (records) recovery = recover(records)
    },
    async stop(): Promise<void> {
      stopped = true
      core.close()
      await recovery
    },
  }
}

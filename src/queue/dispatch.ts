import type { Logger } from 'pino'
import { optedOutScope, type ScopeStates } from '../domain/consent/enforce.js'
import { analyzeBody } from '../domain/messages/encoding.js'
import type { MessageRecord } from '../domain/messages/message.js'
import { decideRetry, type RetryDecision, type RetryPolicy } from '../domain/messages/retry.js'
import { holdDetail, type QuietHours } from '../domain/quiet-hours/quiet-hours.js'
import { OUTCOME_UNKNOWN, planAfterFailure, selectInstance } from '../domain/routing/failover.js'
import type { Cost, PriceTable } from '../domain/routing/prices.js'
import type { ProviderMonitor, SendVerdict } from '../domain/routing/provider-monitor.js'
import { countryOf, type Router } from '../domain/routing/router.js'
import type { Price, SendResult, SmsProvider } from '../providers/provider.js'
import type { AttemptRecord } from '../store/outcome-write.js'
import type { Revealed } from '../store/verify.repo.js'
import { senderKey, type Suppression } from '../store/routing.repo.js'

/**
 * The pacing hook, called before each send once its provider instance and sender are chosen:
 * resolves when `segments` more segments may go to instance `provider` from `sender` (null:
 * the instance's default sender), now or after a wait. It rejects when `signal` aborts (the
 * worker is stopping, or the message's lease would end before its send could): the message
 * then goes back to the queue without using up an attempt, and is claimed again at once. A
 * rejection named `PacingDeferred` with a time `at` (src/queue/pacing/pacer.ts: no slot soon)
 * sends it back until then instead. The send's own timeout starts after it resolves. Default:
 * no wait.
 *
 * @example
 * const pace: PaceFn = (provider, sender, segments, signal) =>
 *   limiter.take(`${provider}|${sender ?? ''}`, segments, signal)
 */
export type PaceFn = (
  provider: string,
  sender: string | null,
  segments: number,
  signal: AbortSignal,
) => Promise<void>

export const noPacing: PaceFn = async () => undefined

/** The time a pacing rejection named `PacingDeferred` gives the message back until. */
function pacedUntil(err: unknown): number | undefined {
  const e = err as { name?: unknown; at?: unknown } | null
  return e?.name === 'PacingDeferred' && typeof e.at === 'number' ? e.at : undefined
}

/** What dispatch decided for one claimed message. */
export type Dispatched =
  | {
      kind: 'sent'
      id: string
      provider: string
      sender: string | null
      /** Empty when its outcome is unknown and it is sent no more (`errorCode` says so). */
      providerMessageIds: readonly string[]
      errorCode: typeof OUTCOME_UNKNOWN | null
      errorMessage: string | null
      estimatedCost?: Cost | undefined
      price?: Price | undefined
      /** Absent when no send was made now (its unknown send was an earlier attempt). */
      attempt?: AttemptRecord | undefined
    }
  | {
      kind: 'retry'
      id: string
      provider: string
      nextAttemptAt: number
      errorCode: string
      errorMessage: string | null
      attempt: AttemptRecord
    }
  | {
      kind: 'final'
      id: string
      provider: string | null
      /** `rejected`: Switchboard refused it before any provider call (an opt-out). */
      status: 'failed' | 'expired' | 'rejected'
      errorCode: string
      errorMessage: string | null
      attempt?: AttemptRecord | undefined
      /** The recipient opted out of the sender: record it with this outcome. */
      suppression?: Suppression | undefined
    }
  | {
      /** Not sent: back to the queue without using up an attempt. */
      kind: 'release'
      id: string
      nextAttemptAt: number
      /** null: the message keeps the error code it had. */
      errorCode: string | null
      /** Why, for its timeline (default: not sent, retry at). */
      detail?: string | undefined
    }

export interface DispatchOptions {
  readonly providers: ReadonlyMap<string, SmsProvider>
  readonly router: Router
  readonly monitor: ProviderMonitor
  readonly prices: PriceTable
  readonly pace: PaceFn
  readonly policy: RetryPolicy
  /** Each send's own time limit, from the moment its request starts. */
  readonly providerTimeoutMs: number
  readonly logger: Logger
  readonly now: () => number
  readonly random?: () => number
  /**
   * Marketing messages go only inside their recipient's window: one claimed outside it (due
   * after a retry, a backlog, a release) goes back until it opens, and a retry is set for it.
   */
  readonly quietHours?: QuietHours
  /**
   * Opens the real text of a verification SMS (its stored body is redacted): the text, or
   * `closed` when its verification ended (it is then not sent: `expired`), or `none`.
   */
  readonly reveal?: (verificationId: string, messageId: string, now: number) => Promise<Revealed>
}

/** The verification a message's metadata names (Verify sets it), or null. */
export function verificationOf(m: MessageRecord): string | null {
  if (m.metadata === null || !m.metadata.includes('"verificationId"')) return null
  try {
    const id = (JSON.parse(m.metadata) as { verificationId?: unknown }).verificationId
    return typeof id === 'string' ? id : null
  } catch {
    return null
  }
}

/**
 * Route -> pace -> send for one claimed message: chooses its route and sender, the provider
 * instance by failover order and circuit state, skips suppressed recipients, waits for pacing,
 * sends with its own timeout, feeds the instance's health and circuit, and decides what follows
 * (docs/routing.md). Expected outcomes are data; nothing here throws for a provider's answer.
 */
export class Dispatcher {
  readonly #o: DispatchOptions
  readonly #exists: (name: string) => boolean

  constructor(o: DispatchOptions) {
    this.#o = o
    this.#exists = (name) => o.providers.has(name)
  }

  /**
   * `suppressed`: keys `${senderKey}|${recipient}` of the claimed batch's recipients.
   * `consent`: the recipient's consent state per scope, read when the message was claimed.
   * `paceSignal` aborts pacing waits (stop, or the batch's lease running short).
   */
  async dispatch(
    m: MessageRecord,
    paceSignal: AbortSignal,
    suppressed: ReadonlySet<string>,
    consent?: ScopeStates,
  ): Promise<Dispatched> {
    const { monitor, now } = this.#o
    const start = now()
    if (start >= m.valid_until) return expired(m, null)
    const quiet = m.type === 'marketing' ? this.#o.quietHours?.hold(m.to_number, start) : null
    if (quiet) {
      // Until the window opens, or until the validity ends (the next claim expires it).
      return {
        kind: 'release',
        id: m.id,
        nextAttemptAt: Math.min(quiet.until, m.valid_until),
        errorCode: null,
        detail: holdDetail(quiet),
      }
    }
    const choice = this.#o.router.choose({ to: m.to_number, type: m.type, from: m.from_number })
    if (!choice) {
      return {
        kind: 'final',
        id: m.id,
        provider: null,
        status: 'failed',
        errorCode: 'no_route',
        errorMessage: null,
      }
    }
    // The recipient opted out after the message was accepted: it ends `rejected`, unsent.
    const optedOut = optedOutScope(consent, m.type, choice.sender)
    if (optedOut !== null)
      return optedOutRejection(m, optedOut === choice.sender ? 'sender' : optedOut)
    const last = { provider: m.provider, code: m.error_code }
    const sel = selectInstance(choice.route, last, monitor, start, this.#exists)
    if (sel.outcome === 'wait') {
      return {
        kind: 'release',
        id: m.id,
        nextAttemptAt: Math.min(sel.until, m.valid_until),
        errorCode: sel.code,
      }
    }
    if (sel.outcome === 'stop') return givenUp(m, m.provider ?? '', choice.sender, undefined)
    const provider = this.#o.providers.get(sel.provider) as SmsProvider
    const sender = choice.sender
    // Without a sender of its own or its route's it goes out from the provider's default (the
    // simulator's first number): an opt-out of that sender holds too.
    const byDefault =
      sender === null && provider.defaultSender !== undefined
        ? optedOutScope(consent, m.type, provider.defaultSender)
        : null
    if (byDefault !== null) {
      monitor.cancel(provider.name, sel.probe)
      return optedOutRejection(m, 'sender')
    }
    const key = senderKey(sender, provider.name)
    if (suppressed.has(`${key}|${m.to_number}`)) {
      monitor.cancel(provider.name, sel.probe)
      return {
        kind: 'final',
        id: m.id,
        provider: provider.name,
        status: 'failed',
        errorCode: 'recipient_opted_out',
        errorMessage: 'the recipient opted out of this sender; not sent',
      }
    }
    // A verification SMS goes out with its real text, opened now; the log keeps it redacted.
    let text: string | undefined
    const verificationId = this.#o.reveal ? verificationOf(m) : null
    if (verificationId !== null && this.#o.reveal) {
      let r: Revealed
      try {
        r = await this.#o.reveal(verificationId, m.id, now())
      } catch (err) {
        monitor.cancel(provider.name, sel.probe)
        this.#o.logger.warn({ err, messageId: m.id }, 'opening a verification text failed')
        return {
          kind: 'release',
          id: m.id,
          nextAttemptAt: Math.min(now() + 1000, m.valid_until),
          errorCode: null,
        }
      }
      if (r.kind === 'closed') {
        monitor.cancel(provider.name, sel.probe)
        return expired(m, provider.name)
      }
      if (r.kind === 'text') text = r.text
    }
    try {
      await this.#o.pace(provider.name, sender, m.segments, paceSignal)
    } catch (err) {
      monitor.cancel(provider.name, sel.probe)
      return {
        kind: 'release',
        id: m.id,
        nextAttemptAt: Math.min(pacedUntil(err) ?? now(), m.valid_until),
        errorCode: null,
      }
    }
    if (now() >= m.valid_until) {
      monitor.cancel(provider.name, sel.probe)
      return expired(m, provider.name)
    }
    return this.#send(m, provider, sender, sel.probe, choice.route, text)
  }

  async #send(
    m: MessageRecord,
    provider: SmsProvider,
    sender: string | null,
    probe: boolean,
    route: Parameters<typeof planAfterFailure>[0],
    secretText: string | undefined,
  ): Promise<Dispatched> {
    const { now, monitor } = this.#o
    // No sender of its own or its route's: the provider's default one, when it names it (the
    // simulator's first number), is what goes out and is recorded. Suppression and pacing keep
    // the instance's key (`@instance`), as they were checked before the send.
    const from = sender ?? provider.defaultSender ?? null
    const startedAt = now()
    const timeout = new AbortController()
    const timer = setTimeout(() => timeout.abort(), this.#o.providerTimeoutMs)
    const text = secretText ?? m.body
    let result: SendResult
    try {
      result = await provider.send(
        {
          id: m.id,
          to: m.to_number,
          from,
          body: m.smart_encoding === 1 ? analyzeBody(text, { smartEncoding: true }).text : text,
          encoding: m.encoding,
          segments: m.segments,
          validUntil: m.valid_until,
          attempt: m.attempts,
          ...(secretText === undefined ? {} : { secret: true }),
        },
        timeout.signal,
      )
    } catch (err) {
      this.#o.logger.warn({ err, messageId: m.id, provider: provider.name }, 'provider threw')
      result = { outcome: 'retry', code: 'provider_connection_error' }
    } finally {
      clearTimeout(timer)
    }
    const endedAt = now()
    const latencyMs = Math.max(0, endedAt - startedAt)
    monitor.record(provider.name, probe, verdictOf(result), latencyMs, endedAt)
    const taken = result.outcome === 'accepted' || result.outcome === 'unknown'
    const cost = taken
      ? this.#o.prices.estimate(provider.name, () => countryOf(m.to_number), m.segments)
      : undefined
    const attempt: AttemptRecord = {
      number: m.attempts,
      provider: provider.name,
      sender: from,
      startedAt,
      endedAt,
      outcome: result.outcome,
      errorCode: result.outcome === 'accepted' ? null : result.code,
      latencyMs,
      // Counted for a send that was (or may have been) taken: accepted, or outcome unknown.
      ...(cost ? { cost } : {}),
    }
    switch (result.outcome) {
      case 'accepted':
        return {
          kind: 'sent',
          id: m.id,
          provider: provider.name,
          sender: from,
          providerMessageIds: result.providerMessageIds,
          errorCode: null,
          errorMessage: null,
          estimatedCost: cost,
          price: result.price,
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
          suppression: result.suppress
            ? {
                recipient: m.to_number,
                senderKey: senderKey(sender, provider.name),
                provider: provider.name,
                errorCode: result.code,
              }
            : undefined,
        }
      case 'retry':
      case 'unknown': {
        const plan = planAfterFailure(
          route,
          provider.name,
          result.outcome,
          provider.deduplicates,
          monitor,
          endedAt,
        )
        if (plan === 'give_up_unknown') return givenUp(m, provider.name, from, attempt)
        const d = this.#inWindow(
          m,
          decideRetry(
            m,
            {
              outcome: 'retry',
              code: result.code,
              ...(result.outcome === 'retry' && result.after !== undefined
                ? { after: result.after }
                : {}),
              ...(result.message === undefined ? {} : { message: result.message }),
            },
            endedAt,
            this.#o.policy,
            this.#o.random,
            plan === 'failover' ? 0 : undefined,
          ),
          result.code,
        )
        // Out of attempts or time after a send that may have reached the phone: it stays
        // `sent`, outcome unknown, where a later delivery report can still find it.
        if (d.kind === 'final' && result.outcome === 'unknown') {
          return givenUp(m, provider.name, from, attempt)
        }
        if (d.kind === 'final') return { ...d, id: m.id, provider: provider.name, attempt }
        return { ...d, id: m.id, provider: provider.name, attempt }
      }
    }
  }

  /**
   * A marketing message's retry falls inside its recipient's window: moved to its opening,
   * or expired if the validity ends first.
   */
  #inWindow(m: MessageRecord, d: RetryDecision, code: string): RetryDecision {
    if (d.kind !== 'retry' || m.type !== 'marketing' || !this.#o.quietHours) return d
    const opens = this.#o.quietHours.nextSendTime(m.to_number, d.nextAttemptAt)
    if (opens === d.nextAttemptAt) return d
    if (opens >= m.valid_until) {
      return {
        kind: 'final',
        status: 'expired',
        errorCode: 'validity_expired',
        errorMessage: `last error: ${code}; quiet hours until ${new Date(opens).toISOString()}`,
      }
    }
    return { ...d, nextAttemptAt: opens }
  }
}

function verdictOf(r: SendResult): SendVerdict {
  if (r.outcome === 'accepted' || r.outcome === 'rejected') return 'success'
  return r.outcome === 'retry' && r.fault === 'instance' ? 'instance_fault' : 'failure'
}

function expired(m: MessageRecord, provider: string | null): Dispatched {
  return {
    kind: 'final',
    id: m.id,
    provider,
    status: 'expired',
    errorCode: 'validity_expired',
    errorMessage: null,
  }
}

/**
 * A send whose outcome is unknown and that may not be sent again: recorded `sent` through the
 * instance that had it, with no provider id and the code `provider_outcome_unknown`. It may have
 * reached the phone; a later delivery report naming our message id still moves it on.
 */
function givenUp(
  m: MessageRecord,
  provider: string,
  sender: string | null,
  attempt: AttemptRecord | undefined,
): Dispatched {
  return {
    kind: 'sent',
    id: m.id,
    provider,
    sender,
    providerMessageIds: [],
    errorCode: OUTCOME_UNKNOWN,
    errorMessage: 'the provider may have sent it; it is not sent again',
    attempt,
  }
}

/** A claimed message whose recipient opted out after it was accepted: `rejected`, unsent. */
function optedOutRejection(m: MessageRecord, scope: string): Dispatched {
  return {
    kind: 'final',
    id: m.id,
    provider: null,
    status: 'rejected',
    errorCode: 'recipient_opted_out',
    errorMessage: `the recipient opted out (scope ${scope}); not sent`,
  }
}

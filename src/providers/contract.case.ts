/**
 * The shared contract suite every SMS provider adapter runs (issue 8, point 10). An adapter's
 * test file calls {@link runProviderContract} with a `setup` that builds a
 * {@link ContractHarness}: a fresh adapter instance in front of a fake upstream the harness
 * steers (see src/providers/test-upstream.ts), plus the provider's documented tables (error
 * answers, status words) and signed callbacks made with the provider's own SDK.
 *
 * Every check has a stable id ({@link CONTRACT_CHECKS}). A harness that cannot run one says
 * why in `skip`; a check whose harness lacks what it needs and gives no reason fails, so a
 * forgotten capability is never a silent pass.
 *
 * @example
 * // src/providers/twilio/twilio.contract.test.ts
 * const upstream = await startUpstream({ fallback: twilioAccepts })
 * runProviderContract('twilio', ({ name }) => {
 *   const ctx = contractContext(name)
 *   return {
 *     provider: twilioType.create(settingsFor(upstream.url, name), ctx),
 *     ctx,
 *     upstream,
 *     read: readTwilioForm,
 *     // ... tables, signed callbacks from the twilio SDK ...
 *     close: async () => upstream.clear(),
 *   }
 * })
 */
import { randomBytes } from 'node:crypto'
import type {
  OutboundSms,
  Price,
  ProviderContext,
  ProviderErrorCode,
  ReportedStatus,
  SendResult,
  SmsProvider,
  WebhookAnswer,
  WebhookRequest,
} from './provider.js'
import type { RawAnswer, UpstreamRequest } from './test-upstream.js'
import { registerContractChecks, runContractCheck } from './contract/checks.js'

export type { RawAnswer, UpstreamRequest } from './test-upstream.js'
export { runContractCheck }

/** Every contract check, by stable id (what `skip` keys name). */
export const CONTRACT_CHECKS = [
  // The request as sent, read back through `read()`.
  'request.gsm',
  'request.unicode',
  'request.no_from',
  'request.reference',
  'request.callback_url',
  'request.keep_alive',
  // Classification of upstream answers.
  'errors.table',
  'errors.html_500',
  'errors.html_200',
  'errors.empty_200',
  'errors.empty_201',
  'errors.truncated_json',
  'errors.cut_body',
  'errors.reset',
  'errors.slow_drip',
  'auth.http_401',
  'auth.http_403',
  'auth.documented',
  'timeout.hang',
  'abort.after_request',
  'abort.before_send',
  'connection.refused',
  'multipart.ids',
  // Callbacks.
  'status.table',
  'status.pushed',
  'inbound.parse',
  'webhook.batch',
  'webhook.malformed',
  'webhook.unsigned',
  'webhook.get',
  'tamper.query',
  'tamper.header',
  'tamper.body',
  'tamper.url',
  'instances.side_by_side',
  // Through a real Switchboard.
  'route.inbound',
  'route.status',
  'route.tampered',
] as const

export type ContractCheckId = (typeof CONTRACT_CHECKS)[number]

/** Checks that need an HTTP upstream (for adapters without one, e.g. the in-process simulator). */
export const UPSTREAM_CHECKS = CONTRACT_CHECKS.filter((id) =>
  /^(request|errors|auth|timeout|abort|connection|multipart)\./.test(id),
)

/** Checks about HTTP callbacks (for adapters whose events never arrive by webhook). */
export const WEBHOOK_CHECKS = CONTRACT_CHECKS.filter((id) =>
  /^(status\.table|inbound|webhook|tamper|instances|route)/.test(id),
)

/** The same reason for several checks: `skip: { ...skipEach(WEBHOOK_CHECKS, 'why') }`. */
export function skipEach(
  ids: readonly ContractCheckId[],
  reason: string,
): Partial<Record<ContractCheckId, string>> {
  return Object.fromEntries(ids.map((id) => [id, reason]))
}

export type WebhookMethod = 'GET' | 'POST'

/**
 * One send request read back into provider-neutral fields by the harness (`read`), from the
 * provider's documented wire format (form or JSON; Vonage `to` without "+" is given back
 * with it). The suite compares these with the OutboundSms it sent.
 */
export interface SentFields {
  /** E.164 destination, "+" included. */
  readonly to: string
  /** The sender as sent; absent when the request names none (a Twilio Messaging Service). */
  readonly from?: string | undefined
  /** The text, decoded (form or JSON), byte for byte what the phone should show. */
  readonly body: string
  /**
   * The request's encoding flag (Vonage `type=unicode`): true for UCS-2, false for GSM-7.
   * `'auto'` where the API has no such flag and the provider detects the encoding from the
   * text (Twilio, Plivo): the suite then only checks that the text arrives intact.
   */
  readonly unicode: boolean | 'auto'
  /** Our message id, where the request carries one (Vonage `client-ref`). */
  readonly reference?: string | undefined
  /** The delivery-report URL the request registers (Twilio `StatusCallback`, Plivo `url`). */
  readonly callbackUrl?: string | undefined
  /**
   * Media type the harness read the body as, per the provider's documentation
   * (`application/x-www-form-urlencoded`, `application/json`). The suite checks the request's
   * Content-Type header says the same.
   */
  readonly contentType: string
}

/** A SendResult as a table states it: every field but the free-text `message`. */
export type ExpectedSendResult = SendResult extends infer R
  ? R extends unknown
    ? Omit<R, 'message'>
    : never
  : never

/** One documented upstream answer and how the adapter must classify it. */
export interface ErrorCase {
  /** What the row is, as a test title: `21610 unsubscribed recipient`. */
  readonly title: string
  readonly answer: RawAnswer
  /**
   * Compared exactly with the result minus `message`: `after` (Retry-After in ms), `fault`
   * and `suppress` must be present when stated here and absent when not.
   */
  readonly expect: ExpectedSendResult
}

/** An accepted answer arranged for one message, and what the adapter must report from it. */
export interface AcceptedAnswer {
  /** The raw answer to queue; absent when the upstream accepts on its own (no steering). */
  readonly answer?: RawAnswer
  /** The ids the adapter must report, in order; absent when the harness cannot know them. */
  readonly providerMessageIds?: readonly [string, ...string[]]
  /** The price the adapter must report from this answer (Vonage `message-price`). */
  readonly price?: Price
}

/**
 * What a status word must become. `not_final` (the rule for intermediate and unknown words):
 * the callback verifies and yields either no status event for the message or one with status
 * `sent`, never a final status, so an unknown word can never end a message.
 */
export type ExpectedStatus =
  { readonly status: ReportedStatus; readonly errorCode?: ProviderErrorCode } | 'not_final'

/** One row of the status table: a documented status word (with error code) and its meaning. */
export interface StatusCase {
  /** The provider's word (Twilio `MessageStatus`, Vonage `status`, Plivo `Status`). */
  readonly word: string
  /** The provider's error code sent with it (Twilio `ErrorCode`, Vonage `err-code`...). */
  readonly errorCode?: string
  readonly expect: ExpectedStatus
}

/** A delivery report to build, in provider-neutral terms. */
export interface StatusSpec {
  readonly providerMessageId: string
  /** Our message id, for providers that echo our reference (Vonage `client-ref`). */
  readonly messageId: string
  readonly word: string
  readonly errorCode?: string | undefined
  readonly method: WebhookMethod
}

/** An inbound SMS to build, in provider-neutral terms. */
export interface InboundSpec {
  /** E.164 with "+"; the harness writes it as the provider does (Vonage `msisdn` without). */
  readonly from: string
  /** E.164 with "+" (the number the message was sent to). */
  readonly to: string
  /** May hold anything a phone can send: emoji, "&", "=", "+", newlines. */
  readonly body: string
  readonly method: WebhookMethod
}

/** Whose callback to build: which instance's credentials, for which callback URLs. */
export interface CallbackOptions {
  /**
   * Build it for the instance `createProvider({ alternate: true })` makes (its credentials,
   * signature secret, callback URLs and token), not the default instance.
   */
  readonly alternate?: boolean
  /**
   * Build it for these callback URLs (and token) instead of `ctx`'s: the route checks use
   * the ones a real Switchboard registered for the `settings` entry.
   */
  readonly target?: Pick<ProviderContext, 'callbackUrls' | 'callbackToken'>
}

/** The part of a steerable upstream the suite drives (src/providers/test-upstream.ts has it). */
export interface ContractUpstream {
  /** Send requests received so far, oldest first (the suite looks at what a send added). */
  readonly requests: readonly UpstreamRequest[]
  /** TCP connections accepted so far; `request.keep_alive` checks sends reuse one. */
  readonly connections?: number
  /** The next send request gets exactly this answer. */
  answerNext(answer: RawAnswer): void
  /** The next send request is read and never answered. */
  hangNext(): void
  /** The next send request is read, then its connection destroyed without an answer. */
  resetNext(): void
  /** The next answer's status and headers come at once, its body a byte per `intervalMs`. */
  dripNext(answer: RawAnswer, intervalMs: number): void
  /** The next answer's body stops halfway and the connection is destroyed. */
  cutNext(answer: RawAnswer): void
}

/**
 * What an adapter's test file gives the suite for one check. `setup` is called once per check
 * (and once per table row) and `close()` after it, so `provider` is a new instance each time;
 * a fake upstream may be shared between checks (clear its queued answers in `close`).
 *
 * Everything optional is needed by some checks only: a check that needs a missing member
 * fails unless `skip` gives it a reason.
 */
export interface ContractHarness {
  /** A fresh adapter instance, created with {@link ctx}. The suite starts and stops it. */
  readonly provider: SmsProvider
  /** The context `provider` was created with ({@link contractContext} makes one). */
  readonly ctx: ProviderContext
  /**
   * Another instance of the same type, created for this check (the suite stops it):
   * `baseUrl` points it elsewhere (`connection.refused` gives a closed port); `alternate`
   * gives it other credentials, signature secret and callback token than `provider`'s.
   */
  createProvider?(o: { baseUrl?: string; alternate?: boolean }): SmsProvider

  // --- Sending --------------------------------------------------------------------------
  /** The fake upstream the adapter sends to; absent for adapters that send in-process. */
  readonly upstream?: ContractUpstream
  /** Reads one send request back into provider-neutral fields (throws when unreadable). */
  read?(request: UpstreamRequest): SentFields
  /**
   * Arranges an accepted answer for `sms` (one id per part for `sms.segments` parts where
   * {@link idsPerPart}); the suite queues `answer` and expects exactly the ids and price.
   */
  accepted?(sms: OutboundSms): AcceptedAnswer
  /**
   * true: the provider answers one id per part (Vonage) and the adapter reports them all, in
   * order; false: one id for the whole message (Twilio, Plivo), and `multipart.ids` checks
   * exactly one.
   */
  readonly idsPerPart?: boolean
  /** Every documented error answer with its classification (`errors.table`). */
  readonly errors?: readonly ErrorCase[]
  /**
   * Documented answers that mean refused credentials besides plain 401/403 (a Vonage
   * `status: "4"` in a 200): each must be a retry `provider_auth_failed` with fault `instance`.
   */
  readonly authFailures?: readonly RawAnswer[]

  // --- Callbacks ------------------------------------------------------------------------
  /**
   * The methods the provider calls each callback kind with; a kind that is absent has no
   * callbacks (the simulator has no inbound SMS). Checks that need one fail without a skip.
   */
  readonly webhookMethods?: {
    readonly status?: readonly WebhookMethod[]
    readonly inbound?: readonly WebhookMethod[]
  }
  /** The documented status words (and error codes) with their meaning (`status.table`). */
  readonly statuses?: readonly StatusCase[]
  /** A fresh provider message id in the provider's format (default: a generic one). */
  newProviderMessageId?(): string
  /** Whether status events carry our message id (the provider echoes our reference). */
  readonly reportsCarryMessageId?: boolean
  /** A signed delivery report callback, as the provider would send it to `ctx`'s status URL. */
  statusReport?(spec: StatusSpec, o?: CallbackOptions): WebhookRequest | Promise<WebhookRequest>
  /** A signed inbound SMS callback, as the provider would send it to `ctx`'s inbound URL. */
  inbound?(spec: InboundSpec, o?: CallbackOptions): WebhookRequest | Promise<WebhookRequest>
  /** The answer the provider expects to an inbound callback; absent: none (204). */
  readonly inboundAnswer?: WebhookAnswer
  /** The answer the provider expects to a status callback; absent: none (204). */
  readonly statusAnswer?: WebhookAnswer
  /** One signed callback carrying all these reports (providers that batch, the simulator). */
  statusBatch?(specs: readonly StatusSpec[]): WebhookRequest | Promise<WebhookRequest>
  /**
   * Signed callbacks of `kind` that cannot be read (bad JSON, missing ids, wrong types): each
   * must throw MalformedWebhook or yield no event, and never throw anything else.
   */
  malformed?(kind: 'status' | 'inbound'): readonly WebhookRequest[] | Promise<WebhookRequest[]>
  /**
   * Lower-case names of the headers the signature depends on (signature, nonce, timestamp):
   * `tamper.header` changes each in turn. Empty when the signature travels in the parameters.
   */
  readonly signatureHeaders?: readonly string[]

  // --- A real Switchboard ---------------------------------------------------------------
  /**
   * One `PROVIDERS` entry for this type named as `setup` was told, with the default
   * instance's credentials and its `baseUrl` at the fake upstream: the route checks start a
   * Switchboard with `PROVIDERS=[settings]`.
   */
  readonly settings?: Record<string, unknown>

  /** Checks this adapter cannot run, each with the reason (shown in the test report). */
  readonly skip?: Partial<Record<ContractCheckId, string>>
  /** Frees what `setup` made for this check (not a shared upstream: clear that instead). */
  close(): Promise<void>
}

/** What the suite gives `setup`. */
export interface ContractSetupOptions {
  /** The instance name to create the provider with (`[a-z0-9-]+`), also in `settings`. */
  readonly name: string
}

export type ContractSetup = (o: ContractSetupOptions) => Promise<ContractHarness> | ContractHarness

/** The public URL the suite's contexts use for callbacks. */
export const CONTRACT_PUBLIC_URL = 'https://switchboard.contract.test'

/**
 * A ProviderContext for a contract instance, with callback URLs as src/main.ts builds them:
 * `{PUBLIC_URL}/webhooks/{name}/status|inbound`, plus `?token=` for types that authenticate
 * callbacks by token (`token: true`).
 */
export function contractContext(
  name: string,
  o: { token?: boolean; publicUrl?: string; now?: () => number } = {},
): ProviderContext {
  const callbackToken = randomBytes(24).toString('base64url')
  const base = `${o.publicUrl ?? CONTRACT_PUBLIC_URL}/webhooks/${name}`
  const query = o.token ? `?token=${callbackToken}` : ''
  return {
    callbackUrls: { status: `${base}/status${query}`, inbound: `${base}/inbound${query}` },
    callbackToken,
    now: o.now ?? Date.now,
  }
}

/**
 * Registers the contract checks under `describe('provider contract: <name>')`. `setup` runs
 * before each check (and each table row) and `close()` after it; the suite starts the
 * instance with an event sink, and stops every instance it was given.
 */
export function runProviderContract(name: string, setup: ContractSetup): void {
  registerContractChecks(name, setup)
}

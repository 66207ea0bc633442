import { Agent, request } from 'undici'
import {
  MalformedWebhook,
  type OutboundSms,
  type ProviderEvent,
  type ReportedStatus,
  type SendResult,
  type SmsProvider,
  type WebhookOutcome,
  type WebhookRequest,
} from '../provider.js'
import { verifySimulatorSignature } from './simulator-signature.js'

export interface SimulatorHttpProviderOptions {
  name: string
  /** Base URL of a simulator server, e.g. `http://127.0.0.1:4010`. */
  url: string
  /** Secret the simulator signs its callbacks with. */
  webhookSecret: string
  /**
   * Per-request time limit; exceeding it after the request left is an unknown outcome
   * (`provider_outcome_unknown`), as is the caller's abort. Default 10_000.
   */
  timeoutMs?: number
  /** Alternative transport; by default a keep-alive undici Agent is used. */
  fetch?: typeof fetch
  /** Clock for webhook timestamp checks. Default `Date.now`. */
  now?: () => number
  /** Keep-alive connections to the simulator. Default 64. */
  connections?: number
}

/** What came back from one HTTP attempt, before classification. */
export interface HttpAnswer {
  /**
   * HTTP status, or how the request failed without one: `not_sent` (aborted before it
   * started), `connection_error` (no connection, nothing written), `unanswered` (it may have
   * been written and its answer was lost: timeout, abort, reset, a body cut short).
   */
  status: number | 'not_sent' | 'connection_error' | 'unanswered'
  retryAfter?: string | undefined
  body?: unknown
  detail?: string
}

const SAFE_DETAIL = /^[\w.-]{1,64}$/
/** Network errors that mean no connection was made, so no byte of the request left. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
])

/** Retry-After (delta-seconds or HTTP date) in milliseconds, or undefined. */
export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

function bodyCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const code = (body as Record<string, unknown>).code
  return typeof code === 'string' && SAFE_DETAIL.test(code) ? code : undefined
}

/** The one place a simulator HTTP answer becomes a normalised send result. */
export function httpAnswerToSendResult(answer: HttpAnswer): SendResult {
  const { status } = answer
  switch (status) {
    case 'not_sent':
    case 408:
      return { outcome: 'retry', code: 'provider_timeout' }
    case 'connection_error':
      return { outcome: 'retry', code: 'provider_connection_error', message: answer.detail }
    case 'unanswered':
      // The simulator may have taken it: sending again could reach the phone twice.
      return { outcome: 'unknown', code: 'provider_outcome_unknown', message: answer.detail }
    case 200:
    case 201: {
      const sid = (answer.body as { sid?: unknown } | undefined)?.sid
      // Accepted without a readable id cannot be tracked, yet the message may be on its way.
      if (typeof sid !== 'string' || sid === '') {
        return { outcome: 'unknown', code: 'provider_outcome_unknown', message: 'no sid' }
      }
      return { outcome: 'accepted', providerMessageIds: [sid] }
    }
    case 429: {
      const after = parseRetryAfter(answer.retryAfter)
      const result: SendResult = { outcome: 'retry', code: 'provider_rate_limited' }
      if (after !== undefined) result.after = after
      return result
    }
    case 400:
    case 422:
      switch (bodyCode(answer.body)) {
        case 'invalid_number':
          return { outcome: 'rejected', code: 'invalid_number' }
        case 'opted_out':
          return { outcome: 'rejected', code: 'recipient_opted_out', suppress: true }
        default:
          return { outcome: 'rejected', code: 'provider_rejected', message: bodyCode(answer.body) }
      }
    case 401:
    case 403:
      // Refused credentials are this instance's fault, not the message's.
      return { outcome: 'retry', code: 'provider_auth_failed', fault: 'instance' }
    default:
      return status >= 500
        ? { outcome: 'retry', code: 'provider_unavailable', message: `HTTP ${status}` }
        : { outcome: 'rejected', code: 'provider_rejected', message: `HTTP ${status}` }
  }
}

/** Network error code (`ECONNREFUSED`, `UND_ERR_SOCKET`...) of undici or fetch errors. */
function networkCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    e = e.cause
  }
  return undefined
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function toStatusEvent(item: unknown): ProviderEvent | undefined {
  if (typeof item !== 'object' || item === null) return undefined
  const r = item as Record<string, unknown>
  const status = r.status
  if (
    typeof r.providerMessageId !== 'string' ||
    (status !== 'delivered' && status !== 'undelivered')
  ) {
    return undefined
  }
  const event: ProviderEvent = {
    type: 'status',
    providerMessageId: r.providerMessageId,
    status: status satisfies ReportedStatus,
    at: typeof r.at === 'number' && Number.isFinite(r.at) ? r.at : Date.now(),
  }
  if (typeof r.messageId === 'string') event.messageId = r.messageId
  if (status === 'undelivered') event.errorCode = 'undeliverable'
  return event
}

/**
 * Simulator provider over HTTP (the simulator running in another process). Sends with
 * keep-alive, classifies answers in {@link httpAnswerToSendResult}, and verifies and parses the
 * simulator's signed delivery-report callbacks.
 *
 * @example
 * const provider = createSimulatorHttpProvider({ name: 'sim', url, webhookSecret })
 */
export function createSimulatorHttpProvider(opts: SimulatorHttpProviderOptions): SmsProvider {
  const { name, webhookSecret, timeoutMs = 10_000, now = Date.now, connections = 64 } = opts
  const endpoint = new URL('/v1/messages', opts.url).toString()
  let agent: Agent | undefined

  const post = async (payload: string, signal: AbortSignal): Promise<HttpAnswer> => {
    const headers = { 'content-type': 'application/json' }
    if (opts.fetch) {
      const res = await opts.fetch(endpoint, { method: 'POST', headers, body: payload, signal })
      const text = await res.text()
      const retryAfter = res.headers.get('retry-after') ?? undefined
      return { status: res.status, retryAfter, body: parseJson(text) }
    }
    agent ??= new Agent({ connections, keepAliveTimeout: 10_000 })
    const res = await request(endpoint, {
      method: 'POST',
      dispatcher: agent,
      headers,
      body: payload,
      signal,
    })
    const retryAfter = res.headers['retry-after']
    return {
      status: res.statusCode,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      body: parseJson(await res.body.text()),
    }
  }

  const attempt = async (sms: OutboundSms, signal: AbortSignal): Promise<HttpAnswer> => {
    const controller = new AbortController()
    const abort = (): void => controller.abort()
    const timer = setTimeout(abort, timeoutMs)
    signal.addEventListener('abort', abort, { once: true })
    const payload = JSON.stringify({
      id: sms.id,
      to: sms.to,
      from: sms.from,
      body: sms.body,
      attempt: sms.attempt,
    })
    try {
      if (signal.aborted) return { status: 'not_sent' }
      return await post(payload, controller.signal)
    } catch (error) {
      const code = networkCode(error)
      const detail = code !== undefined && SAFE_DETAIL.test(code) ? code : undefined
      // Only a connection that never opened is known to have carried nothing.
      if (!controller.signal.aborted && code !== undefined && NOT_CONNECTED.has(code)) {
        return { status: 'connection_error', detail }
      }
      return { status: 'unanswered', detail: controller.signal.aborted ? 'aborted' : detail }
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', abort)
    }
  }

  return {
    name,
    type: 'simulator-http',
    deduplicates: true,
    async send(sms: OutboundSms, signal: AbortSignal): Promise<SendResult> {
      return httpAnswerToSendResult(await attempt(sms, signal))
    },
    async stop(): Promise<void> {
      const closing = agent
      agent = undefined
      await closing?.close()
    },
    /** Signed JSON arrays of reports, POSTed; malformed entries are skipped. */
    handleWebhook(req: WebhookRequest): WebhookOutcome {
      if (req.method !== 'POST') return { verified: false }
      if (!verifySimulatorSignature(webhookSecret, req.headers, req.rawBody, now())) {
        return { verified: false }
      }
      const items = parseJson(req.rawBody.toString('utf8'))
      if (!Array.isArray(items))
        throw new MalformedWebhook('simulator webhook body is not a JSON array')
      const events = items.map(toStatusEvent).filter((e): e is ProviderEvent => e !== undefined)
      return { verified: true, events }
    },
  }
}

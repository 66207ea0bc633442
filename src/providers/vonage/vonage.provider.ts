import type {
  CallbackUrls,
  OutboundSms,
  Price,
  SendResult,
  SmsProvider,
  WebhookOutcome,
  WebhookRequest,
} from '../provider.js'
import { HttpClient, parseRetryAfter, type HttpAttempt } from './vonage-http.js'
import { signVonageParams, type VonageSignatureMethod } from './vonage-signature.js'
import { classifySendStatus, THROTTLE_BACKOFF_MS } from './vonage-status.js'
import { handleVonageWebhook, VONAGE_CURRENCY, type VonageCallbackAuth } from './vonage-webhook.js'

export interface VonageProviderOptions {
  readonly name: string
  readonly apiKey: string
  readonly apiSecret: string
  /** Signs requests and is required on every callback when set. */
  readonly signatureSecret?: string | undefined
  readonly signatureMethod: VonageSignatureMethod
  /** `https://rest.nexmo.com`, or a local server that speaks the SMS API. */
  readonly baseUrl: string
  readonly callbackUrls: CallbackUrls
  /** Checked against `?token=` on callbacks when there is no signature secret. */
  readonly callbackToken: string
  readonly now: () => number
  /** Keep-alive connections to the API. Default 32. */
  readonly connections?: number
}

/** `callback` longer than this is refused by Vonage: then the dashboard's URL applies. */
export const MAX_CALLBACK_LENGTH = 100
const MAX_CLIENT_REF_LENGTH = 40
const MIN_TTL_MS = 20_000
const MAX_TTL_MS = 604_800_000

/** The form parameters of `POST /sms/json` for one message (without credentials). */
export function sendParams(
  sms: OutboundSms,
  from: string,
  callbackUrl: string,
  nowMs: number,
): Record<string, string> {
  const params: Record<string, string> = {
    from,
    to: sms.to.replace(/^\+/, ''),
    text: sms.body,
  }
  if (sms.encoding === 'UCS-2') params.type = 'unicode'
  if (sms.id.length <= MAX_CLIENT_REF_LENGTH) params['client-ref'] = sms.id
  if (callbackUrl.length <= MAX_CALLBACK_LENGTH) params.callback = callbackUrl
  const ttl = Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, sms.validUntil - nowMs))
  params.ttl = String(Math.floor(ttl))
  return params
}

type Entry = Record<string, unknown>

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const unknownOutcome = (message: string): SendResult => ({
  outcome: 'unknown',
  code: 'provider_outcome_unknown',
  message,
})

/** The summed `message-price` of every part, when each part reports one. */
function totalPrice(entries: readonly Entry[], answer: Entry): Price | undefined {
  let sum = 0
  for (const e of entries) {
    const v = str(e['message-price'])
    if (v === undefined || !/^\d{1,9}(\.\d{1,12})?$/.test(v)) return undefined
    sum += Number(v)
  }
  const currency = [answer.currency, entries[0]?.currency].find(
    (c): c is string => typeof c === 'string' && /^[A-Z]{3}$/.test(c),
  )
  return { amount: Math.round(sum * 1e8) / 1e8, currency: currency ?? VONAGE_CURRENCY }
}

/** A 2xx answer: one entry per part, each `status` "0" with its `message-id`, or a refusal. */
function classifyBody(text: string | undefined): SendResult {
  const answer = parseJson(text)
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    return unknownOutcome('unreadable answer from Vonage')
  }
  const body = answer as Entry
  const list = body.messages
  if (!Array.isArray(list) || list.length === 0)
    return unknownOutcome('Vonage answer without messages')
  const entries = list.filter((e): e is Entry => typeof e === 'object' && e !== null)
  const count = str(body['message-count'])
  if (entries.length !== list.length || (count !== undefined && Number(count) !== list.length)) {
    return unknownOutcome('Vonage answer with malformed messages')
  }
  const failed = entries.find((e) => String(e.status) !== '0')
  if (failed) {
    // Parts already accepted reach the phone whatever we do; the message as a whole did not go.
    const result = classifySendStatus(String(failed.status), failed['error-text'])
    const accepted = entries.filter((e) => String(e.status) === '0').length
    if (accepted === 0 || result.outcome === 'accepted') return result
    return {
      ...result,
      message: `${result.message} (${accepted} of ${entries.length} parts accepted)`,
    }
  }
  const ids = entries.map((e) => str(e['message-id']))
  if (ids.some((id) => id === undefined)) return unknownOutcome('Vonage accepted without an id')
  const [first, ...rest] = ids as string[]
  const result: SendResult = { outcome: 'accepted', providerMessageIds: [first as string, ...rest] }
  const cost = totalPrice(entries, body)
  if (cost) result.price = cost
  return result
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

/** The one place a Vonage HTTP attempt becomes a send result; never throws. */
export function classifyAttempt(attempt: HttpAttempt, nowMs: number): SendResult {
  switch (attempt.kind) {
    case 'timeout':
      return attempt.sent
        ? unknownOutcome('no answer in time after the request was sent')
        : { outcome: 'retry', code: 'provider_timeout' }
    case 'network':
      return attempt.sent
        ? unknownOutcome(`connection lost after the request was sent (${attempt.code ?? 'error'})`)
        : { outcome: 'retry', code: 'provider_connection_error', message: attempt.code }
    case 'answer':
      break
  }
  const { status } = attempt
  const after = parseRetryAfter(headerValue(attempt.headers['retry-after']), nowMs)
  if (status >= 200 && status < 300) return classifyBody(attempt.text)
  if (status === 401 || status === 403) {
    return {
      outcome: 'retry',
      code: 'provider_auth_failed',
      fault: 'instance',
      message: `HTTP ${status}`,
    }
  }
  if (status === 429) {
    const wait = after !== undefined && after > 0 ? after : THROTTLE_BACKOFF_MS
    return { outcome: 'retry', code: 'provider_rate_limited', after: wait }
  }
  if (status === 408) return { outcome: 'retry', code: 'provider_timeout', message: 'HTTP 408' }
  if (status >= 500) {
    const result: SendResult = {
      outcome: 'retry',
      code: 'provider_unavailable',
      message: `HTTP ${status}`,
    }
    if (after !== undefined) result.after = after
    return result
  }
  return { outcome: 'rejected', code: 'provider_rejected', message: `HTTP ${status}` }
}

/**
 * The Vonage SMS API adapter: `POST {baseUrl}/sms/json`, form-encoded, with `api_key` and
 * `api_secret`, or signed (`sig` + `timestamp`, no secret) when a signature secret is set.
 * A long message comes back as one id per part, in part order, with the prices summed.
 *
 * @example
 * const vonage = createVonageProvider({ name: 'vonage-eu', apiKey, apiSecret, ... })
 */
export function createVonageProvider(o: VonageProviderOptions): SmsProvider {
  const endpoint = `${o.baseUrl}/sms/json`
  const http = new HttpClient({
    ...(o.connections !== undefined ? { connections: o.connections } : {}),
  })
  const auth: VonageCallbackAuth = o.signatureSecret
    ? { kind: 'signature', secret: o.signatureSecret, method: o.signatureMethod }
    : { kind: 'token', token: o.callbackToken }

  const credentials = (params: Record<string, string>, nowMs: number): Record<string, string> => {
    if (!o.signatureSecret) return { ...params, api_key: o.apiKey, api_secret: o.apiSecret }
    const signed = { ...params, api_key: o.apiKey, timestamp: String(Math.floor(nowMs / 1000)) }
    return { ...signed, sig: signVonageParams(signed, o.signatureSecret, o.signatureMethod) }
  }

  return {
    name: o.name,
    type: 'vonage',
    // Vonage does not deduplicate on client-ref: a resend may reach the phone twice.
    deduplicates: false,
    async send(sms: OutboundSms, signal: AbortSignal): Promise<SendResult> {
      if (sms.from === null) {
        return {
          outcome: 'rejected',
          code: 'provider_rejected',
          message: 'Vonage needs a sender: set from, or senders on the route',
        }
      }
      const nowMs = o.now()
      const form = credentials(sendParams(sms, sms.from, o.callbackUrls.status, nowMs), nowMs)
      const headers = {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      }
      const attempt = await http.post(
        endpoint,
        headers,
        new URLSearchParams(form).toString(),
        signal,
      )
      return classifyAttempt(attempt, o.now())
    },
    async stop(): Promise<void> {
      await http.close()
    },
    handleWebhook(req: WebhookRequest): WebhookOutcome {
      return handleVonageWebhook(req, auth, o.callbackUrls, o.now())
    },
  }
}

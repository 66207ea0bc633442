import type { ProviderErrorCode, SendResult } from '../provider.js'

/**
 * What one `POST …/Messages.json` came to, before classification: an HTTP answer (its JSON
 * body parsed when it is JSON, else undefined), or how the request failed without one.
 */
export type TwilioAnswer =
  | {
      readonly kind: 'http'
      readonly status: number
      readonly body: unknown
      readonly retryAfter?: string | undefined
    }
  /** No answer, and the request was never fully written: Twilio cannot have acted on it. */
  | {
      readonly kind: 'not_sent'
      readonly reason: 'timeout' | 'connection'
      readonly detail?: string
    }
  /** The request was written and its answer was lost (timeout, reset, truncated body). */
  | { readonly kind: 'lost'; readonly detail: string }

/** What a Twilio error code means for a send, or for a message a status callback reports. */
interface CodeMeaning {
  readonly code: ProviderErrorCode
  /** The recipient opted out of the sender: suppress the pair (21610). */
  readonly suppress?: true
}

/**
 * Every Twilio error code Switchboard classifies, with its meaning in Twilio's error dictionary
 * (https://www.twilio.com/docs/api/errors/{code}). 2xxxx codes come back from the Messages API
 * at send time (and some in status callbacks); 3xxxx only in status callbacks (`ErrorCode`).
 * Send-time codes that are no fault of the message (20003, 20005, 20429) are decided in
 * {@link classifyTwilioAnswer}; a code not listed falls back to its HTTP status.
 */
export const TWILIO_ERROR_CODES: Readonly<Record<number, CodeMeaning>> = {
  21211: { code: 'invalid_number' }, // Invalid 'To' Phone Number
  21408: { code: 'unreachable_destination' }, // Permission to send an SMS has not been enabled for the region
  21602: { code: 'provider_rejected' }, // Message body is required
  21603: { code: 'provider_rejected' }, // 'From' phone number is required
  21604: { code: 'invalid_number' }, // 'To' phone number is required
  21606: { code: 'provider_rejected' }, // The 'From' number is not a valid message-capable Twilio number
  21608: { code: 'provider_rejected' }, // The 'To' number is not yet verified for this (trial) account
  21610: { code: 'recipient_opted_out', suppress: true }, // Attempt to send to unsubscribed recipient
  21612: { code: 'unreachable_destination' }, // The 'To' number is not currently reachable via SMS
  21614: { code: 'invalid_number' }, // 'To' number is not a valid mobile number
  21617: { code: 'message_too_long' }, // The concatenated message body exceeds the 1600 character limit
  21635: { code: 'unreachable_destination' }, // 'To' number cannot be a landline
  30001: { code: 'carrier_error' }, // Queue overflow
  30002: { code: 'provider_rejected' }, // Account suspended
  30003: { code: 'unreachable_destination' }, // Unreachable destination handset
  30004: { code: 'blocked_by_carrier' }, // Message blocked
  30005: { code: 'unreachable_destination' }, // Unknown destination handset
  30006: { code: 'unreachable_destination' }, // Landline or unreachable carrier
  30007: { code: 'blocked_by_carrier' }, // Message filtered (carrier violation)
  30008: { code: 'carrier_error' }, // Unknown error
  30034: { code: 'blocked_by_carrier' }, // Message from an unregistered (A2P 10DLC) number
}

/** Twilio's own error code of an error body `{code, message, more_info, status}`. */
export function twilioErrorCode(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const code = (body as { code?: unknown }).code
  const n = typeof code === 'string' && /^\d{1,6}$/.test(code) ? Number(code) : code
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined
}

/** Retry-After (delta-seconds or an HTTP date) in milliseconds, or undefined. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  const v = value?.trim()
  if (!v) return undefined
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const date = Date.parse(v)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

/** When Twilio asks us to slow down without saying for how long. */
export const DEFAULT_RETRY_AFTER_MS = 1000

const SID = /^(SM|MM)[0-9a-fA-F]{32}$/

/**
 * The one place a Twilio answer becomes a send result, and the only place that decides what
 * is retried. Never throws: an answer Twilio would not give (HTML, empty, truncated) is
 * classified by its HTTP status, and a 2xx without a readable message SID is `unknown`
 * (Twilio may have taken the message, and it cannot be tracked).
 */
export function classifyTwilioAnswer(answer: TwilioAnswer, nowMs: number): SendResult {
  if (answer.kind === 'not_sent') {
    return answer.reason === 'timeout'
      ? { outcome: 'retry', code: 'provider_timeout' }
      : { outcome: 'retry', code: 'provider_connection_error', message: answer.detail }
  }
  if (answer.kind === 'lost') {
    return { outcome: 'unknown', code: 'provider_outcome_unknown', message: answer.detail }
  }
  const { status, body } = answer
  const code = twilioErrorCode(body)
  const tag = code === undefined ? `HTTP ${status}` : `twilio ${code} (HTTP ${status})`
  if (status >= 200 && status < 300) {
    const sid = (body as { sid?: unknown } | undefined)?.sid
    return typeof sid === 'string' && SID.test(sid)
      ? { outcome: 'accepted', providerMessageIds: [sid] }
      : { outcome: 'unknown', code: 'provider_outcome_unknown', message: `${tag} without a SID` }
  }
  if (status === 429 || code === 20429) {
    const after = parseRetryAfter(answer.retryAfter, nowMs) ?? DEFAULT_RETRY_AFTER_MS
    return { outcome: 'retry', code: 'provider_rate_limited', after, message: tag }
  }
  if (code === 20005) {
    // "Account is not active" (suspended or closed), whatever its HTTP status: the same for
    // every message, and not a matter of credentials.
    return { outcome: 'retry', code: 'provider_account_error', fault: 'instance', message: tag }
  }
  // Refused credentials (20003), or an account path that does not exist (404: the accountSid
  // is wrong), fail every message alike: the instance is at fault, not the message.
  if (status === 401 || status === 403 || status === 404 || code === 20003) {
    return { outcome: 'retry', code: 'provider_auth_failed', fault: 'instance', message: tag }
  }
  if (status >= 500) {
    const after = parseRetryAfter(answer.retryAfter, nowMs)
    return after === undefined
      ? { outcome: 'retry', code: 'provider_unavailable', message: tag }
      : { outcome: 'retry', code: 'provider_unavailable', after, message: tag }
  }
  if (status === 408) return { outcome: 'retry', code: 'provider_timeout', message: tag }
  if (status < 400) {
    // Not an answer of the Messages API (a redirect, say): the instance's baseUrl is wrong.
    return { outcome: 'retry', code: 'provider_unavailable', fault: 'instance', message: tag }
  }
  const meaning = code === undefined ? undefined : TWILIO_ERROR_CODES[code]
  if (meaning === undefined) return { outcome: 'rejected', code: 'provider_rejected', message: tag }
  return meaning.suppress
    ? { outcome: 'rejected', code: meaning.code, message: tag, suppress: true }
    : { outcome: 'rejected', code: meaning.code, message: tag }
}

/**
 * The error code a status callback's `ErrorCode` stands for, for a message Twilio reports
 * `undelivered` or `failed`; without a known code, the status word decides.
 */
export function reportErrorCode(
  status: 'undelivered' | 'failed',
  errorCode: string | undefined,
): ProviderErrorCode {
  const known =
    errorCode && /^\d{1,6}$/.test(errorCode) ? TWILIO_ERROR_CODES[Number(errorCode)] : undefined
  // `failed`: the message never left Twilio (queue overflow, suspended account, ...).
  return known?.code ?? (status === 'undelivered' ? 'undeliverable' : 'provider_rejected')
}

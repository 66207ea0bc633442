import type { SendResult } from '../provider.js'

/** What came back from one Message API request, before classification. */
export type PlivoAnswer =
  | {
      kind: 'http'
      status: number
      /** Retry-After header, if any. */
      retryAfter?: string | undefined
      /** The body as text; undefined when it could not be read in time (slow drip, reset). */
      body: string | undefined
    }
  /** Refused, unresolvable or unreachable before the request was written: safe to retry. */
  | { kind: 'not_sent'; detail?: string | undefined }
  /** The request was (or may have been) written and no answer came: it may have gone out. */
  | { kind: 'no_answer'; detail?: string | undefined }

/** Plivo does not always send Retry-After with 429; wait this long then. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 1000

/** Retry-After (delta-seconds or HTTP date) in milliseconds, or undefined. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  const v = value?.trim()
  if (v === undefined || v === '') return undefined
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const date = Date.parse(v)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

function parseJson(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** Plivo's `error` text, short, with digit runs (phone numbers) masked: it is stored and shown. */
function errorText(body: Record<string, unknown> | undefined): string | undefined {
  const e = body?.error
  const text =
    typeof e === 'string' ? e : typeof e === 'object' && e !== null ? JSON.stringify(e) : ''
  const clean = text
    .replace(/[^\x20-\x7e]/g, '')
    .replace(/\d{4,}/g, '…')
    .slice(0, 160)
  return clean === '' ? undefined : clean
}

/** A 400's `error` text, sorted into what the message can do about it. */
function classifyBadRequest(body: Record<string, unknown> | undefined): SendResult {
  const text = errorText(body)
  const message = text === undefined ? 'HTTP 400' : `HTTP 400: ${text}`
  const t = (text ?? '').toLowerCase()
  // The account, not the message: every message would fail the same way on this instance.
  if (/insufficient (credit|balance)|account (is )?(disabled|suspended|inactive)/.test(t)) {
    return { outcome: 'retry', code: 'provider_account_error', fault: 'instance', message }
  }
  if (/country|geo.?permission/.test(t)) {
    return { outcome: 'rejected', code: 'unreachable_destination', message }
  }
  if (/\bdst\b|destination/.test(t)) return { outcome: 'rejected', code: 'invalid_number', message }
  if (/too long|length|exceed/.test(t)) {
    return { outcome: 'rejected', code: 'message_too_long', message }
  }
  return { outcome: 'rejected', code: 'provider_rejected', message }
}

function uuids(body: Record<string, unknown> | undefined): string[] | undefined {
  const list = body?.message_uuid
  if (!Array.isArray(list)) return undefined
  return list.filter((u): u is string => typeof u === 'string' && /^[\w-]{1,128}$/.test(u))
}

/**
 * The one place a Message API answer becomes a send result. A 2xx whose body cannot be read
 * (HTML, empty, truncated) is `unknown`: Plivo took the request and may send it.
 */
export function classifyAnswer(answer: PlivoAnswer, nowMs: number): SendResult {
  if (answer.kind === 'not_sent') {
    return { outcome: 'retry', code: 'provider_connection_error', message: answer.detail }
  }
  if (answer.kind === 'no_answer') {
    return { outcome: 'unknown', code: 'provider_outcome_unknown', message: answer.detail }
  }
  const { status } = answer
  const body = parseJson(answer.body)
  if (status >= 200 && status < 300) {
    const ids = uuids(body)
    const first = ids?.[0]
    if (first !== undefined) return { outcome: 'accepted', providerMessageIds: [first] }
    // Queued for no destination: Plivo lists the refused number in `invalid_number`.
    if (ids !== undefined && body?.invalid_number !== undefined) {
      return { outcome: 'rejected', code: 'invalid_number', message: 'Plivo: invalid_number' }
    }
    return {
      outcome: 'unknown',
      code: 'provider_outcome_unknown',
      message: `HTTP ${status} without a readable message_uuid`,
    }
  }
  switch (status) {
    case 400:
      return classifyBadRequest(body)
    // Refused credentials, or an Auth ID Plivo does not know: the instance is at fault.
    case 401:
    case 403:
    case 404:
      return {
        outcome: 'retry',
        code: 'provider_auth_failed',
        fault: 'instance',
        message: `HTTP ${status}`,
      }
    // The server did not wait for the whole request: it was not taken.
    case 408:
      return { outcome: 'retry', code: 'provider_timeout', message: 'HTTP 408' }
    case 429:
      return {
        outcome: 'retry',
        code: 'provider_rate_limited',
        after: parseRetryAfter(answer.retryAfter, nowMs) ?? DEFAULT_RATE_LIMIT_WAIT_MS,
      }
  }
  if (status >= 500) {
    const after = parseRetryAfter(answer.retryAfter, nowMs)
    const result: SendResult = {
      outcome: 'retry',
      code: 'provider_unavailable',
      message: `HTTP ${status}`,
    }
    if (after !== undefined) result.after = after
    return result
  }
  if (status >= 400) {
    const text = errorText(body)
    return {
      outcome: 'rejected',
      code: 'provider_rejected',
      message: text === undefined ? `HTTP ${status}` : `HTTP ${status}: ${text}`,
    }
  }
  // 1xx/3xx from a Message API endpoint: not Plivo's API (a wrong baseUrl, a proxy).
  return {
    outcome: 'retry',
    code: 'provider_unavailable',
    fault: 'instance',
    message: `HTTP ${status}`,
  }
}

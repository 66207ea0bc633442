import type { ProviderErrorCode, ReportedStatus, SendResult } from '../provider.js'

/** How a non-zero `status` of the send answer is classified: a retry or a rejection. */
export type VonageSendClass =
  | { outcome: 'retry'; code: ProviderErrorCode; after?: number; fault?: 'instance' }
  | { outcome: 'rejected'; code: ProviderErrorCode }

/** Vonage asks to back off without saying for how long: one second. */
export const THROTTLE_BACKOFF_MS = 1000

const rateLimited: VonageSendClass = {
  outcome: 'retry',
  code: 'provider_rate_limited',
  after: THROTTLE_BACKOFF_MS,
}
const instanceAuth: VonageSendClass = {
  outcome: 'retry',
  code: 'provider_auth_failed',
  fault: 'instance',
}
const instanceAccount: VonageSendClass = {
  outcome: 'retry',
  code: 'provider_account_error',
  fault: 'instance',
}
/** A table entry by key, never an inherited property (`constructor`, `__proto__`). */
function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined
}

const rejected = (code: ProviderErrorCode): VonageSendClass => ({ outcome: 'rejected', code })

/**
 * Every documented non-zero `status` of `POST /sms/json` (the SMS API error table; the SDK's
 * `SMSStatus`), with its meaning and its classification: the one place the retryable bit is
 * decided for Vonage's answer. docs/errors.md lists the same table (a test checks both ways).
 */
export const VONAGE_SEND_STATUSES: Readonly<
  Record<string, { readonly meaning: string; readonly result: VonageSendClass }>
> = {
  '1': { meaning: 'Throttled', result: rateLimited },
  '2': { meaning: 'Missing Parameters', result: rejected('provider_rejected') },
  '3': { meaning: 'Invalid Parameters', result: rejected('provider_rejected') },
  '4': { meaning: 'Invalid Credentials', result: instanceAuth },
  '5': {
    meaning: 'Internal Error',
    result: { outcome: 'retry', code: 'provider_unavailable' },
  },
  '6': { meaning: 'Invalid Message', result: rejected('unreachable_destination') },
  '7': { meaning: 'Number Barred', result: rejected('blocked_by_carrier') },
  '8': { meaning: 'Partner Account Barred', result: instanceAccount },
  '9': { meaning: 'Partner Quota Violation', result: instanceAccount },
  '10': { meaning: 'Too Many Existing Binds', result: rateLimited },
  '11': { meaning: 'Account Not Enabled For HTTP', result: instanceAccount },
  '12': { meaning: 'Message Too Long', result: rejected('message_too_long') },
  '14': { meaning: 'Invalid Signature', result: instanceAuth },
  '15': { meaning: 'Invalid Sender Address', result: rejected('provider_rejected') },
  '22': { meaning: 'Invalid Network Code', result: rejected('unreachable_destination') },
  '23': { meaning: 'Invalid Callback Url', result: instanceAccount },
  '29': { meaning: 'Non-Whitelisted Destination', result: rejected('unreachable_destination') },
  '32': { meaning: 'Signature And API Secret Disallowed', result: instanceAuth },
  '33': { meaning: 'Number De-activated', result: rejected('invalid_number') },
}

/** A status Vonage has not documented: refused, with its number in the message. */
const UNDOCUMENTED: VonageSendClass = rejected('provider_rejected')

const DIGIT_RUN = /\d{6,}/g
const UNSAFE = /[^\x20-\x7e]/g

/**
 * Vonage's `error-text` made safe to store: printable ASCII, at most 120 characters, and long
 * digit runs (a phone number echoed back) cut to their last four digits.
 */
export function safeErrorText(text: unknown): string | undefined {
  if (typeof text !== 'string' || text.trim() === '') return undefined
  return text
    .replace(UNSAFE, ' ')
    .replace(DIGIT_RUN, (m) => `…${m.slice(-4)}`)
    .trim()
    .slice(0, 120)
}

/** The send result for a non-zero `status` of the answer. */
export function classifySendStatus(status: string, errorText?: unknown): SendResult {
  const known = own(VONAGE_SEND_STATUSES, status)
  const result = known?.result ?? UNDOCUMENTED
  const text = safeErrorText(errorText)
  const label = `Vonage status ${status} (${known?.meaning ?? 'undocumented'})`
  return { ...result, message: text ? `${label}: ${text}` : label }
}

/**
 * Delivery receipt `status` words. Only `delivered` and the negative words are final; the
 * intermediate ones (and `unknown`, and any word not listed) never end a message.
 */
export const VONAGE_RECEIPT_STATUSES: Readonly<Record<string, ReportedStatus>> = {
  delivered: 'delivered',
  expired: 'undelivered',
  failed: 'undelivered',
  rejected: 'undelivered',
  accepted: 'sent',
  buffered: 'sent',
  unknown: 'sent',
}

/**
 * Delivery receipt `err-code` values (Vonage's "SMS Delivery Error Codes"), mapped to our
 * codes for a negative receipt. A code not listed is a `carrier_error`.
 */
export const VONAGE_RECEIPT_ERRORS: Readonly<
  Record<string, { readonly meaning: string; readonly code: ProviderErrorCode }>
> = {
  '1': { meaning: 'Unknown', code: 'carrier_error' },
  '2': { meaning: 'Absent Subscriber - Temporary', code: 'undeliverable' },
  '3': { meaning: 'Absent Subscriber - Permanent', code: 'invalid_number' },
  '4': { meaning: 'Call Barred by User', code: 'undeliverable' },
  '5': { meaning: 'Portability Error', code: 'carrier_error' },
  '6': { meaning: 'Anti-Spam Rejection', code: 'blocked_by_carrier' },
  '7': { meaning: 'Handset Busy', code: 'undeliverable' },
  '8': { meaning: 'Network Error', code: 'carrier_error' },
  '9': { meaning: 'Illegal Number', code: 'recipient_opted_out' },
  '10': { meaning: 'Illegal Message', code: 'provider_rejected' },
  '11': { meaning: 'Unroutable', code: 'unreachable_destination' },
  '12': { meaning: 'Destination Unreachable', code: 'unreachable_destination' },
  '13': { meaning: 'Subscriber Age Restriction', code: 'blocked_by_carrier' },
  '14': { meaning: 'Number Blocked by Carrier', code: 'blocked_by_carrier' },
}

/** Our status and error code for a receipt's `status` word and `err-code`. */
export function classifyReceipt(
  word: string,
  errCode: string | undefined,
): { status: ReportedStatus; errorCode?: ProviderErrorCode } {
  const status = own(VONAGE_RECEIPT_STATUSES, word.toLowerCase()) ?? 'sent'
  if (status !== 'undelivered') return { status }
  if (errCode === undefined || errCode === '' || errCode === '0') {
    return { status, errorCode: 'undeliverable' }
  }
  return { status, errorCode: own(VONAGE_RECEIPT_ERRORS, errCode)?.code ?? 'carrier_error' }
}

import { MalformedWebhook, type ProviderEvent, type ReportedStatus } from '../provider.js'
import { errorCodeFor, mapStatus } from './plivo-codes.js'
import type { Params } from './plivo-signature.js'

/** Plivo reports prices in US dollars. */
export const PLIVO_CURRENCY = 'USD'

const TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/

/** Plivo's `YYYY-mm-dd HH:MM:SS.ffffff` (UTC unless it names an offset) in epoch ms. */
export function parsePlivoTime(value: string | undefined): number | undefined {
  const m = value === undefined ? null : TIME.exec(value.trim())
  if (!m) return undefined
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const ms = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0
  let at = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms)
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    at -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
  }
  return Number.isFinite(at) ? at : undefined
}

const PART_INFO = /^\s*(\d{1,3})\s+of\s+(\d{1,3})\s*$/i

/** `PartInfo` ("2 of 3") as numbers, or undefined when absent or not of that form. */
export function parsePartInfo(
  value: string | undefined,
): { number: number; total: number } | undefined {
  const m = value === undefined ? null : PART_INFO.exec(value)
  if (!m) return undefined
  const number = Number(m[1])
  const total = Number(m[2])
  return number >= 1 && number <= total ? { number, total } : undefined
}

/** Plivo writes numbers without `+`: E.164 digits get it back; short codes and names stay. */
export function toE164(value: string): string {
  return /^\d{8,15}$/.test(value) ? `+${value}` : value
}

const first = (params: Params, key: string): string | undefined => {
  const v = params.get(key)?.[0]
  return v === undefined || v === '' ? undefined : v
}

function required(params: Params, key: string): string {
  const v = first(params, key)
  if (v === undefined) throw new MalformedWebhook(`Plivo callback without ${key}`)
  return v
}

/** The time a report stands for: the step its status names, else when the message began. */
function reportTime(params: Params, status: ReportedStatus, word: string): number | undefined {
  const key =
    status === 'delivered' || status === 'undelivered'
      ? 'DeliveryReportTime'
      : word === 'queued'
        ? 'QueuedTime'
        : status === 'sent'
          ? 'SentTime'
          : 'MessageTime'
  return parsePlivoTime(first(params, key)) ?? parsePlivoTime(first(params, 'MessageTime'))
}

/**
 * A status callback as one event. A part of a long message is reported under the id Plivo
 * answered at send (`ParentMessageUUID`), with the part's own id and place (`PartInfo`), so
 * the message is delivered only once every part is.
 */
export function parseStatusCallback(params: Params, now: number): ProviderEvent {
  const uuid = required(params, 'MessageUUID')
  const word = required(params, 'Status').toLowerCase()
  const status = mapStatus(word)
  const parent = first(params, 'ParentMessageUUID') ?? uuid
  const partInfo = parsePartInfo(first(params, 'PartInfo'))
  // A part under another id whose place is unknown cannot be counted towards its message.
  if (parent !== uuid && partInfo === undefined) {
    throw new MalformedWebhook('Plivo part callback without a readable PartInfo')
  }
  const plivoCode = first(params, 'ErrorCode')
  const event: Extract<ProviderEvent, { type: 'status' }> = {
    type: 'status',
    providerMessageId: parent,
    status,
    providerCode: word,
    at: reportTime(params, status, word) ?? now,
  }
  if (status === 'failed' || status === 'undelivered') {
    event.errorCode = errorCodeFor(status, plivoCode)
    if (plivoCode !== undefined) event.providerCode = `${word}:${plivoCode}`
  }
  if (partInfo !== undefined && partInfo.total > 1) event.part = { id: uuid, ...partInfo }
  const amount = Number(first(params, 'TotalAmount') ?? Number.NaN)
  // Reports before the last one may carry 0: only a final report's price, or a charge, counts.
  if (Number.isFinite(amount) && amount >= 0 && (amount > 0 || status !== 'sent')) {
    event.price = { amount, currency: PLIVO_CURRENCY }
  }
  return event
}

/**
 * An inbound message as one event; Plivo joins long inbound messages before it forwards them.
 * Only SMS is stored: an MMS or WhatsApp message yields no event (it is acknowledged).
 */
export function parseInbound(params: Params, now: number): ProviderEvent[] {
  const type = (first(params, 'Type') ?? 'sms').toLowerCase()
  const uuid = required(params, 'MessageUUID')
  const from = required(params, 'From')
  const to = required(params, 'To')
  if (type !== 'sms') return []
  if (!params.has('Text')) throw new MalformedWebhook('Plivo inbound SMS without Text')
  return [
    {
      type: 'inbound',
      providerMessageId: uuid,
      from: toE164(from),
      to: toE164(to),
      body: params.get('Text')?.[0] ?? '',
      at: parsePlivoTime(first(params, 'MessageTime')) ?? now,
    },
  ]
}

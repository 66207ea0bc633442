import { maskUserInfo } from '../webhooks/callback-url.js'
import type { MessageRecord } from './message.js'

/** ISO 8601 for a stored epoch-milliseconds time, null stays null. */
export const iso = (ms: number | null): string | null =>
  ms === null ? null : new Date(ms).toISOString()

/** An amount of money in an ISO 4217 currency. */
export interface Money {
  amount: number
  currency: string
}

/**
 * What a message costs: `estimated` from the price table at send time (segments x the price
 * for its provider and destination), `actual` the provider's own price where its answer or
 * its delivery reports give one (the sum over the message's parts). Null where unknown.
 */
export interface MessageCost {
  estimated: Money | null
  actual: Money | null
}

const money = (amount: number | null, currency: string | null): Money | null =>
  amount === null || currency === null ? null : { amount, currency }

/** The public (API and webhook) view of a message. */
export interface PublicMessage {
  id: string
  direction: 'outbound' | 'inbound'
  to: string
  from: string | null
  body: string
  type: 'transactional' | 'marketing'
  status: string
  encoding: 'GSM-7' | 'UCS-2'
  segments: number
  smartEncoding: boolean
  errorCode: string | null
  errorMessage: string | null
  provider: string | null
  providerMessageId: string | null
  /** The sender it went out through: its own `from`, else its route's sticky sender. */
  sender: string | null
  cost: MessageCost
  metadata: Record<string, unknown> | null
  statusCallback: string | null
  validityPeriod: number
  validUntil: string
  sendAt: string | null
  attempts: number
  createdAt: string
  updatedAt: string
  sentAt: string | null
  completedAt: string | null
  /** The template its body was rendered from; null for a plain body. */
  template: { name: string; version: number; locale: string } | null
}

export function presentMessage(m: MessageRecord): PublicMessage {
  return {
    id: m.id,
    direction: m.direction,
    to: m.to_number,
    from: m.from_number,
    body: m.body,
    type: m.type,
    status: m.status,
    encoding: m.encoding,
    segments: m.segments,
    smartEncoding: m.smart_encoding === 1,
    errorCode: m.error_code,
    errorMessage: m.error_message,
    provider: m.provider,
    providerMessageId: m.provider_message_id,
    sender: m.sender,
    cost: {
      estimated: money(m.estimated_cost, m.cost_currency),
      actual: money(m.price, m.price_currency),
    },
    metadata: m.metadata === null ? null : (JSON.parse(m.metadata) as Record<string, unknown>),
    // A password in the URL (sent as Basic auth) is never shown.
    statusCallback: maskUserInfo(m.status_callback),
    validityPeriod: m.validity_period,
    validUntil: new Date(m.valid_until).toISOString(),
    sendAt: iso(m.send_at),
    attempts: m.attempts,
    createdAt: new Date(m.created_at).toISOString(),
    updatedAt: new Date(m.updated_at).toISOString(),
    sentAt: iso(m.sent_at),
    completedAt: iso(m.completed_at),
    template: templateOf(m),
  }
}

function templateOf(m: MessageRecord): PublicMessage['template'] {
  return m.template_name === null
    ? null
    : { name: m.template_name, version: m.template_version ?? 0, locale: m.template_locale ?? '' }
}

/**
 * ISO 8601 of epoch milliseconds, as Date#toISOString writes it, cheaply: the text up to the
 * minute is kept for the last two minutes seen (a message's creation and its validity end),
 * and only seconds and milliseconds are written per call.
 */
const minuteKeys = [Number.NaN, Number.NaN]
const minutePrefixes = ['', '']
let nextSlot = 0
export function isoOf(ms: number): string {
  const minute = Math.floor(ms / 60_000)
  let slot = minuteKeys[0] === minute ? 0 : minuteKeys[1] === minute ? 1 : -1
  if (slot < 0) {
    slot = nextSlot
    nextSlot ^= 1
    minuteKeys[slot] = minute
    // "YYYY-MM-DDTHH:MM:" (years beyond 9999 are longer; the seconds part never is).
    minutePrefixes[slot] = new Date(minute * 60_000).toISOString().slice(0, -7)
  }
  const inMinute = ms - minute * 60_000
  const sec = Math.floor(inMinute / 1000)
  const milli = inMinute - sec * 1000
  return `${minutePrefixes[slot]}${sec < 10 ? '0' : ''}${sec}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`
}

const str = (s: string | null): string => (s === null ? 'null' : JSON.stringify(s))
const moneyJson = (amount: number | null, currency: string | null): string =>
  amount === null || currency === null
    ? 'null'
    : `{"amount":${amount},"currency":${JSON.stringify(currency)}}`
const time = (ms: number | null): string => (ms === null ? 'null' : `"${isoOf(ms)}"`)

/**
 * `JSON.stringify(presentMessage(m))`, written directly: the intake answer's serializer, where
 * building the object and walking it again costs more than the rest of the response. Strings
 * go through JSON.stringify (same escaping); the stored metadata is already the
 * JSON.stringify text of the object presentMessage would parse, so it is used as is. A test
 * checks both agree on records of every shape.
 */
export function messageJson(m: MessageRecord): string {
  return (
    `{"id":${str(m.id)},"direction":${str(m.direction)},"to":${str(m.to_number)},` +
    `"from":${str(m.from_number)},"body":${str(m.body)},"type":${str(m.type)},` +
    `"status":${str(m.status)},"encoding":${str(m.encoding)},"segments":${m.segments},` +
    `"smartEncoding":${m.smart_encoding === 1},"errorCode":${str(m.error_code)},` +
    `"errorMessage":${str(m.error_message)},"provider":${str(m.provider)},` +
    `"providerMessageId":${str(m.provider_message_id)},"sender":${str(m.sender)},` +
    `"cost":{"estimated":${moneyJson(m.estimated_cost, m.cost_currency)},` +
    `"actual":${moneyJson(m.price, m.price_currency)}},"metadata":${m.metadata ?? 'null'},` +
    `"statusCallback":${str(maskUserInfo(m.status_callback))},"validityPeriod":${m.validity_period},` +
    `"validUntil":${time(m.valid_until)},"sendAt":${time(m.send_at)},"attempts":${m.attempts},` +
    `"createdAt":${time(m.created_at)},"updatedAt":${time(m.updated_at)},` +
    `"sentAt":${time(m.sent_at)},"completedAt":${time(m.completed_at)},` +
    `"template":${
      m.template_name === null
        ? 'null'
        : `{"name":${str(m.template_name)},"version":${m.template_version ?? 0},"locale":${str(m.template_locale ?? '')}}`
    }}`
  )
}

import {
  MalformedWebhook,
  type ProviderEvent,
  type ReportedStatus,
  type WebhookOutcome,
  type WebhookRequest,
} from '../provider.js'
import { reportErrorCode } from './twilio-errors.js'
import { verifyTwilioSignature, type TwilioParams } from './twilio-signature.js'

/** The query parameter carrying our message id on the `StatusCallback` URL we give Twilio. */
export const REF_PARAM = 'ref'

/** Empty TwiML: Twilio sends no reply to an inbound message answered with it. */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

type Status = Extract<ProviderEvent, { type: 'status' }>

/**
 * What a `MessageStatus` word means for Switchboard: a status to record, or `null` for a word
 * that says nothing new about a message Twilio accepted (it precedes `sent`, belongs to
 * inbound messages, or is not final for one SMS). Every word of Twilio's `message_enum_status`
 * is listed; any other word is unknown and is never recorded either.
 */
export function mapTwilioStatus(word: string): ReportedStatus | null {
  switch (word) {
    case 'sent':
      return 'sent'
    case 'delivered':
    case 'read': // read receipts (RCS, WhatsApp) come after delivery
      return 'delivered'
    case 'undelivered':
      return 'undelivered'
    case 'failed':
    case 'canceled': // a scheduled message cancelled before it was sent
      return 'failed'
    case 'accepted':
    case 'scheduled':
    case 'queued':
    case 'sending':
    case 'partially_delivered':
    case 'receiving':
    case 'received':
    default:
      return null
  }
}

/** The query string of a URL as parameters (no URL parsing: the URL is the provider's input). */
function queryOf(url: string): URLSearchParams {
  const q = url.indexOf('?')
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1).split('#', 1)[0])
}

/** A callback's parameters: the form body of a POST, the query of a GET. */
function readParams(req: WebhookRequest): { signed: TwilioParams; data: URLSearchParams } | null {
  if (req.method === 'GET') {
    return { signed: {}, data: queryOf(req.url) }
  }
  if (req.method !== 'POST') return null
  const data = new URLSearchParams(req.rawBody.toString('utf8'))
  const signed: Record<string, string | string[]> = {}
  for (const [k, v] of data) {
    const prev = signed[k]
    signed[k] = prev === undefined ? v : [...(typeof prev === 'string' ? [prev] : prev), v]
  }
  return { signed, data }
}

function required(data: URLSearchParams, ...keys: string[]): string {
  for (const key of keys) {
    const v = data.get(key)
    if (v) return v
  }
  throw new MalformedWebhook(`twilio callback without ${keys.join(' or ')}`)
}

function statusEvents(req: WebhookRequest, data: URLSearchParams, now: number): ProviderEvent[] {
  const providerMessageId = required(data, 'MessageSid', 'SmsSid')
  const word = required(data, 'MessageStatus', 'SmsStatus')
  const status = mapTwilioStatus(word)
  if (status === null) return []
  const errorCode = data.get('ErrorCode') || undefined
  const event: Status = {
    type: 'status',
    providerMessageId,
    status,
    providerCode: errorCode ?? word,
    at: now,
  }
  const ref = queryOf(req.url).get(REF_PARAM)
  if (ref) event.messageId = ref
  if (status === 'undelivered' || status === 'failed') {
    event.errorCode = word === 'canceled' ? 'provider_rejected' : reportErrorCode(status, errorCode)
  }
  return [event]
}

function inboundEvent(data: URLSearchParams, now: number): ProviderEvent {
  return {
    type: 'inbound',
    providerMessageId: required(data, 'MessageSid', 'SmsSid'),
    from: required(data, 'From'),
    to: required(data, 'To'),
    body: data.get('Body') ?? '',
    at: now,
  }
}

/**
 * One Twilio callback at `/webhooks/{name}/status` or `/inbound`: checks X-Twilio-Signature
 * over the exact public URL (and the POST parameters), then reads it. Inbound messages are
 * answered with empty TwiML so that Twilio sends no auto-reply.
 */
export function handleTwilioWebhook(
  authToken: string,
  req: WebhookRequest,
  now: number,
): WebhookOutcome {
  const params = readParams(req)
  if (params === null) return { verified: false }
  const header = req.headers['x-twilio-signature']
  if (!verifyTwilioSignature(authToken, header, req.url, params.signed)) return { verified: false }
  switch (req.kind) {
    case 'status':
      return { verified: true, events: statusEvents(req, params.data, now) }
    case 'inbound':
      return {
        verified: true,
        events: [inboundEvent(params.data, now)],
        answer: { status: 200, contentType: 'text/xml', body: EMPTY_TWIML },
      }
    default:
      throw new MalformedWebhook(`twilio callbacks arrive at status or inbound, not ${req.kind}`)
  }
}

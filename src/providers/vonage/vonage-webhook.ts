import {
  MalformedWebhook,
  type CallbackUrls,
  type Price,
  type ProviderEvent,
  type WebhookOutcome,
  type WebhookRequest,
} from '../provider.js'
import {
  sameSecret,
  verifyVonageSignature,
  type VonageSignatureMethod,
} from './vonage-signature.js'
import { classifyReceipt } from './vonage-status.js'

/** How an instance's callbacks prove they come from Vonage. */
export type VonageCallbackAuth =
  | { kind: 'signature'; secret: string; method: VonageSignatureMethod }
  | { kind: 'token'; token: string }

type Params = Record<string, string>

/** Vonage prices are in the account's currency; the SMS API reports euros. */
export const VONAGE_CURRENCY = 'EUR'

/** Params of a query or form body; undefined when a name repeats (ambiguous to sign). */
function fromSearch(search: URLSearchParams): Params | undefined {
  const out: Params = {}
  for (const [k, v] of search) {
    if (Object.hasOwn(out, k)) return undefined
    out[k] = v
  }
  return out
}

/** A JSON callback body: an object of strings (numbers and booleans as Vonage would write them). */
function fromJson(text: string): Params | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const out: Params = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null || v === undefined) continue
    if (typeof v === 'string') out[k] = v
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v)
    else return undefined
  }
  return out
}

function header(req: WebhookRequest, name: string): string {
  const v = req.headers[name]
  return (Array.isArray(v) ? v[0] : v) ?? ''
}

/** The body's params: JSON POST, form POST, or none (GET, empty body). */
function bodyParams(req: WebhookRequest): Params | undefined {
  if (req.method !== 'POST' || req.rawBody.length === 0) return {}
  const text = req.rawBody.toString('utf8')
  const type = header(req, 'content-type').toLowerCase()
  const json = type.includes('json') || (!type.includes('form') && text.trimStart().startsWith('{'))
  return json ? fromJson(text) : fromSearch(new URLSearchParams(text))
}

/**
 * Every parameter of a callback, from its query and its body (GET, form POST or JSON POST),
 * or undefined when they cannot be read or a name is given twice.
 */
function readParams(req: WebhookRequest, url: URL): Params | undefined {
  const query = fromSearch(url.searchParams)
  const body = bodyParams(req)
  if (!query || !body) return undefined
  for (const k of Object.keys(body)) if (Object.hasOwn(query, k)) return undefined
  return { ...query, ...body }
}

/** `YYYY-MM-DD HH:MM:SS` (UTC), as Vonage writes `message-timestamp`. */
function parseTimestamp(v: string | undefined): number | undefined {
  const m = v ? /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(v) : null
  if (!m) return undefined
  const at = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`)
  return Number.isFinite(at) ? at : undefined
}

function price(v: string | undefined): Price | undefined {
  if (v === undefined || !/^\d{1,9}(\.\d{1,12})?$/.test(v)) return undefined
  return { amount: Number(v), currency: VONAGE_CURRENCY }
}

function required(p: Params, key: string): string {
  const v = p[key]
  if (v === undefined || v === '') throw new MalformedWebhook(`Vonage callback without "${key}"`)
  return v
}

/** A delivery receipt: one per part, `messageId` being the part's id. */
function toReceipt(p: Params, now: number): ProviderEvent {
  const providerMessageId = required(p, 'messageId')
  const word = required(p, 'status').toLowerCase()
  const errCode = p['err-code']
  const { status, errorCode } = classifyReceipt(word, errCode)
  const event: ProviderEvent = {
    type: 'status',
    providerMessageId,
    status,
    providerCode: errCode && errCode !== '0' ? `${word}/${errCode}` : word,
    at: parseTimestamp(p['message-timestamp']) ?? now,
  }
  if (errorCode !== undefined) event.errorCode = errorCode
  const ref = p['client-ref']
  if (ref) event.messageId = ref
  const cost = price(p.price)
  if (cost) event.price = cost
  return event
}

/** `+` before an international number; short codes and sender names stay as they are. */
function e164(v: string): string {
  return /^\d{7,15}$/.test(v) ? `+${v}` : v
}

function int(p: Params, key: string, min: number, max: number): number {
  const v = required(p, key)
  const n = /^\d{1,3}$/.test(v) ? Number(v) : NaN
  if (!(n >= min && n <= max)) throw new MalformedWebhook(`Vonage callback "${key}" out of range`)
  return n
}

/**
 * An inbound SMS or one part of a concatenated one (`concat=true`): the ingestor reassembles
 * parts by `concat-ref`. A binary SMS has no text to store: acknowledged, no event.
 */
function toInbound(p: Params, now: number): ProviderEvent[] {
  const providerMessageId = required(p, 'messageId')
  const from = required(p, 'msisdn')
  const to = required(p, 'to')
  if (p.type === 'binary') return []
  const text = p.text
  if (text === undefined) throw new MalformedWebhook('Vonage inbound SMS without "text"')
  const event: ProviderEvent = {
    type: 'inbound',
    providerMessageId,
    from: e164(from),
    to: e164(to),
    body: text,
    at: parseTimestamp(p['message-timestamp']) ?? now,
  }
  if (p.concat === 'true') {
    const total = int(p, 'concat-total', 1, 255)
    event.concat = {
      ref: required(p, 'concat-ref'),
      part: int(p, 'concat-part', 1, total),
      total,
    }
  }
  return [event]
}

/**
 * A Vonage SMS API callback (delivery receipt at `status`, inbound SMS at `inbound`), by GET,
 * form POST or JSON POST, at this instance's callback URL. With a signature secret, only a fresh callback whose `sig` verifies
 * is accepted (a URL token does not stand in for it); without one, the `token` query
 * parameter must be ours. Both compared in constant time.
 */
export function handleVonageWebhook(
  req: WebhookRequest,
  auth: VonageCallbackAuth,
  callbackUrls: CallbackUrls,
  now: number,
): WebhookOutcome {
  const url = parseUrl(req.url)
  const ours =
    req.kind === 'status' || req.kind === 'inbound' ? parseUrl(callbackUrls[req.kind]) : undefined
  // Vonage signs the parameters, not the URL: a callback counts only at this instance's URL.
  if (!url || !ours || url.origin !== ours.origin || url.pathname !== ours.pathname) {
    return { verified: false }
  }
  let params: Params | undefined
  if (auth.kind === 'signature') {
    params = readParams(req, url)
    if (!params || !verifyVonageSignature(params, auth.secret, auth.method, now)) {
      return { verified: false }
    }
  } else {
    const tokens = url.searchParams.getAll('token')
    if (tokens.length !== 1 || !sameSecret(tokens[0], auth.token)) return { verified: false }
    params = readParams(req, url)
    if (!params) throw new MalformedWebhook('Vonage callback parameters unreadable')
  }
  if (req.kind === 'status') return { verified: true, events: [toReceipt(params, now)] }
  return { verified: true, events: toInbound(params, now) }
}

function parseUrl(href: string): URL | undefined {
  try {
    return new URL(href)
  } catch {
    return undefined
  }
}

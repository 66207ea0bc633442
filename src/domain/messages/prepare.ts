import { errors, type ErrorDef } from '../errors.js'
import { newId } from '../ids.js'
import { literalDestination } from '../webhooks/destination.js'
import { analyzeBody } from './encoding.js'
import type { MessageRecord } from './message.js'
import { parsePhone } from './phone.js'
import { parseSender } from './sender.js'

/** A send request after schema validation (types are right; values are not yet checked). */
export interface SendRequest {
  to: string
  body: string
  from?: string | undefined
  type?: 'transactional' | 'marketing' | undefined
  metadata?: Record<string, unknown> | undefined
  statusCallback?: string | undefined
  validityPeriod?: number | undefined
  sendAt?: string | undefined
  smartEncoding?: boolean | undefined
  /**
   * The message's id, chosen by an internal caller that must know it before the message is
   * stored (Verify binds its sealed text to it). Never from the API: its schemas have no `id`.
   */
  id?: string | undefined
}

/** The template, version and locale a message's body was rendered from. */
export interface TemplateUse {
  readonly name: string
  readonly version: number
  readonly locale: string
}

export interface MessagePolicy {
  readonly defaultCountry: string | undefined
  readonly maxSegments: number
  readonly smartEncoding: boolean
  readonly defaultValidityPeriod: number
  readonly maxValidityPeriod: number
  readonly maxScheduleAheadSeconds: number
  /** Send to premium-rate and shared-cost destinations (refused by default: toll fraud). */
  readonly allowPremiumDestinations: boolean
  /** A statusCallback may name a loopback or private address (WEBHOOK_ALLOW_PRIVATE). */
  readonly allowPrivateCallbacks: boolean
}

export type PrepareResult =
  | { ok: true; message: MessageRecord }
  | { ok: false; error: ErrorDef; details: Record<string, unknown> }

/**
 * A body made only of these is blank: white space (`\s` covers U+00A0, U+3000 and the other
 * Unicode spaces, and U+FEFF) and invisible format characters (Cf: ZWSP, ZWNJ, ZWJ, WJ, soft
 * hyphen, direction marks).
 */
const BLANK = /^[\s\p{Cf}]*$/u
/** Metadata is stored as JSON; its limit is in UTF-8 bytes. */
const MAX_METADATA_BYTES = 4096
/** Scheduling a moment ago is allowed: client clocks drift. */
const SEND_AT_TOLERANCE_MS = 60_000

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s)
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0
  } catch {
    return false
  }
}

function fail(error: ErrorDef, details: Record<string, unknown>): PrepareResult {
  return { ok: false, error, details }
}

/**
 * Validates one send request and builds the message to store: E.164 destination, sender,
 * encoding and segments, schedule and validity. Expected problems come back as data.
 */
export function prepareMessage(
  req: SendRequest,
  ctx: {
    apiKeyId: string | null
    now: number
    policy: MessagePolicy
    /** The template `req.body` was rendered from, recorded on the message. */
    template?: TemplateUse | undefined
  },
): PrepareResult {
  const { now, policy } = ctx
  const to = parsePhone(req.to, policy.defaultCountry)
  if (!to.ok) return fail(errors.invalid_phone_number, { field: 'to', reason: to.reason })
  if (to.premium !== undefined && !policy.allowPremiumDestinations) {
    return fail(errors.destination_not_allowed, { field: 'to', numberType: to.premium })
  }

  let from: string | null = null
  if (req.from !== undefined) {
    const sender = parseSender(req.from)
    if (sender.ok) from = sender.from
    else if (sender.reason === 'invalid_sender')
      return fail(errors.invalid_sender, { field: 'from' })
    else return fail(errors.invalid_phone_number, { field: 'from', reason: sender.phone })
  }

  if (req.statusCallback !== undefined && !isHttpUrl(req.statusCallback)) {
    return fail(errors.validation_failed, { field: 'statusCallback', reason: 'not an http(s) URL' })
  }
  // A literal internal address is refused now; a host name is checked when it is resolved,
  // on every connection (the webhook worker's destination guard).
  if (
    req.statusCallback !== undefined &&
    !policy.allowPrivateCallbacks &&
    literalDestination(req.statusCallback) === 'refused'
  ) {
    return fail(errors.validation_failed, {
      field: 'statusCallback',
      reason: 'destination_not_allowed',
    })
  }
  // Fast path: a body starting with a visible ASCII character is not blank.
  const first = req.body.charCodeAt(0)
  if (!(first > 0x20 && first < 0x7f) && BLANK.test(req.body)) {
    return fail(errors.validation_failed, {
      field: 'body',
      reason: 'only white space or invisible characters',
    })
  }
  // Lone surrogates cannot be stored or sent; they become U+FFFD, in the stored body too.
  const body = req.body.isWellFormed() ? req.body : req.body.toWellFormed()
  const smart = req.smartEncoding ?? policy.smartEncoding
  const analysis = analyzeBody(body, { smartEncoding: smart })
  if (analysis.segments > policy.maxSegments) {
    return fail(errors.segment_limit_exceeded, {
      segments: analysis.segments,
      maxSegments: policy.maxSegments,
      encoding: analysis.encoding,
    })
  }

  let sendAt: number | null = null
  if (req.sendAt !== undefined) {
    const t = Date.parse(req.sendAt)
    if (Number.isNaN(t)) return fail(errors.invalid_send_at, { reason: 'not_a_date' })
    if (t < now - SEND_AT_TOLERANCE_MS)
      return fail(errors.invalid_send_at, { reason: 'in_the_past' })
    if (t > now + policy.maxScheduleAheadSeconds * 1000) {
      return fail(errors.invalid_send_at, {
        reason: 'too_far_ahead',
        maxScheduleAheadSeconds: policy.maxScheduleAheadSeconds,
      })
    }
    sendAt = Math.max(t, now)
  }

  const validityPeriod = req.validityPeriod ?? policy.defaultValidityPeriod
  if (validityPeriod > policy.maxValidityPeriod) {
    return fail(errors.validation_failed, {
      field: 'validityPeriod',
      maximum: policy.maxValidityPeriod,
    })
  }
  const start = sendAt ?? now
  const scheduled = sendAt !== null && sendAt > now
  const metadata = req.metadata === undefined ? null : JSON.stringify(req.metadata)
  // Up to 3 bytes per UTF-16 code unit: only a long string needs its bytes counted.
  if (
    metadata !== null &&
    metadata.length * 3 > MAX_METADATA_BYTES &&
    Buffer.byteLength(metadata, 'utf8') > MAX_METADATA_BYTES
  ) {
    return fail(errors.validation_failed, {
      field: 'metadata',
      reason: `larger than ${MAX_METADATA_BYTES} bytes`,
    })
  }

  return {
    ok: true,
    message: {
      id: req.id ?? newId('msg'),
      api_key_id: ctx.apiKeyId,
      direction: 'outbound',
      to_number: to.e164,
      from_number: from,
      body,
      type: req.type ?? 'transactional',
      encoding: analysis.encoding,
      segments: analysis.segments,
      smart_encoding: smart ? 1 : 0,
      status: scheduled ? 'scheduled' : 'queued',
      error_code: null,
      error_message: null,
      provider: null,
      provider_message_id: null,
      metadata,
      status_callback: req.statusCallback ?? null,
      validity_period: validityPeriod,
      valid_until: start + validityPeriod * 1000,
      send_at: sendAt,
      attempts: 0,
      next_attempt_at: start,
      lease_owner: null,
      lease_until: null,
      created_at: now,
      updated_at: now,
      sent_at: null,
      completed_at: null,
      sender: null,
      estimated_cost: null,
      cost_currency: null,
      price: null,
      price_currency: null,
      template_name: ctx.template?.name ?? null,
      template_version: ctx.template?.version ?? null,
      template_locale: ctx.template?.locale ?? null,
    },
  }
}

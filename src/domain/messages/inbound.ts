import { newId } from '../ids.js'
import { analyzeBody } from './encoding.js'
import type { MessageRecord } from './message.js'

/** An inbound SMS as a provider reported it (the parts of a concatenated one already joined). */
export interface InboundText {
  readonly providerMessageId: string
  /** E.164. */
  readonly from: string
  /** E.164 number, or the short code as the provider gives it. */
  readonly to: string
  readonly body: string
  /** Epoch milliseconds the provider gave for it, else when it was received. */
  readonly at: number
}

/**
 * The stored form of an inbound SMS: a `received` message, final from the start, with the
 * provider instance and id, and the encoding and segments its text takes.
 */
export function receivedMessage(provider: string, t: InboundText, now: number): MessageRecord {
  const { encoding, segments } = analyzeBody(t.body)
  return {
    id: newId('msg'),
    api_key_id: null,
    direction: 'inbound',
    to_number: t.to,
    from_number: t.from,
    body: t.body,
    type: 'transactional',
    encoding,
    segments,
    smart_encoding: 0,
    status: 'received',
    error_code: null,
    error_message: null,
    provider,
    provider_message_id: t.providerMessageId,
    metadata: null,
    status_callback: null,
    validity_period: 0,
    valid_until: t.at,
    send_at: null,
    attempts: 0,
    next_attempt_at: null,
    lease_owner: null,
    lease_until: null,
    created_at: now,
    updated_at: now,
    sent_at: null,
    completed_at: t.at,
    sender: null,
    estimated_cost: null,
    cost_currency: null,
    price: null,
    price_currency: null,
    template_name: null,
    template_version: null,
    template_locale: null,
  }
}

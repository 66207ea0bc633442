import type { MessageStatus } from './status.js'

/**
 * A stored message, in the column names of the store (kept as is so the hot path does not
 * copy every row). Times are epoch milliseconds.
 */
export interface MessageRecord {
  id: string
  api_key_id: string | null
  direction: 'outbound' | 'inbound'
  to_number: string
  from_number: string | null
  body: string
  type: 'transactional' | 'marketing'
  encoding: 'GSM-7' | 'UCS-2'
  segments: number
  /** 1 when smart encoding was applied to the text sent. */
  smart_encoding: number
  status: MessageStatus
  error_code: string | null
  error_message: string | null
  provider: string | null
  provider_message_id: string | null
  metadata: string | null
  status_callback: string | null
  validity_period: number
  valid_until: number
  send_at: number | null
  attempts: number
  next_attempt_at: number | null
  lease_owner: string | null
  lease_until: number | null
  created_at: number
  updated_at: number
  sent_at: number | null
  completed_at: number | null
  /** The sender it went out through: its own `from`, else its route's sticky sender. */
  sender: string | null
  /** Segments x the price table's price, at send time, in `cost_currency`. */
  estimated_cost: number | null
  cost_currency: string | null
  /** The provider's own price, as its answer or its reports gave it, in `price_currency`. */
  price: number | null
  price_currency: string | null
  /** The template it was rendered from (docs/templates.md); null for a plain body. */
  template_name: string | null
  template_version: number | null
  template_locale: string | null
}

import type { MessageRecord } from './message.js'

/** ISO 8601 for a stored epoch-milliseconds time, null stays null. */
export const iso = (ms: number | null): string | null =>
  ms === null ? null : new Date(ms).toISOString()

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
    metadata: m.metadata === null ? null : (JSON.parse(m.metadata) as Record<string, unknown>),
    statusCallback: m.status_callback,
    validityPeriod: m.validity_period,
    validUntil: new Date(m.valid_until).toISOString(),
    sendAt: iso(m.send_at),
    attempts: m.attempts,
    createdAt: new Date(m.created_at).toISOString(),
    updatedAt: new Date(m.updated_at).toISOString(),
    sentAt: iso(m.sent_at),
    completedAt: iso(m.completed_at),
  }
}

/** The API's views of a message and its history (GET /v1/messages/...), as the pages use them. */
export interface Money {
  amount: number
  currency: string
}

export interface Message {
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
  sender: string | null
  cost: { estimated: Money | null; actual: Money | null }
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
  template: { name: string; version: number; locale: string } | null
}

export interface MessageEvent {
  status: string
  at: string
  errorCode: string | null
  detail: string | null
}

export interface MessageWithEvents extends Message {
  events: MessageEvent[]
}

export interface SendAttempt {
  attempt: number
  provider: string
  sender: string | null
  startedAt: string
  endedAt: string
  outcome: string
  errorCode: string | null
  latencyMs: number
  cost: Money | null
}

export interface MessagePart {
  attempt: number
  part: number
  parts: number
  provider: string
  providerMessageId: string
  status: string | null
  errorCode: string | null
  price: Money | null
}

export interface WebhookDelivery {
  id: string
  url: string
  eventType: string
  status: string
  attempts: number
  lastStatusCode: number | null
  lastError: string | null
  nextAttemptAt: string | null
  createdAt: string
  attemptLog: {
    attempt: number
    at: string
    durationMs: number | null
    statusCode: number | null
    error: string | null
  }[]
}

// The API's own status model (src/domain/messages/status.ts has no dependency).
export { MESSAGE_STATUSES as STATUSES, isFinalStatus } from '../../../../src/domain/messages/status'

export const formatMoney = (m: Money | null | undefined): string =>
  m ? `${m.amount.toFixed(4).replace(/0{1,2}$/, '')} ${m.currency}` : '—'

import { newId } from '../ids.js'
import type { MessageRecord } from '../messages/message.js'
import { presentMessage } from '../messages/present.js'
import type { MessageStatus } from '../messages/status.js'
import type { WebhookDeliveryRecord } from './delivery.js'

/** Builds the outbound webhook deliveries for one status change (the outbox rows). */
export interface StatusChangeFanout {
  (
    message: MessageRecord,
    change: { status: MessageStatus; errorCode: string | null; at: number },
  ): WebhookDeliveryRecord[]
  /**
   * True when every status change makes deliveries (endpoints are configured). Otherwise only
   * a message with a `statusCallback` does, and for the rest the store need not read the row.
   */
  everyMessage(): boolean
}

export interface WebhookTargets {
  /** Configured endpoints that receive every message's status changes. */
  endpoints: readonly { id: string; url: string }[]
}

/**
 * Builds the outbox rows for one status change: one delivery per configured endpoint plus
 * one for the message's own `statusCallback`. The payload is fixed here, so every retry
 * sends the same bytes under the same `webhook-id`.
 */
export function createFanout(targets: WebhookTargets): StatusChangeFanout {
  const fanout = (
    m: MessageRecord,
    change: { status: MessageStatus; errorCode: string | null; at: number },
  ): WebhookDeliveryRecord[] => {
    if (targets.endpoints.length === 0 && m.status_callback === null) return []
    const type = `message.${change.status}`
    const payload = JSON.stringify({
      type,
      timestamp: new Date(change.at).toISOString(),
      data: { ...presentMessage(m), body: undefined },
    })
    const row = (url: string, endpointId: string | null): WebhookDeliveryRecord => ({
      id: newId('whd'),
      message_id: m.id,
      endpoint_id: endpointId,
      url,
      event_type: type,
      payload,
      status: 'pending',
      attempts: 0,
      next_attempt_at: change.at,
      lease_owner: null,
      lease_until: null,
      last_status_code: null,
      last_error: null,
      created_at: change.at,
      updated_at: change.at,
    })
    const out = targets.endpoints.map((e) => row(e.url, e.id))
    if (m.status_callback !== null) out.push(row(m.status_callback, null))
    return out
  }
  return Object.assign(fanout, { everyMessage: () => targets.endpoints.length > 0 })
}

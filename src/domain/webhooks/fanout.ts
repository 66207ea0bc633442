import { newId } from '../ids.js'
import type { MessageRecord } from '../messages/message.js'
import { presentMessage } from '../messages/present.js'
import type { MessageStatus } from '../messages/status.js'
import type { WebhookDeliveryRecord } from './delivery.js'

export interface WebhookTargets {
  /** Configured endpoints that receive every message's status changes. */
  endpoints: readonly { id: string; url: string }[]
}

/**
 * Builds the outbox rows for one status change: one delivery per configured endpoint plus
 * one for the message's own `statusCallback`. The payload is fixed here, so every retry
 * sends the same bytes under the same `webhook-id`.
 */
export function createFanout(targets: WebhookTargets) {
  return (
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
}

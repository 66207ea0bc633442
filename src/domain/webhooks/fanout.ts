import { newId } from '../ids.js'
import type { MessageRecord } from '../messages/message.js'
import { presentMessage } from '../messages/present.js'
import type { MessageStatus } from '../messages/status.js'
import type { WebhookDeliveryRecord } from './delivery.js'

/** Builds the outbound webhook deliveries for one status change (the outbox rows). */
/**
 * One status change. `sequence`: the message's count of status changes, this one included
 * (the first webhook of a message carries 1): a receiver keeps the highest it has seen.
 */
export interface StatusChange {
  status: MessageStatus
  errorCode: string | null
  at: number
  sequence: number
}

export interface StatusChangeFanout {
  (message: MessageRecord, change: StatusChange): WebhookDeliveryRecord[]
  /**
   * True when every status change makes deliveries (endpoints are configured). Otherwise only
   * a message with a `statusCallback` does, and for the rest the store need not read the row.
   */
  everyMessage(): boolean
  /**
   * The outbox rows of an application event that is not a message's status change
   * (`message.received`, `consent.changed`, ...): one per configured endpoint.
   */
  event(type: string, data: unknown, at: number): WebhookDeliveryRecord[]
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
  const fanout = (m: MessageRecord, change: StatusChange): WebhookDeliveryRecord[] => {
    if (targets.endpoints.length === 0 && m.status_callback === null) return []
    const type = `message.${change.status}`
    const payload = JSON.stringify({
      type,
      timestamp: new Date(change.at).toISOString(),
      sequence: change.sequence,
      // The message as the API shows it (statusCallback masked), without its body.
      data: { ...presentMessage(m), body: undefined },
    })
    const row = (url: string, endpointId: string | null): WebhookDeliveryRecord => ({
      id: newId('whd'),
      message_id: m.id,
      endpoint_id: endpointId,
      url,
      destination: endpointId === null ? originOf(url) : `endpoint:${endpointId}`,
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
  const event = (type: string, data: unknown, at: number): WebhookDeliveryRecord[] => {
    if (targets.endpoints.length === 0) return []
    const payload = JSON.stringify({ type, timestamp: new Date(at).toISOString(), data })
    return targets.endpoints.map((e) => ({
      id: newId('whd'),
      message_id: messageIdOf(data),
      endpoint_id: e.id,
      url: e.url,
      destination: `endpoint:${e.id}`,
      event_type: type,
      payload,
      status: 'pending',
      attempts: 0,
      next_attempt_at: at,
      lease_owner: null,
      lease_until: null,
      last_status_code: null,
      last_error: null,
      created_at: at,
      updated_at: at,
    }))
  }
  return Object.assign(fanout, { everyMessage: () => targets.endpoints.length > 0, event })
}

/** The message an event is about (its deliveries show in the message's view), if any. */
function messageIdOf(data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return null
  const id = (data as { id?: unknown; object?: unknown }).id
  return typeof id === 'string' && id.startsWith('msg_') ? id : null
}

/** The origin (scheme, host, port) deliveries to a statusCallback URL are counted under. */
function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

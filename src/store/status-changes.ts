import type { MessageRecord } from '../domain/messages/message.js'
import type { MessageStatus } from '../domain/messages/status.js'
import type { StatusChangeFanout } from '../domain/webhooks/fanout.js'
import type { Query } from './executor.js'
import { DELIVERY_COLUMNS, EVENT_COLUMNS, insertRows } from './rows.js'

/**
 * A message row as the store holds it. `event_seq` counts the message's status changes: every
 * status UPDATE adds one in the same statement, and each webhook carries it as `sequence`.
 */
export type StoredMessage = MessageRecord & { event_seq: number }
/** The SET term every status UPDATE carries. */
export const NEXT_SEQ = 'event_seq = event_seq + 1'

/**
 * Collects the side effects of status changes within one transaction (event rows and the
 * outbox rows of webhook deliveries) and writes them with multi-row inserts at the end.
 */
export class Changes {
  readonly #events: unknown[] = []
  readonly #deliveries: unknown[] = []

  constructor(private readonly fanout: StatusChangeFanout) {}

  /** `m`: the message after the change, or null when the change makes no webhook. */
  add(
    id: string,
    m: StoredMessage | null,
    status: MessageStatus,
    errorCode: string | null,
    detail: string | null,
    at: number,
  ): void {
    this.#events.push(id, status, errorCode, detail, at)
    if (m === null) return
    for (const d of this.fanout(m, { status, errorCode, at, sequence: m.event_seq })) {
      this.#deliveries.push(
        d.id,
        d.message_id,
        d.endpoint_id,
        d.url,
        d.destination,
        d.event_type,
        d.payload,
        d.status,
        d.attempts,
        d.next_attempt_at,
        d.lease_owner,
        d.lease_until,
        d.last_status_code,
        d.last_error,
        d.created_at,
        d.updated_at,
      )
    }
  }

  *write(): Generator<Query, void, unknown> {
    yield* insertRows('message_events', EVENT_COLUMNS, this.#events)
    yield* insertRows('webhook_deliveries', DELIVERY_COLUMNS, this.#deliveries)
  }
}

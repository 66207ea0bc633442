import type { MessageRecord } from '../domain/messages/message.js'
import type { MessageStatus } from '../domain/messages/status.js'
import type { StatusChangeFanout } from '../domain/webhooks/fanout.js'
import { rows, type Query } from './executor.js'
import { DELIVERY_COLUMNS, EVENT_COLUMNS, insertRows } from './rows.js'

/**
 * A message row as the store holds it. `event_seq` counts the message's status changes: every
 * status UPDATE adds one in the same statement, and each webhook carries it as `sequence`.
 */
export type StoredMessage = MessageRecord & { event_seq: number }
/** The SET term every status UPDATE carries. */
export const NEXT_SEQ = 'event_seq = event_seq + 1'

/**
 * What a status UPDATE returns when no endpoint takes every message's changes: enough to tell
 * whether this one makes a webhook. Building the whole row as an object costs more than the
 * UPDATE itself.
 */
export const LEAN_RETURNING = 'id, status_callback, attempts'
export type ChangedRow = Pick<StoredMessage, 'id' | 'status_callback' | 'attempts'>

/**
 * The message a status change fans out from: the row itself when the UPDATE returned it whole
 * (`whole`: RETURNING *), null when the change makes no webhook (no endpoints, no
 * statusCallback), else the row read again in this transaction.
 */
export function* fanoutRow(
  row: ChangedRow,
  whole: boolean,
): Generator<Query, StoredMessage | null, unknown> {
  if (whole) return row as StoredMessage
  if (row.status_callback === null) return null
  const full = (yield rows('SELECT * FROM messages WHERE id = ?', [row.id])) as StoredMessage[]
  return full[0] ?? null
}

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

import type { StatusChangeFanout } from '../domain/webhooks/fanout.js'
import { rows, type TxProgram } from './executor.js'
import { DELIVERY_COLUMNS, insertRows } from './rows.js'

/** An application event as raised: its type and the `data` webhooks and the stream carry. */
export interface AppEvent {
  readonly type: string
  readonly data: unknown
  readonly at: number
}

/** A raised event with its position in the event log (the stream's `id:`). */
export interface LoggedEvent extends AppEvent {
  readonly id: number
}

/**
 * Application events that are not a message's status change (`message.received`,
 * `consent.changed`): each is a row of the event log (what the event stream replays) and, in
 * the same transaction, one outbox delivery per webhook endpoint.
 */
export class EventRepo {
  constructor(private readonly fanout: StatusChangeFanout) {}

  /** Logs `events` in order and queues their webhooks; returns them with their log ids. */
  *raise(events: readonly AppEvent[]): TxProgram<LoggedEvent[]> {
    const logged: LoggedEvent[] = []
    const deliveries: unknown[] = []
    for (const e of events) {
      const data = JSON.stringify(e.data)
      const inserted = (yield rows(
        'INSERT INTO events (type, data, at) VALUES (?, ?, ?) RETURNING id',
        [e.type, data, e.at],
      )) as { id: number | string }[]
      logged.push({ ...e, id: Number(inserted[0]?.id) })
      for (const d of this.fanout.event(e.type, e.data, e.at)) {
        for (const c of DELIVERY_COLUMNS) deliveries.push(d[c])
      }
    }
    if (deliveries.length > 0) yield* insertRows('webhook_deliveries', DELIVERY_COLUMNS, deliveries)
    return logged
  }
}

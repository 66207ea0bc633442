import type { StatusChangeFanout } from '../domain/webhooks/fanout.js'
import { rows, type TxProgram } from './executor.js'
import { DELIVERY_COLUMNS, insertRows } from './rows.js'

/** The PostgreSQL NOTIFY channel of new events; the payload is the schema they were logged in. */
export const EVENTS_CHANNEL = 'switchboard_events'

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
  /** Programs that raised events so far (Store.tx tells listeners after their commit). */
  raised = 0

  constructor(
    private readonly fanout: StatusChangeFanout,
    private readonly dialect: 'sqlite' | 'postgres' = 'sqlite',
  ) {}

  /**
   * Logs `events` in order and queues their webhooks; returns them with their log ids.
   *
   * Streams read the log by id (`WHERE id > last`), so ids must become visible in order. SQLite
   * has one writer; on PostgreSQL two transactions could take ids 5 and 6 and commit 6 first,
   * and a stream reading then would pass 5 for good. A transaction lock per schema makes
   * raising transactions take their ids in commit order (the next one waits for this commit),
   * and `pg_notify` (sent at commit, once per transaction) wakes the streams of every process.
   */
  *raise(events: readonly AppEvent[]): TxProgram<LoggedEvent[]> {
    if (events.length === 0) return []
    this.raised++
    if (this.dialect === 'postgres') {
      yield rows(
        "SELECT pg_advisory_xact_lock(hashtextextended('switchboard.events.' || current_schema(), 0))",
      )
      yield rows(`SELECT pg_notify('${EVENTS_CHANNEL}', current_schema())`)
    }
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

import type { InboundText } from '../domain/messages/inbound.js'
import type { MessageRecord } from '../domain/messages/message.js'
import type { ProviderEvent } from '../providers/provider.js'
import { rows, run, type Query, type TxProgram } from './executor.js'
import { FIRST_EVENT_COLUMNS, insertRows } from './rows.js'
import { MESSAGE_COLUMNS, type InboundPartRow } from './schema.js'

type Dialect = 'sqlite' | 'postgres'
export type InboundSms = Extract<ProviderEvent, { type: 'inbound' }>

/** Builds the `received` message of an inbound text (ids and encoding are the caller's). */
export type MakeInbound = (provider: string, t: InboundText) => MessageRecord

const INBOUND_REF =
  "INSERT INTO provider_refs (provider, provider_message_id, message_id, attempt, part, parts, status) VALUES (?, ?, ?, 0, ?, ?, 'received') ON CONFLICT DO NOTHING"
const GROUP = 'provider = ? AND from_number = ? AND concat_ref = ?'
type PartRow = Omit<InboundPartRow, 'provider' | 'from_number'>

/**
 * Inbound SMS: each provider id is stored once (its provider_refs row, `received`, is what a
 * replayed webhook finds), and the parts of a concatenated SMS wait in inbound_parts until the
 * last one comes, then become one message, joined in part order.
 */
export class InboundRepo {
  constructor(private readonly dialect: Dialect) {}

  /** Stores inbound SMS; returns the messages stored (replays and waiting parts make none). */
  *store(
    provider: string,
    events: readonly InboundSms[],
    make: MakeInbound,
  ): TxProgram<MessageRecord[]> {
    const messages: MessageRecord[] = []
    for (const e of events) {
      if (e.concat && e.concat.total > 1) {
        const joined = yield* this.#part(provider, e, make)
        if (joined) messages.push(joined)
        continue
      }
      const m = make(provider, e)
      // The id's row is what a replay finds: the same id twice is stored once.
      const fresh = (yield run(INBOUND_REF, [provider, e.providerMessageId, m.id, 1, 1])) as number
      if (fresh === 1) messages.push(m)
    }
    yield* this.#insert(messages)
    return messages
  }

  /**
   * Keeps one part of a concatenated SMS; with the last part, returns the whole message (its
   * parts' ids recorded under it, the parts deleted). On PostgreSQL a transaction lock on the
   * group makes two webhooks carrying the last parts at once count each other's: the second
   * sees the first's part, and exactly one of them joins the message.
   */
  *#part(
    provider: string,
    e: InboundSms,
    make: MakeInbound,
  ): Generator<Query, MessageRecord | null, unknown> {
    const concat = e.concat
    if (!concat) return null
    const group = [provider, e.from, concat.ref]
    if (this.dialect === 'postgres') {
      yield rows('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [group.join('\n')])
    }
    // A part of a message already joined (a replay) is not kept again.
    const joined = (yield rows(
      'SELECT 1 AS x FROM provider_refs WHERE provider = ? AND provider_message_id = ?',
      [provider, e.providerMessageId],
    )) as unknown[]
    if (joined.length > 0) return null
    yield run(
      'INSERT INTO inbound_parts (provider, from_number, concat_ref, part, total, to_number, body, provider_message_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [...group, concat.part, concat.total, e.to, e.body, e.providerMessageId, e.at],
    )
    const parts = (yield rows(
      `SELECT concat_ref, part, total, to_number, body, provider_message_id, received_at FROM inbound_parts WHERE ${GROUP} AND part <= ? ORDER BY part`,
      [...group, concat.total],
    )) as PartRow[]
    if (parts.length < concat.total) return null
    return yield* this.#join(provider, e.from, parts, make)
  }

  /**
   * One message of a group's parts, in part order: their ids recorded under it (a replayed
   * part finds its message), the group's rows deleted.
   */
  *#join(
    provider: string,
    from: string,
    parts: readonly PartRow[],
    make: MakeInbound,
  ): Generator<Query, MessageRecord, unknown> {
    const first = parts[0]
    if (!first) throw new Error('no parts to join')
    const m = make(provider, {
      providerMessageId: first.provider_message_id,
      from,
      to: first.to_number,
      body: parts.map((p) => p.body).join(''),
      at: Math.max(...parts.map((p) => p.received_at)),
    })
    for (const p of parts) {
      yield run(INBOUND_REF, [provider, p.provider_message_id, m.id, p.part, p.total])
    }
    yield run(`DELETE FROM inbound_parts WHERE ${GROUP}`, [provider, from, first.concat_ref])
    return m
  }

  *#insert(messages: readonly MessageRecord[]): Generator<Query, void, unknown> {
    if (messages.length === 0) return
    const params: unknown[] = []
    const events: unknown[] = []
    for (const m of messages) {
      for (const c of MESSAGE_COLUMNS) params.push(m[c])
      events.push(m.id, m.status, m.created_at)
    }
    yield* insertRows('messages', MESSAGE_COLUMNS, params)
    yield* insertRows('message_events', FIRST_EVENT_COLUMNS, events)
  }

  /**
   * Concatenated SMS whose last part has not come for a long time (none received since
   * `before`): stored as what came, the parts present joined in order, rather than lost (a
   * carrier can drop a part). Returns the messages that made.
   */
  *flushStaleParts(before: number, make: MakeInbound): TxProgram<MessageRecord[]> {
    const stale = (yield rows(
      'SELECT provider, from_number, concat_ref FROM inbound_parts GROUP BY provider, from_number, concat_ref HAVING MAX(received_at) < ? LIMIT 100',
      [before],
    )) as Pick<InboundPartRow, 'provider' | 'from_number' | 'concat_ref'>[]
    const messages: MessageRecord[] = []
    for (const g of stale) {
      const group = [g.provider, g.from_number, g.concat_ref]
      if (this.dialect === 'postgres') {
        yield rows('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [group.join('\n')])
      }
      const parts = (yield rows(
        `SELECT concat_ref, part, total, to_number, body, provider_message_id, received_at FROM inbound_parts WHERE ${GROUP} ORDER BY part`,
        group,
      )) as PartRow[]
      if (parts.length === 0) continue
      messages.push(yield* this.#join(g.provider, g.from_number, parts, make))
    }
    yield* this.#insert(messages)
    return messages
  }
}

import {
  containsPattern,
  flagsOf,
  mergeFlags,
  parseFlags,
  type ConversationCursor,
  type ConversationView,
} from '../domain/conversations/conversation.js'
import { newId } from '../domain/ids.js'
import type { MessageRecord } from '../domain/messages/message.js'
import type { Db } from './db.js'
import { rows, run, type Query, type TxProgram } from './executor.js'
import { MESSAGE_COLUMNS } from './schema.js'

export interface ConversationFilter {
  status?: 'open' | 'closed' | undefined
  assignee?: string | undefined
  /** The contact's number (E.164). */
  phone?: string | undefined
  unread?: boolean | undefined
  /** Text the body of one of its messages contains (case-insensitive). */
  q?: string | undefined
  /** Exclusive: conversations after this one in the order (newest activity first). */
  after?: ConversationCursor | undefined
  limit: number
}

/** A change an agent makes to a conversation. */
export type ConversationChange =
  | { readonly assignee: string | null }
  | { readonly status: 'open' | 'closed' }
  | { readonly unread: false }
  | { readonly flags: 'clear' }

const VIEW =
  'SELECT c.id, c.contact_id, ct.phone, ct.created_at AS contact_created_at, c.number, c.status, c.unread, c.assignee, c.last_message_at, c.flags, c.created_at, c.updated_at FROM conversations c JOIN contacts ct ON ct.id = c.contact_id'

const UPSERT_CONVERSATION =
  "INSERT INTO conversations (id, contact_id, number, status, unread, assignee, last_message_at, flags, created_at, updated_at) VALUES (?, ?, ?, 'open', 1, NULL, ?, '[]', ?, ?) " +
  "ON CONFLICT (contact_id, number) DO UPDATE SET status = 'open', unread = 1, " +
  'last_message_at = CASE WHEN excluded.last_message_at > conversations.last_message_at THEN excluded.last_message_at ELSE conversations.last_message_at END, ' +
  'updated_at = excluded.updated_at RETURNING id, flags'

const MESSAGE_SELECT = `SELECT ${MESSAGE_COLUMNS.join(', ')} FROM messages`

/**
 * The two halves of a thread, as SQL over `messages` (alias `m`) given the contact's phone and
 * the conversation's number: what the contact sent to the number (the partial index
 * messages_inbound_from), and what went to the contact from the number: its own `from`, or
 * the sender the send worker recorded for a message without one (messages_to).
 */
const inboundHalf = (phone = '?', number = '?') =>
  `m.direction = 'inbound' AND m.from_number = ${phone} AND m.to_number = ${number}`
const outboundHalf = (phone = '?', number = '?') =>
  `m.to_number = ${phone} AND m.direction = 'outbound' AND COALESCE(m.from_number, m.sender) = ${number}`

/**
 * Contacts and conversations. A conversation's messages are not linked by a column: they are
 * the messages between its contact and its number (inboundHalf, outboundHalf), so message
 * intake and the send worker do nothing for threads, and a message sent before the contact's
 * first inbound joins the thread too.
 */
export class ConversationRepo {
  constructor(private readonly db: Db) {}

  /**
   * Threads stored inbound messages, in the transaction that stores them: the sender's contact
   * (created on first contact), the conversation with the number it was sent to (created, or
   * reopened and marked unread, its last activity moved on), and the flags the text raises.
   */
  *recordInbound(stored: readonly MessageRecord[], now: number): TxProgram<Map<string, string>> {
    // Message id -> the conversation it was threaded into.
    const threaded = new Map<string, string>()
    for (const m of stored) {
      if (m.direction !== 'inbound' || m.from_number === null) continue
      const contactId = yield* this.#contact(m.from_number, now)
      const found = (yield rows(UPSERT_CONVERSATION, [
        newId('conv'),
        contactId,
        m.to_number,
        m.created_at,
        now,
        now,
      ])) as { id: string; flags: string }[]
      const conversation = found[0]
      if (conversation) threaded.set(m.id, conversation.id)
      const flags = flagsOf(m)
      if (!conversation || flags.length === 0) continue
      yield run('UPDATE conversations SET flags = ? WHERE id = ?', [
        JSON.stringify(mergeFlags(parseFlags(conversation.flags), flags)),
        conversation.id,
      ])
    }
    return threaded
  }

  /** The contact of `phone`, created if it has none (two transactions at once make one). */
  *#contact(phone: string, now: number): Generator<Query, string, unknown> {
    const select = rows('SELECT id FROM contacts WHERE phone = ?', [phone])
    const existing = (yield select) as { id: string }[]
    if (existing[0]) return existing[0].id
    const inserted = (yield rows(
      'INSERT INTO contacts (id, phone, created_at) VALUES (?, ?, ?) ON CONFLICT (phone) DO NOTHING RETURNING id',
      [newId('ct'), phone, now],
    )) as { id: string }[]
    if (inserted[0]) return inserted[0].id
    // Another transaction inserted it first (PostgreSQL): its row is visible once it committed.
    const raced = (yield select) as { id: string }[]
    if (!raced[0]) throw new Error('contact neither found nor inserted')
    return raced[0].id
  }

  /** A page of conversations, newest activity first. */
  async list(f: ConversationFilter): Promise<ConversationView[]> {
    const where: string[] = []
    const params: unknown[] = []
    if (f.status) {
      where.push('c.status = ?')
      params.push(f.status)
    }
    if (f.assignee !== undefined) {
      where.push('c.assignee = ?')
      params.push(f.assignee)
    }
    if (f.phone !== undefined) {
      where.push('ct.phone = ?')
      params.push(f.phone)
    }
    if (f.unread !== undefined) {
      where.push('c.unread = ?')
      params.push(f.unread ? 1 : 0)
    }
    if (f.after) {
      where.push('(c.last_message_at < ? OR (c.last_message_at = ? AND c.id < ?))')
      params.push(f.after.lastMessageAt, f.after.lastMessageAt, f.after.id)
    }
    if (f.q !== undefined) {
      // SQLite's LIKE ignores case for ASCII letters; PostgreSQL's ILIKE for every letter.
      const like = this.db.dialect === 'postgres' ? 'ILIKE' : 'LIKE'
      const body = `m.body ${like} ? ESCAPE '\\'`
      const pattern = containsPattern(f.q)
      const half = (cond: string) => `EXISTS (SELECT 1 FROM messages m WHERE ${cond} AND ${body})`
      where.push(
        `(${half(inboundHalf('ct.phone', 'c.number'))} OR ${half(outboundHalf('ct.phone', 'c.number'))})`,
      )
      params.push(pattern, pattern)
    }
    const sql = `${VIEW}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY c.last_message_at DESC, c.id DESC LIMIT ?`
    params.push(f.limit)
    return this.db.exec.query<ConversationView>(rows(sql, params))
  }

  async get(id: string): Promise<ConversationView | undefined> {
    const found = await this.db.exec.query<ConversationView>(rows(`${VIEW} WHERE c.id = ?`, [id]))
    return found[0]
  }

  /**
   * The thread's latest `limit` messages before message `before` (all when undefined), oldest
   * first, and whether older ones remain.
   */
  async messages(
    c: Pick<ConversationView, 'phone' | 'number'>,
    o: { before?: string | undefined; limit: number },
  ): Promise<{ messages: MessageRecord[]; more: boolean }> {
    const page = o.before === undefined ? '' : ' AND m.id < ?'
    const tail = ' ORDER BY m.id DESC LIMIT ?'
    const at = (...p: unknown[]) => [
      ...p,
      ...(o.before === undefined ? [] : [o.before]),
      o.limit + 1,
    ]
    const [inbound, outbound] = await Promise.all([
      this.db.exec.query<MessageRecord>(
        rows(`${MESSAGE_SELECT} m WHERE ${inboundHalf()}${page}${tail}`, at(c.phone, c.number)),
      ),
      this.db.exec.query<MessageRecord>(
        rows(`${MESSAGE_SELECT} m WHERE ${outboundHalf()}${page}${tail}`, at(c.phone, c.number)),
      ),
    ])
    const newest = [...inbound, ...outbound].sort((a, b) => (a.id < b.id ? 1 : -1))
    return { messages: newest.slice(0, o.limit).reverse(), more: newest.length > o.limit }
  }

  /** Applies an agent's change; false when there is no such conversation. */
  *change(id: string, change: ConversationChange, now: number): TxProgram<boolean> {
    let set: string
    let value: unknown
    if ('assignee' in change) [set, value] = ['assignee = ?', change.assignee]
    else if ('status' in change) [set, value] = ['status = ?', change.status]
    else if ('unread' in change) [set, value] = ['unread = ?', 0]
    else [set, value] = ['flags = ?', '[]']
    const n = (yield run(`UPDATE conversations SET ${set}, updated_at = ? WHERE id = ?`, [
      value,
      now,
      id,
    ])) as number
    return n > 0
  }

  /** A message was sent in the conversation at `at`: its last activity moves on. */
  *touch(id: string, at: number): TxProgram<void> {
    yield run(
      'UPDATE conversations SET last_message_at = CASE WHEN ? > last_message_at THEN ? ELSE last_message_at END, updated_at = ? WHERE id = ?',
      [at, at, at, id],
    )
  }
}

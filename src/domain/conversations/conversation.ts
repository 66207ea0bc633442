import { readsLikeOptOut } from '../consent/keywords.js'
import { isoOf } from '../messages/present.js'

/** Why a conversation needs a person to look at it. */
export type ConversationFlagType = 'possible_opt_out'

/**
 * A reason to review a conversation, with the message that raised it. `possible_opt_out`: an
 * inbound message reads like a request to stop ("please stop texting me") without being a
 * keyword, so nothing was recorded in the consent ledger.
 */
export interface ConversationFlag {
  readonly type: ConversationFlagType
  readonly messageId: string
  /** ISO 8601: when the message came. */
  readonly at: string
}

/** A conversation keeps at most this many flags, the newest. */
export const MAX_FLAGS = 20

/** The flags an inbound message raises (none for most). */
export function flagsOf(message: {
  readonly id: string
  readonly body: string
  readonly created_at: number
}): ConversationFlag[] {
  if (!readsLikeOptOut(message.body)) return []
  return [{ type: 'possible_opt_out', messageId: message.id, at: isoOf(message.created_at) }]
}

/** The stored flags (JSON), tolerating an empty or unreadable value as none. */
export function parseFlags(json: string | null | undefined): ConversationFlag[] {
  if (!json) return []
  try {
    const v: unknown = JSON.parse(json)
    return Array.isArray(v) ? (v as ConversationFlag[]) : []
  } catch {
    return []
  }
}

/** `existing` with `added` after it (a flag for the same type and message once), capped. */
export function mergeFlags(
  existing: readonly ConversationFlag[],
  added: readonly ConversationFlag[],
): ConversationFlag[] {
  const out = [...existing]
  for (const f of added) {
    if (!out.some((e) => e.type === f.type && e.messageId === f.messageId)) out.push(f)
  }
  return out.slice(-MAX_FLAGS)
}

/** A conversation as the store reads it: the row with its contact. */
export interface ConversationView {
  readonly id: string
  readonly contact_id: string
  readonly phone: string
  readonly contact_created_at: number
  readonly number: string
  readonly status: 'open' | 'closed'
  readonly unread: number
  readonly assignee: string | null
  readonly last_message_at: number
  readonly flags: string
  readonly created_at: number
  readonly updated_at: number
}

/** The public (API) view of a conversation. */
export interface PublicConversation {
  id: string
  contact: { id: string; phone: string; createdAt: string }
  number: string
  status: 'open' | 'closed'
  unread: boolean
  assignee: string | null
  lastMessageAt: string
  flags: ConversationFlag[]
  createdAt: string
  updatedAt: string
}

export function presentConversation(c: ConversationView): PublicConversation {
  return {
    id: c.id,
    contact: { id: c.contact_id, phone: c.phone, createdAt: isoOf(Number(c.contact_created_at)) },
    number: c.number,
    status: c.status,
    unread: Number(c.unread) === 1,
    assignee: c.assignee,
    lastMessageAt: isoOf(Number(c.last_message_at)),
    flags: parseFlags(c.flags),
    createdAt: isoOf(Number(c.created_at)),
    updatedAt: isoOf(Number(c.updated_at)),
  }
}

/** Where a page of conversations (newest activity first) ends. */
export interface ConversationCursor {
  readonly lastMessageAt: number
  readonly id: string
}

export const encodeConversationCursor = (c: ConversationCursor): string =>
  Buffer.from(`${c.lastMessageAt}.${c.id}`).toString('base64url')

const CURSOR = /^(\d{1,16})\.(conv_[0-9A-Z]{26})$/

/** The cursor `encodeConversationCursor` wrote, or null for anything else. */
export function decodeConversationCursor(text: string): ConversationCursor | null {
  const m = CURSOR.exec(Buffer.from(text, 'base64url').toString('utf8'))
  if (!m?.[1] || !m[2]) return null
  return { lastMessageAt: Number(m[1]), id: m[2] }
}

/** A LIKE pattern that finds `q` anywhere, its `%`, `_` and `\` taken literally (ESCAPE '\'). */
export const containsPattern = (q: string): string => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

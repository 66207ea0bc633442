/** Conversations as the API answers them (docs/conversations.md). */
export interface ConversationFlag {
  type: 'possible_opt_out'
  messageId: string
  at: string
}

export interface Conversation {
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

export interface ThreadMessage {
  id: string
  direction: 'inbound' | 'outbound'
  from: string | null
  to: string
  body: string
  status: string
  errorCode: string | null
  errorMessage: string | null
  segments: number
  createdAt: string
  updatedAt: string
  completedAt: string | null
}

export interface ConversationWithMessages extends Conversation {
  messages: ThreadMessage[]
  olderCursor: string | null
}

export interface ConversationFilters {
  status: 'open' | 'closed' | ''
  mine: boolean
  unread: boolean
  q: string
}

export const listKey = (f: ConversationFilters, me: string) =>
  ['conversations', 'list', f.status, f.mine ? me : '', f.unread, f.q] as const
export const detailKey = (id: string) => ['conversations', 'detail', id] as const

/** Message statuses (see docs/ARCHITECTURE.md, status model). */
export const MESSAGE_STATUSES = [
  'scheduled',
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'expired',
  'canceled',
  'rejected',
  'received',
] as const

export type MessageStatus = (typeof MESSAGE_STATUSES)[number]

const RANK: Record<MessageStatus, number> = {
  scheduled: 0,
  queued: 1,
  sending: 2,
  sent: 3,
  delivered: 4,
  undelivered: 4,
  failed: 4,
  expired: 4,
  canceled: 4,
  rejected: 4,
  received: 4,
}

/**
 * Whether a status reported from outside the worker (a provider delivery report) may replace
 * the current one. Transitions only move forward: a late `sent` never overwrites `delivered`,
 * the same report twice changes nothing, and a final status is never replaced.
 */
export function canAdvance(from: MessageStatus, to: MessageStatus): boolean {
  return RANK[to] > RANK[from]
}

/** Whether a message never leaves this status (delivered, failed, received, ...). */
export function isFinalStatus(status: string): boolean {
  return RANK[status as MessageStatus] === RANK.delivered
}

/** The statuses a report may still move a message from to `to` (the store's WHERE clause). */
export function statusesBelow(to: MessageStatus): MessageStatus[] {
  return MESSAGE_STATUSES.filter((s) => canAdvance(s, to))
}

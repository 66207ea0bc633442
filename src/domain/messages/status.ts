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

export const FINAL_STATUSES: readonly MessageStatus[] = MESSAGE_STATUSES.filter(
  (s) => RANK[s] === 4,
)

export function isFinal(status: MessageStatus): boolean {
  return RANK[status] === 4
}

/**
 * Whether a status reported from outside the worker (a provider delivery report) may replace
 * the current one. Transitions only move forward: a late `sent` never overwrites `delivered`,
 * the same report twice changes nothing, and a final status is never replaced.
 */
export function canAdvance(from: MessageStatus, to: MessageStatus): boolean {
  return RANK[to] > RANK[from]
}

/** SQL-friendly list of the statuses a report may still move forward from to `to`. */
export function statusesBelow(to: MessageStatus): MessageStatus[] {
  return MESSAGE_STATUSES.filter((s) => RANK[s] < RANK[to])
}

import type { ReportedStatus } from '../../providers/provider.js'

/**
 * What the provider last reported for one of its ids for a message: a part of a concatenated
 * SMS (one id per part, Vonage), the part of a parent id (Plivo `PartInfo`), or the whole
 * message (one id, every other provider).
 */
export interface PartReport {
  /** How many parts the send was in, as this id's row knows it. */
  readonly parts: number
  /** Null until a report names this id; `received` for an inbound message's id. */
  readonly status: ReportedStatus | 'received' | null
  readonly errorCode: string | null
}

/** The message-level report the parts of one send add up to. */
export interface PartsVerdict {
  readonly status: ReportedStatus
  readonly errorCode: string | null
}

const NEGATIVE = new Set<PartReport['status']>(['undelivered', 'failed'])

/**
 * The status the parts of one send (one attempt) give their message: `delivered` only once
 * every part's receipt says delivered; `undelivered` or `failed` as soon as one part's final
 * receipt is negative (the message's own monotonic rule keeps a later part from moving it
 * back); `sent` while some part is reported and none negative; null before any report.
 *
 * The rows with the largest `parts` are the parts: a Plivo parent id, recorded at send as one
 * part of one, stays out of the count once its parts report themselves three of three. They are
 * counted by row (each a distinct provider id), not by part number, which a report may not
 * give.
 */
export function aggregateParts(rows: readonly PartReport[]): PartsVerdict | null {
  let total = 0
  for (const r of rows) if (r.parts > total) total = r.parts
  let delivered = 0
  let reported = false
  for (const r of rows) {
    if (NEGATIVE.has(r.status)) {
      return { status: r.status as 'undelivered' | 'failed', errorCode: r.errorCode }
    }
    if (r.status === 'delivered' && r.parts === total) delivered++
    if (r.status === 'sent' || r.status === 'delivered') reported = true
  }
  if (total > 0 && delivered >= total) return { status: 'delivered', errorCode: null }
  return reported ? { status: 'sent', errorCode: null } : null
}

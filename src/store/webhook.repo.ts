import type { WebhookDeliveryRecord } from '../domain/webhooks/delivery.js'
import { rows, run, type TxProgram } from './executor.js'

export interface DeliveryAttempt {
  readonly id: string
  readonly attempt: number
  readonly at: number
  readonly durationMs: number
  readonly statusCode: number | null
  readonly error: string | null
  /** Where the delivery goes next: done, given up, or another try at `nextAttemptAt`. */
  readonly result:
    { status: 'succeeded' | 'failed' | 'dropped' } | { status: 'pending'; nextAttemptAt: number }
}

/**
 * How many due deliveries, per delivery claimed, a claim looks at to find destinations with a
 * free slot: it walks the due index in time order and stops there, so one destination's
 * backlog costs a bounded scan (docs/webhooks.md).
 */
const SCAN_FACTOR = 20

/** Outbound webhook deliveries: the same claim-with-lease pattern as messages. */
export class WebhookRepo {
  constructor(private readonly dialect: 'sqlite' | 'postgres') {}

  /**
   * Claims up to `limit` due deliveries, in due order, with at most `perDestination` of one
   * destination in flight: `busy` holds what each destination already has in flight, and a
   * destination that has none to spare is passed over, so its backlog does not hold up the
   * others. The lease is the pushed-back `next_attempt_at`.
   */
  *claim(
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
    perDestination: number = limit,
    busy: ReadonlyMap<string, number> = new Map(),
  ): TxProgram<WebhookDeliveryRecord[]> {
    const full = [...busy].filter(([, n]) => n >= perDestination).map(([d]) => d)
    const partly = [...busy].filter(([, n]) => n < perDestination)
    const notFull = full.length ? ` AND destination NOT IN (${full.map(() => '?').join(', ')})` : ''
    // Slots left per destination; CAST, or PostgreSQL would take the parameters for text.
    const slots = partly.length
      ? `CASE destination ${partly.map(() => 'WHEN ? THEN CAST(? AS integer)').join(' ')} ELSE CAST(? AS integer) END`
      : 'CAST(? AS integer)'
    const candidates = (yield rows(
      `SELECT id FROM (SELECT id, next_attempt_at, ROW_NUMBER() OVER (PARTITION BY destination ORDER BY next_attempt_at, id) AS rn, ${slots} AS slots FROM (SELECT id, destination, next_attempt_at FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?${notFull} ORDER BY next_attempt_at LIMIT ?) due) ranked WHERE rn <= slots ORDER BY next_attempt_at LIMIT ?`,
      [
        ...partly.flatMap(([d, n]) => [d, perDestination - n]),
        perDestination,
        now,
        ...full,
        limit * SCAN_FACTOR,
        limit,
      ],
    )) as { id: string }[]
    if (candidates.length === 0) return []
    // Claimed only if still due: another worker may have taken one since (PostgreSQL skips
    // rows another claim holds rather than waiting for it).
    const skip = this.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''
    return (yield rows(
      `UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?, next_attempt_at = ?, updated_at = ? WHERE id IN (SELECT id FROM webhook_deliveries WHERE id IN (${candidates.map(() => '?').join(', ')}) AND status = 'pending' AND next_attempt_at <= ?${skip}) RETURNING *`,
      [owner, now + leaseMs, now + leaseMs, now, ...candidates.map((c) => c.id), now],
    )) as WebhookDeliveryRecord[]
  }

  *recordAttempts(owner: string, attempts: readonly DeliveryAttempt[]): TxProgram<void> {
    for (const a of attempts) {
      const changed = (yield run(
        'UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_status_code = ?, last_error = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ?',
        [
          a.result.status,
          a.attempt,
          a.result.status === 'pending' ? a.result.nextAttemptAt : null,
          a.statusCode,
          a.error,
          a.at,
          a.id,
          owner,
        ],
      )) as number
      if (changed === 0) continue
      yield run(
        'INSERT INTO webhook_attempts (delivery_id, attempt, at, duration_ms, status_code, error) VALUES (?, ?, ?, ?, ?, ?)',
        [a.id, a.attempt, a.at, a.durationMs, a.statusCode, a.error],
      )
    }
  }
}

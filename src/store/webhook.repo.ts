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

/** Outbound webhook deliveries: the same claim-with-lease pattern as messages. */
export class WebhookRepo {
  constructor(private readonly dialect: 'sqlite' | 'postgres') {}

  /** Claims due deliveries; the lease is the pushed-back `next_attempt_at`. */
  *claim(
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
  ): TxProgram<WebhookDeliveryRecord[]> {
    const skip = this.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''
    return (yield rows(
      `UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?, next_attempt_at = ?, updated_at = ? WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?${skip}) RETURNING *`,
      [owner, now + leaseMs, now + leaseMs, now, now, limit],
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

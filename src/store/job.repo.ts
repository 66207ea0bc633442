import type { JobRow } from './schema.js'
import { rows, run, type TxProgram } from './executor.js'

/** The due time of a dead-lettered job: never reached. */
export const DEAD_LETTER = Number.MAX_SAFE_INTEGER

/** The generic background job table (unmatched delivery reports, maintenance). */
export class JobRepo {
  constructor(private readonly dialect: 'sqlite' | 'postgres') {}

  *enqueue(jobs: readonly JobRow[]): TxProgram<void> {
    for (const j of jobs) {
      yield run(
        'INSERT INTO jobs (id, type, payload, attempts, run_at, lease_owner, lease_until, last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [j.id, j.type, j.payload, j.attempts, j.run_at, null, null, j.last_error, j.created_at],
      )
    }
  }

  /** Claims due jobs; the lease is the pushed-back `run_at`, so a crashed worker's job returns. */
  *claim(owner: string, limit: number, now: number, leaseMs: number): TxProgram<JobRow[]> {
    const skip = this.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''
    return (yield rows(
      `UPDATE jobs SET lease_owner = ?, lease_until = ?, run_at = ?, attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE run_at <= ? ORDER BY run_at LIMIT ?${skip}) RETURNING *`,
      [owner, now + leaseMs, now + leaseMs, now, limit],
    )) as JobRow[]
  }

  *complete(owner: string, ids: readonly string[]): TxProgram<void> {
    for (const id of ids)
      yield run('DELETE FROM jobs WHERE id = ? AND lease_owner = ?', [id, owner])
  }

  /**
   * Gives a job up: it stays, with the reason in `last_error`, and is never claimed again
   * (its due time is DEAD_LETTER) until {@link purgeDead} removes it.
   */
  *deadLetter(owner: string, id: string, reason: string): TxProgram<void> {
    yield run(
      'UPDATE jobs SET run_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?',
      [DEAD_LETTER, reason, id, owner],
    )
  }

  /** Deletes dead letters created before `before`; returns how many. */
  *purgeDead(before: number): TxProgram<number> {
    return (yield run('DELETE FROM jobs WHERE run_at = ? AND created_at < ?', [
      DEAD_LETTER,
      before,
    ])) as number
  }

  *reschedule(owner: string, id: string, runAt: number, error: string): TxProgram<void> {
    yield run(
      'UPDATE jobs SET run_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?',
      [runAt, error, id, owner],
    )
  }
}

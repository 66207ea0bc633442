import type { JobRow } from './schema.js'
import { rows, run, type TxProgram } from './executor.js'

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

  *reschedule(owner: string, id: string, runAt: number, error: string): TxProgram<void> {
    yield run(
      'UPDATE jobs SET run_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?',
      [runAt, error, id, owner],
    )
  }
}

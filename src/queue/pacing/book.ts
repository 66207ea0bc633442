import {
  bookAll,
  type BookRequest,
  type Booking,
  type BookingRules,
  type Logs,
  type Release,
} from './schedule.js'

/**
 * Where a pacing schedule is kept: in this process (one worker), or shared by every worker
 * process (PostgreSQL, Redis). One call is one round: releases, then bookings in order, made
 * atomically against every other process's rounds.
 */
export interface SlotBook {
  /** Where the schedule lives, for logs and `GET /v1/providers`. */
  readonly kind: 'memory' | 'postgres' | 'redis'
  book(
    requests: readonly BookRequest[],
    releases: readonly Release[],
    now: number,
    from: number,
    rules: BookingRules,
  ): Promise<Booking[]>
  close(): Promise<void>
}

/** The schedule of a single worker process (SQLite: only one process sends). */
export class MemoryBook implements SlotBook {
  readonly kind = 'memory'
  readonly #logs: Logs = new Map()

  book(
    requests: readonly BookRequest[],
    releases: readonly Release[],
    now: number,
    from: number,
    rules: BookingRules,
  ): Promise<Booking[]> {
    return Promise.resolve(bookAll(this.#logs, requests, releases, now, from, rules))
  }

  async close(): Promise<void> {}
}

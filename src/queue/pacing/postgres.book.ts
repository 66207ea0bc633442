import { rows, run, type TxProgram } from '../../store/executor.js'
import type { Store } from '../../store/store.js'
import type { SlotBook } from './book.js'
import {
  bookAll,
  type BookRequest,
  type Booking,
  type BookingRules,
  type Logs,
  type Release,
} from './schedule.js'
import { decodeSlots, encodeSlots } from './slots-json.js'

/** Every key a round touches, sorted: rows are locked in this order, so rounds never deadlock. */
export function roundKeys(
  requests: readonly BookRequest[],
  releases: readonly Release[],
): string[] {
  const keys = new Set<string>()
  for (const r of requests) for (const k of r.keys) keys.add(k.key)
  for (const r of releases) for (const k of r.keys) keys.add(k.key)
  return [...keys].sort()
}

/**
 * The pacing schedule in PostgreSQL (table `pacing`), shared by every worker process: a round
 * locks its keys' rows, books against them and writes them back in one transaction.
 */
export class PostgresBook implements SlotBook {
  readonly kind = 'postgres'
  /** Keys whose row this process has already made sure exists. */
  readonly #known = new Set<string>()

  constructor(private readonly store: Store) {}

  book(
    requests: readonly BookRequest[],
    releases: readonly Release[],
    now: number,
    from: number,
    rules: BookingRules,
  ): Promise<Booking[]> {
    const keys = roundKeys(requests, releases)
    if (keys.length === 0) return Promise.resolve([])
    const known = this.#known
    const program = function* (): TxProgram<Booking[]> {
      const fresh = keys.filter((k) => !known.has(k))
      if (fresh.length > 0) {
        yield run(
          `INSERT INTO pacing (key, slots, updated_at) VALUES ${fresh.map(() => "(?, '[]', ?)").join(', ')} ON CONFLICT (key) DO NOTHING`,
          fresh.flatMap((k) => [k, now]),
        )
      }
      const found = (yield rows(
        `SELECT key, slots FROM pacing WHERE key IN (${keys.map(() => '?').join(', ')}) ORDER BY key FOR UPDATE`,
        keys,
      )) as { key: string; slots: string }[]
      const logs: Logs = new Map(found.map((r) => [r.key, decodeSlots(r.slots)]))
      const bookings = bookAll(logs, requests, releases, now, from, rules)
      for (const key of keys) {
        yield run('UPDATE pacing SET slots = ?, updated_at = ? WHERE key = ?', [
          encodeSlots(logs.get(key) ?? []),
          now,
          key,
        ])
      }
      return bookings
    }
    return this.store.tx(program).then((b) => {
      for (const k of keys) known.add(k)
      return b
    })
  }

  async close(): Promise<void> {}
}

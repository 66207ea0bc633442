import type { SlotBook } from './book.js'
import { roundKeys } from './postgres.book.js'
import { RespClient } from './resp.client.js'
import {
  bookAll,
  type BookRequest,
  type Booking,
  type BookingRules,
  type Logs,
  type Release,
} from './schedule.js'
import { decodeSlots, encodeSlots } from './slots-json.js'

/**
 * Writes the new values only if every key still holds what the round read ('' for none):
 * KEYS the keys; ARGV their values as read, then their new values, then the expiry in ms.
 */
const COMPARE_AND_SET = `
local n = #KEYS
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if (v or '') ~= ARGV[i] then return 0 end
end
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[n + i], 'PX', ARGV[2 * n + 1])
end
return 1`

/** One hash tag for every key, so a Redis Cluster keeps them in one slot for the script. */
const PREFIX = 'switchboard:{pacing}:'
/** Rounds that lost the race to another process's, then read again. */
const MAX_TRIES = 50

/**
 * The pacing schedule in Redis (`REDIS_URL`), shared by every worker process: a round reads its
 * keys, books against them in this process, and writes them back only if no other round wrote
 * them meanwhile (compare-and-set in one script); otherwise it reads again.
 */
export class RedisBook implements SlotBook {
  readonly kind = 'redis'
  readonly #client: RespClient
  #sha: string | undefined

  constructor(url: string) {
    this.#client = new RespClient(url)
  }

  async book(
    requests: readonly BookRequest[],
    releases: readonly Release[],
    now: number,
    from: number,
    rules: BookingRules,
  ): Promise<Booking[]> {
    const keys = roundKeys(requests, releases)
    if (keys.length === 0) return []
    const names = keys.map((k) => PREFIX + k)
    // A key unused for a while expires: its slots can no longer constrain anything.
    const ttl = Math.ceil(rules.windowMs * 2 + rules.horizonMs * 2 + 60_000)
    for (let attempt = 1; ; attempt++) {
      const read = (await this.#client.command('MGET', ...names)) as (string | null)[]
      const logs: Logs = new Map(keys.map((k, i) => [k, decodeSlots(read[i])]))
      const bookings = bookAll(logs, requests, releases, now, from, rules)
      const written = keys.map((k) => encodeSlots(logs.get(k) ?? []))
      const args = [...names, ...read.map((v) => v ?? ''), ...written, ttl]
      if ((await this.#compareAndSet(names.length, args)) === 1) return bookings
      if (attempt >= MAX_TRIES) throw new Error('pacing schedule: too many concurrent rounds')
    }
  }

  async #compareAndSet(keys: number, args: (string | number)[]): Promise<number> {
    if (this.#sha !== undefined) {
      try {
        return (await this.#client.command('EVALSHA', this.#sha, keys, ...args)) as number
      } catch (err) {
        if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err
      }
    }
    this.#sha = (await this.#client.command('SCRIPT', 'LOAD', COMPARE_AND_SET)) as string
    return (await this.#client.command('EVALSHA', this.#sha, keys, ...args)) as number
  }

  close(): Promise<void> {
    return this.#client.close()
  }
}

// Risk covered: two worker processes booking on a shared pacing schedule at the same moment
// both take the same room (a lost update), so together they exceed the limit.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import type { SlotBook } from '../../src/queue/pacing/book.js'
import { PostgresBook } from '../../src/queue/pacing/postgres.book.js'
import { RedisBook } from '../../src/queue/pacing/redis.book.js'
import type { Booking, PaceKey } from '../../src/queue/pacing/schedule.js'
import { worstWindow } from '../../src/queue/pacing/test-helpers.js'
import { loadConfig } from '../../src/config.js'
import { createFanout } from '../../src/domain/webhooks/fanout.js'
import { openDb } from '../../src/store/db.js'
import { Store } from '../../src/store/store.js'
import { freshDatabase, TEST_DB } from '../support/harness.js'

const RULES = { windowMs: 1040, horizonMs: 60_000 }
const MPS = 50

/** Two books (two processes) each book `rounds` rounds of 10 sends at once, interleaved. */
async function race(a: SlotBook, b: SlotBook, rounds: number): Promise<Booking[]> {
  const key: PaceKey = { key: `provider:race-${randomBytes(4).toString('hex')}`, mps: MPS }
  const now = Date.now()
  const requests = Array.from({ length: 10 }, () => ({ keys: [key], n: 1 }))
  const all: Booking[] = []
  for (let i = 0; i < rounds; i++) {
    const [x, y] = await Promise.all([
      a.book(requests, [], now, now, RULES),
      b.book(requests, [], now, now, RULES),
    ])
    all.push(...x, ...y)
  }
  return all
}

function check(bookings: Booking[]): void {
  assert.ok(bookings.every((b) => b.outcome === 'booked'))
  const times = bookings.map((b) => b.t)
  assert.equal(new Set(times).size, times.length, 'no slot given twice')
  assert.equal(
    worstWindow(
      times.map((t) => ({ t, n: 1 })),
      RULES.windowMs,
    ),
    MPS,
  )
}

test(
  `two processes booking on PostgreSQL at once never share room (${TEST_DB})`,
  {
    skip: TEST_DB === 'postgres' ? false : 'the PostgreSQL schedule needs PostgreSQL',
  },
  async () => {
    const database = await freshDatabase('postgres')
    // Two stores on one database: two worker processes' connection pools.
    const stores = [0, 1].map(
      () => new Store(openDb(loadConfig(database.env).database), createFanout({ endpoints: [] })),
    )
    try {
      await stores[0]!.db.migrate()
      check(await race(new PostgresBook(stores[0]!), new PostgresBook(stores[1]!), 20))
    } finally {
      for (const s of stores) await s.close()
      await database.drop()
    }
  },
)

test('two processes booking on Redis at once never share room', async () => {
  const a = new RedisBook('redis://127.0.0.1:6379/0')
  const b = new RedisBook('redis://127.0.0.1:6379/0')
  try {
    check(await race(a, b, 20))
  } finally {
    await a.close()
    await b.close()
  }
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bookAll, earliest, type Logs, type PaceKey } from './schedule.js'
import { worstWindow } from './test-helpers.js'

const W = 1000
const RULES = { windowMs: W, horizonMs: Number.POSITIVE_INFINITY }

test('a backlog of one-segment sends is booked evenly, mps per window', () => {
  const key: PaceKey = { key: 'sender:a', mps: 10 }
  const logs: Logs = new Map()
  const b = bookAll(
    logs,
    Array.from({ length: 25 }, () => ({ keys: [key], n: 1 })),
    [],
    0,
    0,
    RULES,
  )
  assert.deepEqual(
    b.map((x) => x.t),
    Array.from({ length: 25 }, (_, i) => i * 100),
  )
  assert.equal(
    worstWindow(
      b.map((x) => ({ t: x.t, n: 1 })),
      W,
    ),
    10,
  )
})

test('mixed segment counts never put more than mps segments in a window', () => {
  const key: PaceKey = { key: 'sender:a', mps: 10 }
  const logs: Logs = new Map()
  let seed = 7
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const sizes = Array.from({ length: 300 }, () => 1 + Math.floor(rand() * 4))
  const b = bookAll(
    logs,
    sizes.map((n) => ({ keys: [key], n })),
    [],
    0,
    0,
    RULES,
  )
  const sends = b.map((x, i) => ({ t: x.t, n: sizes[i]! }))
  assert.ok(worstWindow(sends, W) <= 10, `worst window ${worstWindow(sends, W)}`)
  // And the backlog still moves at most of the limit (segments per second).
  const total = sizes.reduce((a, n) => a + n, 0)
  const span = (sends.at(-1)!.t + W) / 1000
  assert.ok(total / span >= 0.8 * 10, `${total / span} segments per second`)
})

test('a message longer than the limit gets a window to itself', () => {
  const key: PaceKey = { key: 'sender:a', mps: 2 }
  const logs: Logs = new Map()
  const b = bookAll(
    logs,
    [1, 5, 1].map((n) => ({ keys: [key], n })),
    [],
    0,
    0,
    RULES,
  )
  assert.deepEqual(
    b.map((x) => x.t),
    [0, 1000, 2000],
  )
})

test('a fractional limit keeps whole sends apart (0.5 mps: one every two windows)', () => {
  const key: PaceKey = { key: 'sender:a', mps: 0.5 }
  const b = bookAll(
    new Map(),
    [1, 1, 1].map((n) => ({ keys: [key], n })),
    [],
    0,
    0,
    RULES,
  )
  assert.deepEqual(
    b.map((x) => x.t),
    [0, 2000, 4000],
  )
  const k15: PaceKey = { key: 'sender:b', mps: 1.5 }
  const c = bookAll(
    new Map(),
    Array.from({ length: 6 }, () => ({ keys: [k15], n: 1 })),
    [],
    0,
    0,
    RULES,
  )
  assert.equal(
    worstWindow(
      c.map((x) => ({ t: x.t, n: 1 })),
      W,
    ),
    1,
  )
})

test("a slow sender's booking ahead leaves the provider's earlier room to other senders", () => {
  const provider: PaceKey = { key: 'provider:p', mps: 10 }
  const slow: PaceKey = { key: 'sender:slow', mps: 1 }
  const fast: PaceKey = { key: 'sender:fast', mps: 10 }
  const logs: Logs = new Map()
  const slowSends = bookAll(
    logs,
    Array.from({ length: 3 }, () => ({ keys: [provider, slow], n: 1 })),
    [],
    0,
    0,
    RULES,
  )
  assert.deepEqual(
    slowSends.map((x) => x.t),
    [0, 1000, 2000],
  )
  const fastSends = bookAll(
    logs,
    Array.from({ length: 27 }, () => ({ keys: [provider, fast], n: 1 })),
    [],
    0,
    0,
    RULES,
  )
  // The fast sender starts at once, beside the slow sender's first send, and fills the
  // provider's windows around the slow sender's bookings.
  assert.equal(fastSends[0]!.t, 0)
  const all = [...slowSends, ...fastSends].map((x) => ({ t: x.t, n: 1 }))
  assert.equal(worstWindow(all, W), 10)
  assert.ok(fastSends.at(-1)!.t < 3000, `fast sender done at ${fastSends.at(-1)!.t}`)
})

test('earliest honours every key: the tighter limit decides', () => {
  const provider: PaceKey = { key: 'provider:p', mps: 100 }
  const sender: PaceKey = { key: 'sender:s', mps: 4 }
  const logs: Logs = new Map([['sender:s', [{ t: 0, n: 1, s: 1 }]]])
  assert.equal(earliest([provider, sender], 1, logs, 0, W), 250)
  assert.equal(earliest([provider], 1, logs, 0, W), 0)
})

test('beyond the horizon nothing is booked; a release frees its slot', () => {
  const key: PaceKey = { key: 'sender:a', mps: 1 }
  const logs: Logs = new Map()
  const rules = { windowMs: W, horizonMs: 1500 }
  const b = bookAll(
    logs,
    [1, 1, 1].map((n) => ({ keys: [key], n })),
    [],
    0,
    0,
    rules,
  )
  assert.deepEqual(b, [
    { outcome: 'booked', t: 0 },
    { outcome: 'booked', t: 1000 },
    { outcome: 'full', t: 2000 },
  ])
  const again = bookAll(
    logs,
    [{ keys: [key], n: 1 }],
    [{ keys: [key], slot: { t: 1000, n: 1 } }],
    0,
    0,
    rules,
  )
  assert.deepEqual(again, [{ outcome: 'booked', t: 1000 }])
})

test('old sends are trimmed but still count while they can share a window', () => {
  const key: PaceKey = { key: 'sender:a', mps: 1 }
  const logs: Logs = new Map()
  bookAll(logs, [{ keys: [key], n: 1 }], [], 0, 0, RULES)
  // 600 ms later the first send still fills the window.
  assert.deepEqual(bookAll(logs, [{ keys: [key], n: 1 }], [], 600, 600, RULES), [
    { outcome: 'booked', t: 1000 },
  ])
  bookAll(logs, [], [], 5000, 5000, RULES)
  assert.deepEqual(bookAll(logs, [{ keys: [key], n: 1 }], [], 5000, 5000, RULES), [
    { outcome: 'booked', t: 5000 },
  ])
  assert.equal(logs.get('sender:a')!.length, 1)
})

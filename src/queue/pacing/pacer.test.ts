import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryBook } from './book.js'
import { Pacer, PacingDeferred, type PacingLimits } from './pacer.js'
import { settle, VirtualClock, worstWindow } from './test-helpers.js'

interface Msg {
  id: number
  provider: string
  sender: string | null
  n: number
  due: number
  busy: boolean
  sentAt?: number
}

/**
 * A worker on a virtual clock: every `pollMs` it takes every due message not already in hand and
 * paces it; `go` is a send (recorded at that instant), `later` puts the message back until then.
 */
async function dispatch(
  pacer: Pacer,
  clock: VirtualClock,
  msgs: Msg[],
  o: { untilMs: number; pollMs?: number; onTick?: () => void },
): Promise<{ sends: Msg[]; maxHeld: number; handedBack: number }> {
  const { pollMs = 20 } = o
  const sends: Msg[] = []
  const stop = new AbortController()
  let held = 0
  let maxHeld = 0
  let handedBack = 0
  const end = clock.now() + o.untilMs
  while (clock.now() < end && sends.length < msgs.length) {
    for (const m of msgs) {
      if (m.busy || m.sentAt !== undefined || m.due > clock.now()) continue
      m.busy = true
      held++
      void (async () => {
        const r = await pacer.pace(m.provider, m.sender, m.n, stop.signal)
        held--
        m.busy = false
        if (r.outcome === 'go') {
          m.sentAt = clock.now()
          sends.push(m)
        } else {
          handedBack++
          m.due = r.at
        }
      })()
    }
    // What the worker still holds once the pacer has answered this round.
    await settle()
    maxHeld = Math.max(maxHeld, held)
    o.onTick?.()
    await clock.advance(pollMs)
  }
  stop.abort()
  await clock.advance(0)
  return { sends, maxHeld, handedBack }
}

const backlog = (count: number, m: Partial<Msg>, start: number, first = 0): Msg[] =>
  Array.from({ length: count }, (_, i) => ({
    id: first + i,
    provider: 'p',
    sender: null,
    n: 1,
    due: start,
    busy: false,
    ...m,
  }))

const limits = (providers: [string, number][], senders: [string, number][] = []): PacingLimits => ({
  providers: new Map(providers),
  senders: new Map(senders),
})

const windowOf = (sends: Msg[], ms = 1000) =>
  worstWindow(
    sends.map((m) => ({ t: m.sentAt!, n: m.n })),
    ms,
  )

test('a 50 mps sender under backlog: no second holds more than 50, and at least 95% is used', async () => {
  const clock = new VirtualClock()
  const pacer = new Pacer({ book: new MemoryBook(), limits: limits([], [['+1415', 50]]), clock })
  const msgs = backlog(1000, { sender: '+1415' }, clock.now())
  const { sends, maxHeld } = await dispatch(pacer, clock, msgs, { untilMs: 30_000 })
  assert.equal(sends.length, 1000)
  assert.ok(windowOf(sends) <= 50, `worst window ${windowOf(sends)}`)
  // The margin is what keeps one more send out of each second: it must be there.
  assert.equal(windowOf(sends, 1040), 50)
  const span = (sends.at(-1)!.sentAt! - sends[0]!.sentAt!) / 1000
  const rate = (sends.length - 1) / span
  assert.ok(rate >= 0.95 * 50, `${rate.toFixed(2)} per second`)
  // The backlog waits in the queue, not in the worker: about one horizon's worth is held.
  assert.ok(maxHeld <= 120, `held ${maxHeld}`)
})

test('a provider limit holds across its senders, whatever their segment counts', async () => {
  const clock = new VirtualClock()
  const pacer = new Pacer({ book: new MemoryBook(), limits: limits([['p', 20]]), clock })
  let seed = 3
  const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647
  const msgs = backlog(300, {}, clock.now()).map((m, i) => ({
    ...m,
    sender: `+1${i % 5}`,
    n: 1 + Math.floor(rand() * 3),
  }))
  const { sends } = await dispatch(pacer, clock, msgs, { untilMs: 60_000 })
  assert.equal(sends.length, 300)
  assert.ok(windowOf(sends) <= 20, `worst window ${windowOf(sends)}`)
})

test("a slow sender's backlog does not hold up other senders on its provider", async () => {
  const clock = new VirtualClock()
  const pacer = new Pacer({
    book: new MemoryBook(),
    limits: limits(
      [['p', 50]],
      [
        ['+slow', 1],
        ['+fast', 40],
      ],
    ),
    clock,
  })
  // The slow sender's backlog is first in the queue.
  const slow = backlog(300, { sender: '+slow' }, clock.now())
  const fast = backlog(400, { sender: '+fast' }, clock.now(), 300)
  const { sends, maxHeld } = await dispatch(pacer, clock, [...slow, ...fast], { untilMs: 12_000 })
  const fastSends = sends.filter((m) => m.sender === '+fast')
  const slowSends = sends.filter((m) => m.sender === '+slow')
  assert.equal(fastSends.length, 400)
  const span = (fastSends.at(-1)!.sentAt! - fastSends[0]!.sentAt!) / 1000
  assert.ok(399 / span >= 0.95 * 40, `fast sender ${(399 / span).toFixed(2)} per second`)
  assert.ok(fastSends[0]!.sentAt! - clock.now() < 0, 'the fast sender started at once')
  assert.ok(windowOf(slowSends) <= 1 && slowSends.length >= 10, `slow ${slowSends.length}`)
  assert.ok(windowOf(sends) <= 50)
  // The slow backlog was handed back, not held: the worker held about a horizon's worth.
  assert.ok(maxHeld <= 60, `held ${maxHeld}`)
})

test('a send stopped while it waits is handed back at once and frees its slot', async () => {
  const clock = new VirtualClock()
  const pacer = new Pacer({ book: new MemoryBook(), limits: limits([], [['+1', 2]]), clock })
  const open = new AbortController()
  const start = clock.now()
  assert.deepEqual(await pacer.pace('p', '+1', 1, open.signal), { outcome: 'go' })
  const stop = new AbortController()
  const waiting = pacer.pace('p', '+1', 1, stop.signal)
  await clock.advance(300)
  stop.abort()
  assert.deepEqual(await waiting, { outcome: 'later', at: start + 300 })
  // The slot it had (half a window after the first send) is free again for the next send.
  let doneAt: number | undefined
  void Promise.resolve(pacer.pace('p', '+1', 1, open.signal)).then(() => (doneAt = clock.now()))
  await clock.advance(1000)
  assert.equal(doneAt, start + 520)
})

test('a send that wakes late (the process stalled) books a new slot instead of bunching', async () => {
  const clock = new VirtualClock()
  const pacer = new Pacer({ book: new MemoryBook(), limits: limits([], [['+1', 10]]), clock })
  const signal = new AbortController().signal
  const sent: number[] = []
  const start = clock.now()
  for (let i = 0; i < 3; i++) {
    void Promise.resolve(pacer.pace('p', '+1', 1, signal)).then(() =>
      sent.push(clock.now() - start),
    )
  }
  await clock.advance(0)
  assert.deepEqual(sent, [0])
  // Slots at 104 and 208; the process stalls until 150: the second send's slot is gone.
  await clock.stall(150)
  await clock.advance(300)
  assert.deepEqual(sent, [0, 208, 312])
})

test('unpaced sends go at once, without waiting for a round', () => {
  const pacer = new Pacer({ book: new MemoryBook(), limits: limits([['p', 5]]) })
  assert.deepEqual(pacer.pace('q', null, 1, new AbortController().signal), { outcome: 'go' })
  assert.deepEqual(pacer.keysFor('p', '+1'), [{ key: 'provider:p', mps: 5 }])
})

test('as a hook that resolves or rejects: a send handed back rejects with the time to come back', async () => {
  const clock = new VirtualClock()
  const pacer = new Pacer({
    book: new MemoryBook(),
    limits: limits([], [['+1', 1]]),
    clock,
    horizonMs: 500,
  })
  const signal = new AbortController().signal
  await pacer.take('p', '+1', 1, signal)
  const err = await pacer.take('p', '+1', 1, signal).then(
    () => undefined,
    (e: unknown) => e,
  )
  assert.ok(err instanceof PacingDeferred && err.name === 'PacingDeferred')
  // The next slot is one window (1040 ms) on; it comes back half a horizon before it.
  assert.equal(err.at, clock.now() + 1040 - 250)
})

test('timers that fire late on a busy machine are set early: sends still go, within the limit', async () => {
  // Every timer fires 30 ms late, more than a send may be late (15 ms): uncompensated, every
  // send would miss its slot and book another, forever.
  const clock = new VirtualClock(1_800_000_000_000, 30)
  const pacer = new Pacer({
    book: new MemoryBook(),
    limits: limits([], [['+1415', 50]]),
    clock,
    lateMs: 15,
    earlyMs: 10,
  })
  const msgs = backlog(500, { sender: '+1415' }, clock.now())
  const { sends } = await dispatch(pacer, clock, msgs, { untilMs: 20_000 })
  assert.equal(sends.length, 500)
  assert.ok(windowOf(sends) <= 50, `worst window ${windowOf(sends)}`)
  // The first second's timers were set before the lateness was known, and missed their slots;
  // from then on the backlog moves at the full rate.
  const steady = sends.slice(50)
  const span = (steady.at(-1)!.sentAt! - steady[0]!.sentAt!) / 1000
  assert.ok((steady.length - 1) / span >= 0.95 * 50, `${(steady.length - 1) / span} per second`)
})

test('a schedule that cannot be reached hands the send back for a second, and says why', async () => {
  const clock = new VirtualClock()
  const errors: unknown[] = []
  const broken = {
    kind: 'postgres' as const,
    book: () => Promise.reject(new Error('connection refused')),
    close: async () => undefined,
  }
  const pacer = new Pacer({
    book: broken,
    limits: limits([['p', 5]]),
    clock,
    onError: (e) => errors.push(e),
  })
  const err = await pacer.take('p', null, 1, new AbortController().signal).then(
    () => undefined,
    (e: unknown) => e,
  )
  assert.ok(err instanceof PacingDeferred)
  assert.equal(err.at, clock.now() + 1000)
  assert.equal(errors.length, 1)
})

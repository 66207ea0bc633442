import assert from 'node:assert/strict'
import { describe, mock, test, type TestContext } from 'node:test'
import {
  SimulatorCore,
  TRACKED_IDS,
  type SimulatorSubmit,
  type SubmitOutcome,
} from './simulator-core.js'
import type { SimulatorOptions, SimulatorReport } from './simulator-options.js'

const submit = (id: string, attempt = 1, to = '+15550100000'): SimulatorSubmit => ({
  id,
  to,
  from: null,
  body: 'x',
  attempt,
})

/** Outcome without state-dependent details, for comparisons. */
const shape = (o: SubmitOutcome): string =>
  o.kind === 'rate_limited' ? `${o.kind}:${o.retryAfterMs}` : o.kind

/**
 * Fake time for a core: node's mock timers run its one timer, and `monotonic` (the clock its
 * due times are measured on) moves with them.
 */
function fakeTime(t: TestContext) {
  let now = 0
  t.mock.timers.enable({ apis: ['setTimeout'] })
  return {
    monotonic: () => now,
    advance: (ms: number): void => {
      now += ms
      t.mock.timers.tick(ms)
    },
  }
}

/**
 * A core on fake time whose reports are collected; `until(n)` lets fake time pass, 5 ms at a
 * time and at most 10 s, until n reports came; `advance(ms)` lets time pass.
 */
function collecting(t: TestContext, options: SimulatorOptions) {
  const time = fakeTime(t)
  const reports: SimulatorReport[] = []
  let calls = 0
  const core = new SimulatorCore({
    ...options,
    monotonic: time.monotonic,
    onReports: (batch) => {
      calls++
      reports.push(...batch)
    },
  })
  const until = (count: number): void => {
    for (let waited = 0; reports.length < count; waited += 5) {
      if (waited > 10_000) throw new Error(`only ${reports.length}/${count} reports`)
      time.advance(5)
    }
  }
  return { core, reports, until, advance: time.advance, calls: () => calls }
}

const RATES: SimulatorOptions = { transientRate: 0.3, permanentRate: 0.1, dedupe: false }

describe('SimulatorCore determinism', () => {
  test('same seed gives the same outcomes whatever the call order', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `msg-${i}`)
    const forward = new SimulatorCore({ ...RATES, seed: 42 })
    const backward = new SimulatorCore({ ...RATES, seed: 42 })
    const a = new Map<string, string>()
    for (const id of ids)
      for (let n = 1; n <= 3; n++) a.set(`${id}#${n}`, shape(forward.submit(submit(id, n))))
    for (let n = 3; n >= 1; n--) {
      for (const id of [...ids].reverse()) {
        assert.equal(shape(backward.submit(submit(id, n))), a.get(`${id}#${n}`))
      }
    }
    assert.deepEqual(backward.stats(), forward.stats())
  })

  test('a different seed gives different outcomes', () => {
    const one = new SimulatorCore({ ...RATES, seed: 1 })
    const two = new SimulatorCore({ ...RATES, seed: 2 })
    let differ = 0
    for (let i = 0; i < 1000; i++) {
      if (shape(one.submit(submit(`m${i}`))) !== shape(two.submit(submit(`m${i}`)))) differ++
    }
    assert.ok(differ > 200, `only ${differ} differ`)
  })

  test('provider message ids and latency are deterministic', () => {
    const core = new SimulatorCore({ latencyMs: { min: 10, max: 30 } })
    const o = core.submit(submit('abc'))
    assert.equal(o.kind, 'accepted')
    assert.match(o.kind === 'accepted' ? o.providerMessageId : '', /^SIM[0-9a-f]{16}$/)
    assert.deepEqual(new SimulatorCore().submit(submit('abc')), o)
    const latencies = Array.from({ length: 500 }, (_, i) => core.latencyFor(`l${i}`, 1))
    assert.ok(latencies.every((l) => l >= 10 && l <= 30 && Number.isInteger(l)))
    assert.ok(new Set(latencies).size > 10)
    const again = new SimulatorCore({ latencyMs: { min: 10, max: 30 } })
    assert.equal(again.latencyFor('l1', 1), core.latencyFor('l1', 1))
  })
})

describe('SimulatorCore rates', () => {
  test('rates hold within tolerance over 10,000 ids', (t) => {
    const n = 10_000
    const { core, reports, until, advance } = collecting(t, {
      ...RATES,
      undeliveredRate: 0.2,
      dlrDelayMs: 0,
    })
    const kinds: Record<string, number> = {}
    for (let i = 0; i < n; i++) {
      const kind = core.submit(submit(`rate-${i}`)).kind
      kinds[kind] = (kinds[kind] ?? 0) + 1
    }
    const near = (actual: number | undefined, expected: number, tolerance: number) =>
      assert.ok(Math.abs((actual ?? 0) - expected) <= tolerance, `${actual} vs ${expected}`)
    near(kinds.invalid_number, n * 0.1, 150)
    for (const kind of ['server_error', 'rate_limited', 'timeout']) near(kinds[kind], n * 0.09, 120)
    const stats = core.stats()
    assert.equal(stats.attempts, n)
    assert.equal(stats.rejected, kinds.invalid_number)
    assert.equal(stats.timeouts, kinds.timeout)
    assert.equal(stats.accepted, (kinds.accepted ?? 0) + (kinds.timeout ?? 0))
    until(stats.accepted)
    advance(1000)
    assert.equal(reports.length, stats.accepted)
    const undelivered = reports.filter((r) => r.status === 'undelivered')
    near(undelivered.length, stats.accepted * 0.2, 150)
    assert.ok(undelivered.every((r) => r.errorCode === 'undeliverable'))
    core.close()
  })

  test('transientKinds restricts the kinds used', () => {
    const core = new SimulatorCore({ transientRate: 1, transientKinds: ['rate_limited'] })
    for (let i = 0; i < 200; i++) assert.equal(core.submit(submit(`k${i}`)).kind, 'rate_limited')
  })

  test('invalid options are refused', () => {
    assert.throws(() => new SimulatorCore({ transientRate: 1.5 }), RangeError)
    assert.throws(() => new SimulatorCore({ latencyMs: { min: 5, max: 1 } }), RangeError)
    assert.throws(
      () => new SimulatorCore({ rules: [{ match: '/(/', outcome: 'timeout' }] }),
      RangeError,
    )
  })
})

describe('SimulatorCore rules', () => {
  test('rules override rates; transient rules apply to every attempt', () => {
    const core = new SimulatorCore({
      permanentRate: 1,
      rules: [
        { match: '+44', outcome: 'delivered' },
        { match: '/^\\+33[0-9]+$/', outcome: 'timeout' },
        { match: '+49', outcome: 'rate_limited' },
        { match: '+1', outcome: 'invalid_number' },
      ],
    })
    assert.equal(core.submit(submit('a', 1, '+447700900000')).kind, 'accepted')
    for (let n = 1; n <= 5; n++) {
      assert.equal(core.submit(submit('b', n, '+33612345678')).kind, 'timeout')
      assert.equal(core.submit(submit('c', n, '+4915112345')).kind, 'rate_limited')
    }
    assert.equal(core.submit(submit('d', 1, '+15550100')).kind, 'invalid_number')
    assert.equal(core.submit(submit('e', 1, '+61400000000')).kind, 'invalid_number') // rate
    assert.equal(core.acceptedCount('b'), 5)
  })

  test('setRules switches the rules while it runs: a fault that comes and goes', () => {
    const core = new SimulatorCore({ rules: [{ match: '+44', outcome: 'server_error' }] })
    assert.equal(core.submit(submit('a', 1, '+447700900000')).kind, 'server_error')
    core.setRules([{ match: '+', outcome: 'server_error' }])
    assert.equal(core.submit(submit('b', 1, '+15550100')).kind, 'server_error')
    core.setRules([])
    assert.equal(core.submit(submit('c', 1, '+447700900000')).kind, 'accepted')
    assert.throws(() => core.setRules([{ match: '/(/', outcome: 'timeout' }]), RangeError)
  })

  test('an opted_out rule refuses the message, counted as rejected', () => {
    const core = new SimulatorCore({ rules: [{ match: '+1555', outcome: 'opted_out' }] })
    assert.equal(core.submit(submit('a', 1, '+15550100')).kind, 'opted_out')
    assert.equal(core.stats().rejected, 1)
    assert.equal(core.acceptedCount('a'), 0)
  })

  test('an undelivered rule produces an undeliverable report', (t) => {
    const { core, reports, until } = collecting(t, {
      dlrDelayMs: 1,
      rules: [{ match: '+4', outcome: 'undelivered' }],
    })
    core.submit(submit('u', 1, '+4400'))
    core.submit(submit('d', 1, '+3300'))
    until(2)
    assert.deepEqual(
      reports.map((r) => [r.messageId, r.status, r.errorCode]),
      [
        ['u', 'undelivered', 'undeliverable'],
        ['d', 'delivered', undefined],
      ],
    )
    core.close()
  })
})

describe('SimulatorCore dedupe and counting', () => {
  test('dedupe on: same sid, one report, duplicates still counted', (t) => {
    const { core, reports, until, advance } = collecting(t, { dlrDelayMs: 1 })
    const sids = [1, 2, 3].map((n) => core.submit(submit('dup', n)))
    assert.equal(
      new Set(sids.map((o) => (o.kind === 'accepted' ? o.providerMessageId : ''))).size,
      1,
    )
    until(1)
    advance(1000)
    assert.equal(reports.length, 1)
    assert.equal(core.acceptedCount('dup'), 3)
    assert.deepEqual(core.stats(), {
      attempts: 3,
      accepted: 3,
      uniqueAccepted: 1,
      duplicates: 2,
      rejected: 0,
      transient: 0,
      timeouts: 0,
    })
    core.close()
  })

  test('dedupe off: a timeout then a retry delivers twice', (t) => {
    const { core, reports, until } = collecting(t, {
      dlrDelayMs: 1,
      dedupe: false,
      rules: [{ match: '+33', outcome: 'timeout' }],
    })
    assert.equal(core.submit(submit('t', 1, '+3360000')).kind, 'timeout')
    const retry = core.submit(submit('t', 2, '+4470000'))
    assert.equal(retry.kind, 'accepted')
    until(2)
    assert.equal(new Set(reports.map((r) => r.providerMessageId)).size, 2)
    assert.deepEqual([...core.acceptedIds()], ['t'])
    const stats = core.stats()
    assert.equal(stats.duplicates, 1)
    assert.equal(stats.transient, 1)
    core.reset()
    assert.equal(core.stats().attempts, 0)
    assert.equal(core.acceptedCount('t'), 0)
    core.close()
  })

  test('handles 1,000,000 ids with exact totals and bounded memory', () => {
    const core = new SimulatorCore({ permanentRate: 0.01 })
    for (let i = 0; i < 1_000_000; i++) core.submit(submit(`bulk-${i}`))
    const stats = core.stats()
    assert.equal(stats.attempts, 1_000_000)
    assert.equal(stats.uniqueAccepted + stats.rejected, 1_000_000)
    assert.equal(stats.duplicates, 0)
    assert.ok([...core.acceptedIds()].length <= TRACKED_IDS, 'only recent ids are remembered')
    const last = [...core.acceptedIds()].at(-1)
    assert.ok(last && core.acceptedCount(last) === 1)
  })
})

describe('SimulatorCore report batching', () => {
  test('one timer for the whole queue, reports in batches', (t) => {
    const { core, reports, until, advance, calls } = collecting(t, {
      dlrDelayMs: 20,
      maxReportBatch: 400,
    })
    const spy = mock.method(globalThis, 'setTimeout')
    try {
      for (let i = 0; i < 1000; i++) core.submit(submit(`batch-${i}`))
      assert.equal(spy.mock.callCount(), 1)
    } finally {
      spy.mock.restore()
    }
    assert.equal(core.pendingReports(), 1000)
    advance(19)
    assert.equal(reports.length, 0, 'nothing before the delay')
    until(1000)
    assert.equal(reports.length, 1000)
    // 1000 reports in batches of at most 400: a few handler calls, not one per report.
    assert.ok(calls() >= 3 && calls() <= 10, `${calls()} handler calls`)
    assert.equal(new Set(reports.map((r) => r.messageId)).size, 1000)
    assert.equal(core.pendingReports(), 0)
    core.close()
  })

  test('close stops the timer and drops pending reports', (t) => {
    const { core, reports, advance } = collecting(t, { dlrDelayMs: 10 })
    core.submit(submit('c1'))
    core.close()
    assert.equal(core.pendingReports(), 0)
    advance(1000)
    assert.equal(reports.length, 0)
  })
})

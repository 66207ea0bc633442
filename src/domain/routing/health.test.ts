import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HealthWindow, percentile } from './health.js'
import { mergeHealth } from './health-merge.js'
import { ProviderMonitor } from './provider-monitor.js'

test('success rate and latency percentiles over the window', () => {
  const h = new HealthWindow(60_000, 1024)
  // Latencies 1..100 ms, recorded out of order.
  for (let i = 1; i <= 100; i++) h.record(1000 + i, i % 10 !== 0, ((i * 37) % 100) + 1)
  const v = h.view(2000)
  assert.equal(v.sends, 100)
  assert.equal(v.successRate, 0.9)
  assert.equal(v.latencyP50Ms, 50)
  assert.equal(v.latencyP99Ms, 99)
})

test('sends older than the window are left out; none: nulls', () => {
  const h = new HealthWindow(60_000, 1024)
  h.record(0, false, 900)
  h.record(50_000, true, 10)
  assert.deepEqual(h.view(70_000), {
    sends: 1,
    successRate: 1,
    latencyP50Ms: 10,
    latencyP99Ms: 10,
    windowMs: 60_000,
  })
  assert.equal(h.view(200_000).successRate, null)
  assert.equal(h.view(200_000).latencyP99Ms, null)
})

test('the window holds the last `capacity` sends', () => {
  const h = new HealthWindow(60_000, 4)
  for (let i = 0; i < 10; i++) h.record(i, i >= 6, i)
  assert.equal(h.view(10).sends, 4)
  assert.equal(h.view(10).successRate, 1)
})

test('nearest-rank percentiles', () => {
  assert.equal(percentile([], 0.5), null)
  assert.equal(percentile([7], 0.99), 7)
  assert.equal(percentile([1, 2, 3, 4], 0.5), 2)
})

test('the monitor records health and drives the circuit per instance', () => {
  const m = new ProviderMonitor(['a', 'b'], { failures: 2, cooldownMs: 1000 })
  m.record('a', false, 'failure', 5, 0)
  m.record('a', false, 'failure', 5, 1)
  m.record('b', false, 'success', 7, 1)
  m.record('b', false, 'instance_fault', 7, 2)
  const [a, b] = m.snapshot(3)
  assert.equal(a?.circuit.state, 'open')
  assert.equal(a?.health.successRate, 0)
  assert.equal(b?.circuit.state, 'open') // refused credentials: at once
  assert.equal(b?.health.successRate, 0.5)
  assert.throws(() => m.admit('c', 0), /no provider instance named c/)
})

test('several processes: sends add up, the worst latency and circuit show', () => {
  const view = (
    sends: number,
    rate: number | null,
    p99: number | null,
    state: 'closed' | 'open' | 'half-open',
    openedAt: number | null,
    failures = 0,
  ) => ({
    name: 'a',
    health: {
      sends,
      successRate: rate,
      latencyP50Ms: p99 === null ? null : p99 / 2,
      latencyP99Ms: p99,
      windowMs: 300_000,
    },
    circuit: {
      state,
      consecutiveFailures: failures,
      openedAt,
      nextProbeAt: openedAt === null ? null : openedAt + 1000,
    },
  })
  const merged = mergeHealth([
    view(30, 1, 100, 'closed', null),
    view(10, 0.5, 900, 'open', 50, 7),
    view(0, null, null, 'open', 20, 5),
  ])
  assert.deepEqual(merged, {
    name: 'a',
    health: {
      sends: 40,
      successRate: 35 / 40,
      latencyP50Ms: 450,
      latencyP99Ms: 900,
      windowMs: 300_000,
    },
    circuit: { state: 'open', consecutiveFailures: 7, openedAt: 20, nextProbeAt: 1020 },
  })
  assert.equal(mergeHealth([view(1, 1, 1, 'half-open', 5)])?.circuit.state, 'half-open')
  assert.equal(
    mergeHealth([view(1, 1, 1, 'closed', null), view(1, 1, 1, 'half-open', 9)])?.circuit.state,
    'half-open',
  )
  assert.equal(mergeHealth([]), undefined)
})

test('merging: the circuit times come from the processes in the worst state; no sends, no rate', () => {
  const v = (state: 'closed' | 'open' | 'half-open', openedAt: number | null, sends = 0) => ({
    name: 'a',
    health: {
      sends,
      successRate: sends === 0 ? null : 0.1,
      latencyP50Ms: null,
      latencyP99Ms: null,
      windowMs: 1,
    },
    circuit: { state, consecutiveFailures: 0, openedAt, nextProbeAt: openedAt },
  })
  const m = mergeHealth([v('open', 50), v('half-open', 10), v('closed', null)])
  assert.deepEqual(m?.circuit, {
    state: 'open',
    consecutiveFailures: 0,
    openedAt: 50,
    nextProbeAt: 50,
  })
  assert.equal(mergeHealth([v('closed', null), v('closed', null)])?.health.successRate, null)
  // One process: its own figures as they are.
  assert.equal(mergeHealth([v('closed', null, 3)])?.health.successRate, 0.1)
})

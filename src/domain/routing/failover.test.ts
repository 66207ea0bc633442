import assert from 'node:assert/strict'
import { test } from 'node:test'
import { planAfterFailure, selectInstance, type Gate } from './failover.js'
import type { Route } from './route.js'
import { ProviderMonitor } from './provider-monitor.js'

const route = (providers: string[], failoverOnTimeout = false): Route => ({
  providers,
  senders: [],
  failoverOnTimeout,
})
const COOLDOWN = 10_000
const monitor = (names = ['a', 'b', 'c']) =>
  new ProviderMonitor(names, { failures: 1, cooldownMs: COOLDOWN })
const open = (m: ProviderMonitor, name: string, at = 0) => m.record(name, false, 'failure', 1, at)
const all = () => true
const first = { provider: null, code: null }

test('a first attempt goes to the first instance of the route', () => {
  assert.deepEqual(selectInstance(route(['a', 'b']), first, monitor(), 0, all), {
    outcome: 'send',
    provider: 'a',
    probe: false,
  })
})

test('after a retryable failure the next attempt goes to the next instance, round the list', () => {
  const r = route(['a', 'b', 'c'])
  const next = (provider: string) =>
    selectInstance(r, { provider, code: 'provider_unavailable' }, monitor(), 0, all)
  assert.equal((next('a') as { provider: string }).provider, 'b')
  assert.equal((next('b') as { provider: string }).provider, 'c')
  assert.equal((next('c') as { provider: string }).provider, 'a')
})

test('instances whose circuit is open are skipped', () => {
  const m = monitor()
  open(m, 'a')
  open(m, 'b')
  const s = selectInstance(route(['a', 'b', 'c']), first, m, 1, all)
  assert.deepEqual(s, { outcome: 'send', provider: 'c', probe: false })
})

test('every instance open: the message waits for the first probe, as no_provider_available', () => {
  const m = monitor()
  open(m, 'a', 0)
  open(m, 'b', 500)
  assert.deepEqual(selectInstance(route(['a', 'b']), first, m, 600, all), {
    outcome: 'wait',
    until: COOLDOWN,
    code: 'no_provider_available',
  })
  // After the cooldown the first one gets its probe.
  assert.deepEqual(selectInstance(route(['a', 'b']), first, m, COOLDOWN, all), {
    outcome: 'send',
    provider: 'a',
    probe: true,
  })
})

test('the primary takes new messages again once its circuit closes', () => {
  const m = monitor(['a', 'b'])
  open(m, 'a', 0)
  assert.equal(
    (selectInstance(route(['a', 'b']), first, m, 1, all) as { provider: string }).provider,
    'b',
  )
  const probe = m.admit('a', COOLDOWN)
  assert.deepEqual(probe, { admitted: true, probe: true })
  m.record('a', true, 'success', 1, COOLDOWN + 1)
  assert.equal(
    (selectInstance(route(['a', 'b']), first, m, COOLDOWN + 2, all) as { provider: string })
      .provider,
    'a',
  )
})

test('after an unknown outcome the message stays with its instance unless failoverOnTimeout', () => {
  const last = { provider: 'a', code: 'provider_outcome_unknown' }
  const m = monitor()
  assert.equal(
    (selectInstance(route(['a', 'b']), last, m, 0, all) as { provider: string }).provider,
    'a',
  )
  assert.equal(
    (selectInstance(route(['a', 'b'], true), last, m, 0, all) as { provider: string }).provider,
    'b',
  )
  open(m, 'a')
  // Pinned to an open instance: it waits for it, and says why.
  assert.deepEqual(selectInstance(route(['a', 'b']), last, m, 1, all), {
    outcome: 'wait',
    until: COOLDOWN,
    code: 'provider_outcome_unknown',
  })
  // Pinned to an instance no longer configured: no safe resend is left.
  assert.deepEqual(
    selectInstance(route(['b']), last, monitor(), 0, (n) => n !== 'a'),
    { outcome: 'stop' },
  )
})

test('a route instance that no longer exists is passed over', () => {
  const s = selectInstance(route(['gone', 'b']), first, monitor(), 0, (n) => n !== 'gone')
  assert.deepEqual(s, { outcome: 'send', provider: 'b', probe: false })
})

test('plan after a retryable failure: fail over at once when a later instance is closed', () => {
  const m = monitor()
  const r = route(['a', 'b', 'c'])
  assert.equal(planAfterFailure(r, 'a', 'retry', false, m, 0), 'failover')
  // The last instance: going round to the first waits for the backoff (no tight loop).
  assert.equal(planAfterFailure(r, 'c', 'retry', false, m, 0), 'backoff')
  open(m, 'b')
  open(m, 'c')
  assert.equal(planAfterFailure(r, 'a', 'retry', false, m, 1), 'backoff')
  assert.equal(planAfterFailure(route(['a']), 'a', 'retry', false, m, 1), 'backoff')
  assert.equal(planAfterFailure(undefined, 'a', 'retry', false, m, 1), 'backoff')
  // The instance is no longer on the message's route (the routes changed): no failover.
  assert.equal(
    planAfterFailure(route(['x', 'y']), 'a', 'retry', false, monitor(['x', 'y']), 1),
    'backoff',
  )
})

test('plan after an unknown outcome: same instance if it deduplicates, else stop, unless failoverOnTimeout', () => {
  const g: Pick<Gate, 'peek'> = monitor()
  assert.equal(planAfterFailure(route(['a', 'b']), 'a', 'unknown', true, g, 0), 'backoff')
  assert.equal(planAfterFailure(route(['a', 'b']), 'a', 'unknown', false, g, 0), 'give_up_unknown')
  assert.equal(planAfterFailure(route(['a', 'b'], true), 'a', 'unknown', false, g, 0), 'failover')
  assert.equal(planAfterFailure(route(['a'], true), 'a', 'unknown', false, g, 0), 'backoff')
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CircuitBreaker } from './circuit.js'

const COOLDOWN = 30_000
const breaker = () => new CircuitBreaker({ failures: 3, cooldownMs: COOLDOWN })

test('closed: every send goes through; it opens after CIRCUIT_FAILURES consecutive failures', () => {
  const c = breaker()
  assert.deepEqual(c.admit(0), { admitted: true, probe: false })
  c.failure(false, 1)
  c.failure(false, 2)
  assert.equal(c.state, 'closed')
  c.failure(false, 3)
  assert.equal(c.state, 'open')
  assert.deepEqual(c.view(), {
    state: 'open',
    consecutiveFailures: 3,
    openedAt: 3,
    nextProbeAt: 3 + COOLDOWN,
  })
})

test('a success in between resets the count: failures must be consecutive', () => {
  const c = breaker()
  c.failure(false, 1)
  c.failure(false, 2)
  c.success(false)
  c.failure(false, 3)
  c.failure(false, 4)
  assert.equal(c.state, 'closed')
  assert.equal(c.view().consecutiveFailures, 2)
})

test('an instance fault (refused credentials) opens it at once', () => {
  const c = breaker()
  c.failure(false, 10, true)
  assert.equal(c.state, 'open')
  assert.equal(c.view().openedAt, 10)
})

test('open: nothing goes through until the cooldown, then exactly one probe', () => {
  const c = breaker()
  c.failure(false, 0, true)
  assert.deepEqual(c.admit(COOLDOWN - 1), { admitted: false, until: COOLDOWN })
  assert.equal(c.peek(COOLDOWN - 1), false)
  assert.equal(c.peek(COOLDOWN), true)
  assert.deepEqual(c.admit(COOLDOWN), { admitted: true, probe: true })
  assert.equal(c.state, 'half-open')
  // While the probe is under way nothing else goes through; ask again a second later.
  assert.deepEqual(c.admit(COOLDOWN + 5), { admitted: false, until: COOLDOWN + 1005 })
  assert.equal(c.peek(COOLDOWN + 5), false)
  assert.equal(c.view().nextProbeAt, null)
})

test('the probe succeeding closes it', () => {
  const c = breaker()
  c.failure(false, 0, true)
  c.admit(COOLDOWN)
  c.success(true)
  assert.deepEqual(c.view(), {
    state: 'closed',
    consecutiveFailures: 0,
    openedAt: null,
    nextProbeAt: null,
  })
  assert.deepEqual(c.admit(COOLDOWN + 1), { admitted: true, probe: false })
})

test('the probe failing opens it for another cooldown', () => {
  const c = breaker()
  c.failure(false, 0, true)
  c.admit(COOLDOWN)
  c.failure(true, COOLDOWN + 50)
  assert.equal(c.state, 'open')
  assert.deepEqual(c.admit(COOLDOWN + 100), { admitted: false, until: 2 * COOLDOWN + 50 })
})

test('a probe that was not sent (paced out) is handed to the next sender', () => {
  const c = breaker()
  c.failure(false, 0, true)
  c.admit(COOLDOWN)
  c.cancel(true)
  assert.deepEqual(c.admit(COOLDOWN + 1), { admitted: true, probe: true })
})

test('results of sends admitted before it opened never close it', () => {
  const c = breaker()
  c.failure(false, 0, true)
  c.success(false) // a send that went out while it was still closed
  assert.equal(c.state, 'open')
  // Sends that went out before it opened and fail now start no new cooldown.
  for (const at of [5, 6, 7]) c.failure(false, at)
  assert.equal(c.view().openedAt, 0)
  c.admit(COOLDOWN)
  c.success(false)
  assert.equal(c.state, 'half-open')
})

test('with a short cooldown, senders ask again after it rather than after a second', () => {
  const c = new CircuitBreaker({ failures: 1, cooldownMs: 200 })
  c.failure(false, 0)
  c.admit(200)
  assert.deepEqual(c.admit(250), { admitted: false, until: 450 })
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { backoffDelay, decideRetry } from './retry.js'

const policy = { retryBaseMs: 1000, retryMaxMs: 300_000, maxAttempts: 5 }

test('backoff doubles per attempt, with jitter in [half, full], capped', () => {
  assert.equal(
    backoffDelay(1, policy, () => 0),
    500,
  )
  assert.equal(
    backoffDelay(1, policy, () => 1),
    1000,
  )
  assert.equal(
    backoffDelay(4, policy, () => 1),
    8000,
  )
  assert.equal(
    backoffDelay(30, policy, () => 1),
    300_000,
  )
})

test('retry, honouring Retry-After, until validity or attempts run out', () => {
  const now = 1_000_000
  const r = decideRetry(
    { attempts: 1, valid_until: now + 60_000 },
    { outcome: 'retry', code: 'provider_unavailable' },
    now,
    policy,
    () => 1,
  )
  assert.deepEqual(r, {
    kind: 'retry',
    nextAttemptAt: now + 1000,
    errorCode: 'provider_unavailable',
    errorMessage: null,
  })
  const ra = decideRetry(
    { attempts: 1, valid_until: now + 60_000 },
    { outcome: 'retry', code: 'provider_rate_limited', after: 5000 },
    now,
    policy,
    () => 1,
  )
  assert.equal(ra.kind === 'retry' && ra.nextAttemptAt, now + 5000)
  const expired = decideRetry(
    { attempts: 1, valid_until: now + 500 },
    { outcome: 'retry', code: 'provider_timeout' },
    now,
    policy,
    () => 1,
  )
  assert.equal(expired.kind === 'final' && expired.status, 'expired')
  assert.equal(expired.errorCode, 'validity_expired')
  const exhausted = decideRetry(
    { attempts: 5, valid_until: now + 60_000 },
    { outcome: 'retry', code: 'provider_timeout' },
    now,
    policy,
  )
  assert.equal(exhausted.kind === 'final' && exhausted.status, 'failed')
  assert.equal(exhausted.errorCode, 'max_attempts_exceeded')
})

test('a failover retries at once: no backoff and no Retry-After, still within the limits', () => {
  const now = 1_000_000
  const r = decideRetry(
    { attempts: 3, valid_until: now + 500 },
    { outcome: 'retry', code: 'provider_rate_limited', after: 5000 },
    now,
    policy,
    () => 1,
    0,
  )
  assert.deepEqual(r, {
    kind: 'retry',
    nextAttemptAt: now,
    errorCode: 'provider_rate_limited',
    errorMessage: null,
  })
  const exhausted = decideRetry(
    { attempts: 5, valid_until: now + 60_000 },
    { outcome: 'retry', code: 'provider_unavailable' },
    now,
    policy,
    () => 1,
    0,
  )
  assert.equal(exhausted.errorCode, 'max_attempts_exceeded')
})

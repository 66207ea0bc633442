import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signWebhook, verifyWebhook } from './signing.js'

// Test vector from the Standard Webhooks specification's reference libraries.
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
const ts = 1614265330
const body = '{"test": 2432232314}'

test('signs like the Standard Webhooks reference', () => {
  assert.equal(signWebhook(secret, id, ts, body), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')
})

test('verifies any listed signature, rejects tampering and stale timestamps', () => {
  const sig = signWebhook(secret, id, ts, body)
  const now = ts * 1000
  assert.ok(
    verifyWebhook(secret, { id, timestamp: String(ts), signature: `v1,bogus ${sig}` }, body, now),
  )
  assert.equal(
    verifyWebhook(secret, { id, timestamp: String(ts), signature: sig }, body + ' ', now),
    false,
  )
  assert.equal(
    verifyWebhook(secret, { id, timestamp: String(ts), signature: sig }, body, now + 301_000),
    false,
  )
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { canAdvance, isFinalStatus, MESSAGE_STATUSES } from './status.js'

test('transitions only move forward', () => {
  assert.equal(canAdvance('sending', 'sent'), true)
  assert.equal(canAdvance('sending', 'delivered'), true)
  assert.equal(canAdvance('sent', 'delivered'), true)
  assert.equal(canAdvance('delivered', 'sent'), false, 'a late sent never overwrites delivered')
  assert.equal(canAdvance('delivered', 'delivered'), false, 'the same report twice changes nothing')
  assert.equal(canAdvance('delivered', 'undelivered'), false, 'final is final')
  assert.equal(canAdvance('failed', 'delivered'), false)
})

test('isFinalStatus: the statuses a message never leaves', () => {
  assert.deepEqual(
    MESSAGE_STATUSES.filter((s) => isFinalStatus(s)),
    ['delivered', 'undelivered', 'failed', 'expired', 'canceled', 'rejected', 'received'],
  )
  assert.equal(isFinalStatus('not a status'), false)
})

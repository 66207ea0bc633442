import assert from 'node:assert/strict'
import { test } from 'node:test'
import { canAdvance } from './status.js'

test('transitions only move forward', () => {
  assert.equal(canAdvance('sending', 'sent'), true)
  assert.equal(canAdvance('sending', 'delivered'), true)
  assert.equal(canAdvance('sent', 'delivered'), true)
  assert.equal(canAdvance('delivered', 'sent'), false, 'a late sent never overwrites delivered')
  assert.equal(canAdvance('delivered', 'delivered'), false, 'the same report twice changes nothing')
  assert.equal(canAdvance('delivered', 'undelivered'), false, 'final is final')
  assert.equal(canAdvance('failed', 'delivered'), false)
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { aggregateParts, type PartReport } from './parts.js'

const part = (
  status: PartReport['status'],
  parts = 3,
  errorCode: string | null = null,
): PartReport => ({ parts, status, errorCode })

test('a multi-part message is delivered only when every part is', () => {
  assert.deepEqual(aggregateParts([part('delivered'), part('delivered'), part(null)]), {
    status: 'sent',
    errorCode: null,
  })
  assert.deepEqual(aggregateParts([part('delivered'), part('sent'), part('delivered')]), {
    status: 'sent',
    errorCode: null,
  })
  assert.deepEqual(aggregateParts([part('delivered'), part('delivered'), part('delivered')]), {
    status: 'delivered',
    errorCode: null,
  })
})

test('one negative final part decides the message, whatever the others say', () => {
  assert.deepEqual(
    aggregateParts([part('delivered'), part('undelivered', 3, 'undeliverable'), part(null)]),
    { status: 'undelivered', errorCode: 'undeliverable' },
  )
  assert.deepEqual(
    aggregateParts([part('failed', 3, 'carrier_error'), part('delivered'), part('delivered')]),
    { status: 'failed', errorCode: 'carrier_error' },
  )
})

test('sent reports of parts change nothing beyond sent, and nothing reported is no verdict', () => {
  assert.deepEqual(aggregateParts([part('sent'), part('sent'), part('sent')]), {
    status: 'sent',
    errorCode: null,
  })
  assert.equal(aggregateParts([part(null), part(null), part(null)]), null)
  assert.equal(aggregateParts([]), null)
})

test('a single-part message takes its one report', () => {
  assert.deepEqual(aggregateParts([part('delivered', 1)]), { status: 'delivered', errorCode: null })
  assert.equal(aggregateParts([part('received', 1)]), null, 'an inbound id is no delivery report')
})

test('a parent id recorded as one part stays out of the count once its parts report three of three', () => {
  const parent = part(null, 1)
  assert.deepEqual(
    aggregateParts([parent, part('delivered'), part('delivered')]),
    { status: 'sent', errorCode: null },
    'two of three parts: not delivered, though the parent row is one of one',
  )
  assert.deepEqual(
    aggregateParts([parent, part('delivered'), part('delivered'), part('delivered')]),
    {
      status: 'delivered',
      errorCode: null,
    },
  )
  // A delivered parent (a report about the whole, one of one) does not stand for a part.
  assert.deepEqual(aggregateParts([part('delivered', 1), part('delivered'), part('delivered')]), {
    status: 'sent',
    errorCode: null,
  })
})

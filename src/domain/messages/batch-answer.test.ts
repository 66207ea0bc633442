import assert from 'node:assert/strict'
import { test } from 'node:test'
import { refuseInBatchAnswer } from './batch-answer.js'

test('refused messages become error entries by their position among the accepted ones', () => {
  const json = JSON.stringify({
    accepted: 3,
    failed: 1,
    data: [
      { index: 0, message: { id: 'a' } },
      { index: 1, error: { code: 'invalid_sender', message: 'x', details: {} } },
      { index: 2, message: { id: 'b' } },
      { index: 3, message: { id: 'c' } },
    ],
  })
  const out = JSON.parse(
    refuseInBatchAnswer(json, [
      { at: 1, code: 'consent_required', details: { scope: 'marketing' } },
    ]),
  ) as { accepted: number; failed: number; data: { index: number; error?: { code: string } }[] }
  assert.equal(out.accepted, 2)
  assert.equal(out.failed, 2)
  assert.deepEqual(
    out.data.map((d) => [d.index, d.error?.code ?? 'ok']),
    [
      [0, 'ok'],
      [1, 'invalid_sender'],
      [2, 'consent_required'],
      [3, 'ok'],
    ],
  )
  assert.equal(refuseInBatchAnswer(json, []), json)
})

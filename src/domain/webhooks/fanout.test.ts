import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MessageRecord } from '../messages/message.js'
import { createFanout } from './fanout.js'

const at = 1_800_000_000_000
const message: MessageRecord = {
  id: 'msg_01TEST',
  api_key_id: null,
  direction: 'outbound',
  to_number: '+14155550100',
  from_number: null,
  body: 'secret body',
  type: 'transactional',
  encoding: 'GSM-7',
  segments: 1,
  smart_encoding: 0,
  status: 'sent',
  error_code: null,
  error_message: null,
  provider: 'simulator',
  provider_message_id: 'P1',
  metadata: null,
  status_callback: 'https://hook:s3cret@cb.example.com:8443/status?m=1',
  validity_period: 600,
  valid_until: at + 600_000,
  send_at: null,
  attempts: 1,
  next_attempt_at: null,
  lease_owner: null,
  lease_until: null,
  created_at: at,
  updated_at: at,
  sent_at: at,
  completed_at: null,
  sender: '+14155550199',
  estimated_cost: 0.0079,
  cost_currency: 'USD',
  price: null,
  price_currency: null,
  template_name: null,
  template_version: null,
  template_locale: null,
}

test('each delivery carries the sequence, a destination to count concurrency by, and no password', () => {
  const fanout = createFanout({ endpoints: [{ id: 'wep_1', url: 'https://all.example.com/in' }] })
  const rows = fanout(message, { status: 'sent', errorCode: null, at, sequence: 2 })
  assert.deepEqual(
    rows.map((r) => [r.url, r.destination, r.endpoint_id]),
    [
      ['https://all.example.com/in', 'endpoint:wep_1', 'wep_1'],
      // The stored URL keeps its user info: the worker sends it as Basic auth.
      [message.status_callback, 'https://cb.example.com:8443', null],
    ],
  )
  for (const r of rows) {
    const payload = JSON.parse(r.payload) as {
      type: string
      sequence: number
      data: { statusCallback: string; body?: string }
    }
    assert.equal(payload.type, 'message.sent')
    assert.equal(payload.sequence, 2)
    assert.equal(payload.data.statusCallback, 'https://hook:****@cb.example.com:8443/status?m=1')
    assert.equal(payload.data.body, undefined)
    assert.doesNotMatch(r.payload, /s3cret/)
  }
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { SendResult } from '../provider.js'
import {
  classifyTwilioAnswer,
  DEFAULT_RETRY_AFTER_MS,
  reportErrorCode,
  TWILIO_ERROR_CODES,
  type TwilioAnswer,
} from './twilio-errors.js'

const NOW = Date.parse('2026-12-01T12:00:00Z')
const SID = `SM${'0123456789abcdef'.repeat(2)}`

const error = (status: number, code?: number, retryAfter?: string): TwilioAnswer => ({
  kind: 'http',
  status,
  body: { code, message: 'm', more_info: `https://www.twilio.com/docs/errors/${code}`, status },
  retryAfter,
})
const classify = (a: TwilioAnswer): SendResult => classifyTwilioAnswer(a, NOW)

test('every send-time error code of the reference, by its documented meaning', () => {
  const rows: [TwilioAnswer, SendResult][] = [
    [
      error(400, 21211),
      { outcome: 'rejected', code: 'invalid_number', message: 'twilio 21211 (HTTP 400)' },
    ],
    [
      error(400, 21614),
      { outcome: 'rejected', code: 'invalid_number', message: 'twilio 21614 (HTTP 400)' },
    ],
    [
      error(400, 21610),
      {
        outcome: 'rejected',
        code: 'recipient_opted_out',
        message: 'twilio 21610 (HTTP 400)',
        suppress: true,
      },
    ],
    [
      error(400, 21617),
      { outcome: 'rejected', code: 'message_too_long', message: 'twilio 21617 (HTTP 400)' },
    ],
    [
      error(400, 21612),
      { outcome: 'rejected', code: 'unreachable_destination', message: 'twilio 21612 (HTTP 400)' },
    ],
    [
      error(400, 21408),
      { outcome: 'rejected', code: 'unreachable_destination', message: 'twilio 21408 (HTTP 400)' },
    ],
    [
      error(400, 21635),
      { outcome: 'rejected', code: 'unreachable_destination', message: 'twilio 21635 (HTTP 400)' },
    ],
    [
      error(400, 21606),
      { outcome: 'rejected', code: 'provider_rejected', message: 'twilio 21606 (HTTP 400)' },
    ],
    [
      error(400, 21603),
      { outcome: 'rejected', code: 'provider_rejected', message: 'twilio 21603 (HTTP 400)' },
    ],
    [
      error(400, 21604),
      { outcome: 'rejected', code: 'invalid_number', message: 'twilio 21604 (HTTP 400)' },
    ],
    [
      error(400, 99999),
      { outcome: 'rejected', code: 'provider_rejected', message: 'twilio 99999 (HTTP 400)' },
    ],
    [
      error(429, 20429, '3'),
      {
        outcome: 'retry',
        code: 'provider_rate_limited',
        after: 3000,
        message: 'twilio 20429 (HTTP 429)',
      },
    ],
    // 20429 is a rate limit whatever the status it comes with.
    [
      error(400, 20429),
      {
        outcome: 'retry',
        code: 'provider_rate_limited',
        after: DEFAULT_RETRY_AFTER_MS,
        message: 'twilio 20429 (HTTP 400)',
      },
    ],
    [
      error(401, 20003),
      {
        outcome: 'retry',
        code: 'provider_auth_failed',
        fault: 'instance',
        message: 'twilio 20003 (HTTP 401)',
      },
    ],
    [
      error(403, 20003),
      {
        outcome: 'retry',
        code: 'provider_auth_failed',
        fault: 'instance',
        message: 'twilio 20003 (HTTP 403)',
      },
    ],
    [
      error(401, 20005),
      {
        outcome: 'retry',
        code: 'provider_account_error',
        fault: 'instance',
        message: 'twilio 20005 (HTTP 401)',
      },
    ],
    [
      error(404, 20404),
      {
        outcome: 'retry',
        code: 'provider_auth_failed',
        fault: 'instance',
        message: 'twilio 20404 (HTTP 404)',
      },
    ],
    [
      error(500, 20500),
      { outcome: 'retry', code: 'provider_unavailable', message: 'twilio 20500 (HTTP 500)' },
    ],
    [
      error(503, undefined, '7'),
      { outcome: 'retry', code: 'provider_unavailable', after: 7000, message: 'HTTP 503' },
    ],
    [error(408), { outcome: 'retry', code: 'provider_timeout', message: 'HTTP 408' }],
  ]
  for (const [answer, expected] of rows) assert.deepEqual(classify(answer), expected)
})

test('429 honours Retry-After in seconds or as an HTTP date; without one, a default wait', () => {
  const at = (retryAfter?: string) => {
    const r = classify({ kind: 'http', status: 429, body: undefined, retryAfter })
    return r.outcome === 'retry' ? r.after : undefined
  }
  assert.equal(at('120'), 120_000)
  assert.equal(at(new Date(NOW + 30_000).toUTCString()), 30_000)
  assert.equal(at(new Date(NOW - 30_000).toUTCString()), 0)
  assert.equal(at(undefined), DEFAULT_RETRY_AFTER_MS)
  assert.equal(at('soon'), DEFAULT_RETRY_AFTER_MS)
})

test('answers Twilio would not give are classified by status, never thrown', () => {
  const raw = (status: number, body: unknown): SendResult =>
    classify({ kind: 'http', status, body })
  // HTML, empty or truncated bodies reach the classifier as an undefined body.
  assert.deepEqual(raw(400, undefined), {
    outcome: 'rejected',
    code: 'provider_rejected',
    message: 'HTTP 400',
  })
  assert.deepEqual(raw(502, undefined), {
    outcome: 'retry',
    code: 'provider_unavailable',
    message: 'HTTP 502',
  })
  assert.deepEqual(raw(401, undefined), {
    outcome: 'retry',
    code: 'provider_auth_failed',
    fault: 'instance',
    message: 'HTTP 401',
  })
  assert.deepEqual(raw(302, undefined), {
    outcome: 'retry',
    code: 'provider_unavailable',
    fault: 'instance',
    message: 'HTTP 302',
  })
  // Accepted without a message SID: Twilio may have the message, and it cannot be tracked.
  for (const body of [undefined, {}, { sid: 'SM123' }, { sid: 42 }, 'text', null]) {
    assert.deepEqual(raw(201, body), {
      outcome: 'unknown',
      code: 'provider_outcome_unknown',
      message: 'HTTP 201 without a SID',
    })
  }
  assert.deepEqual(raw(201, { sid: SID, status: 'queued' }), {
    outcome: 'accepted',
    providerMessageIds: [SID],
  })
  assert.deepEqual(raw(200, { sid: `MM${SID.slice(2)}` }), {
    outcome: 'accepted',
    providerMessageIds: [`MM${SID.slice(2)}`],
  })
  // A code sent as a string is still the code.
  assert.deepEqual(raw(400, { code: '21211' }), {
    outcome: 'rejected',
    code: 'invalid_number',
    message: 'twilio 21211 (HTTP 400)',
  })
})

test('no answer: never written is retried as it failed; written and lost is unknown', () => {
  assert.deepEqual(classify({ kind: 'not_sent', reason: 'timeout' }), {
    outcome: 'retry',
    code: 'provider_timeout',
  })
  assert.deepEqual(classify({ kind: 'not_sent', reason: 'connection', detail: 'ECONNREFUSED' }), {
    outcome: 'retry',
    code: 'provider_connection_error',
    message: 'ECONNREFUSED',
  })
  assert.deepEqual(classify({ kind: 'lost', detail: 'timeout' }), {
    outcome: 'unknown',
    code: 'provider_outcome_unknown',
    message: 'timeout',
  })
})

test('status callback ErrorCode: every listed code, then the status word decides', () => {
  assert.equal(reportErrorCode('undelivered', '30003'), 'unreachable_destination')
  assert.equal(reportErrorCode('undelivered', '30004'), 'blocked_by_carrier')
  assert.equal(reportErrorCode('undelivered', '30005'), 'unreachable_destination')
  assert.equal(reportErrorCode('undelivered', '30006'), 'unreachable_destination')
  assert.equal(reportErrorCode('undelivered', '30007'), 'blocked_by_carrier')
  assert.equal(reportErrorCode('undelivered', '30008'), 'carrier_error')
  assert.equal(reportErrorCode('failed', '30001'), 'carrier_error')
  assert.equal(reportErrorCode('failed', '30002'), 'provider_rejected')
  assert.equal(reportErrorCode('failed', '30034'), 'blocked_by_carrier')
  assert.equal(reportErrorCode('failed', '21610'), 'recipient_opted_out')
  assert.equal(reportErrorCode('undelivered', undefined), 'undeliverable')
  assert.equal(reportErrorCode('undelivered', '12345'), 'undeliverable')
  assert.equal(reportErrorCode('undelivered', 'constructor'), 'undeliverable')
  assert.equal(reportErrorCode('failed', undefined), 'provider_rejected')
  // Every listed code maps to a permanent code: retryable ones only come from a send.
  for (const meaning of Object.values(TWILIO_ERROR_CODES)) {
    assert.ok(!meaning.code.startsWith('provider_') || meaning.code === 'provider_rejected')
  }
})

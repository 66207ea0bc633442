/**
 * Every Message API answer classified: accepted with the uuid, documented errors, refused
 * credentials as the instance's fault, bad bodies (HTML, empty, truncated) as data, never thrown.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { SendResult } from '../provider.js'
import { classifyAnswer, DEFAULT_RATE_LIMIT_WAIT_MS, type PlivoAnswer } from './plivo-answer.js'

const NOW = Date.parse('2026-01-01T00:00:00Z')
const UUID = 'db3ce55a-7f1d-11e1-8ea7-1231380bc196'
const http = (status: number, body?: unknown, retryAfter?: string): PlivoAnswer => ({
  kind: 'http',
  status,
  retryAfter,
  body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
})
const error = (status: number, text: string) => http(status, { api_id: 'a', error: text })
const brief = (r: SendResult) =>
  r.outcome === 'accepted'
    ? { outcome: r.outcome, ids: r.providerMessageIds }
    : {
        outcome: r.outcome,
        code: r.code,
        ...(r.outcome === 'retry' && r.fault ? { fault: r.fault } : {}),
        ...(r.outcome === 'retry' && r.after !== undefined ? { after: r.after } : {}),
      }

test('202 with message_uuid is accepted under that uuid', () => {
  const body = { api_id: 'x', message: 'message(s) queued', message_uuid: [UUID] }
  assert.deepEqual(brief(classifyAnswer(http(202, body), NOW)), {
    outcome: 'accepted',
    ids: [UUID],
  })
})

test('a 2xx Plivo may have acted on but whose body cannot be read is an unknown outcome', () => {
  for (const body of [
    undefined,
    '',
    '<html><body>OK</body></html>',
    '{"api_id":"x","message_uuid":["db3c',
    '{"message_uuid":[]}',
    '{"message_uuid":"not-a-list"}',
    '{"message_uuid":[42]}',
    '[]',
    'null',
  ]) {
    assert.deepEqual(
      brief(classifyAnswer(http(202, body), NOW)),
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
      String(body),
    )
  }
})

test('202 that queued nothing and names the number invalid is invalid_number', () => {
  const r = classifyAnswer(http(202, { message_uuid: [], invalid_number: ['1415'] }), NOW)
  assert.deepEqual(brief(r), { outcome: 'rejected', code: 'invalid_number' })
})

test('400 is sorted by the words of its error', () => {
  const table: [string, ReturnType<typeof brief>][] = [
    ["invalid 'dst' parameter", { outcome: 'rejected', code: 'invalid_number' }],
    ['destination number is not valid', { outcome: 'rejected', code: 'invalid_number' }],
    ['destination country barred', { outcome: 'rejected', code: 'unreachable_destination' }],
    ['text parameter too long', { outcome: 'rejected', code: 'message_too_long' }],
    [
      'This caller ID is not allowed for outbound message.',
      { outcome: 'rejected', code: 'provider_rejected' },
    ],
    [
      'Insufficient credit',
      { outcome: 'retry', code: 'provider_account_error', fault: 'instance' },
    ],
    [
      'account is disabled',
      { outcome: 'retry', code: 'provider_account_error', fault: 'instance' },
    ],
  ]
  for (const [text, expected] of table)
    assert.deepEqual(brief(classifyAnswer(error(400, text), NOW)), expected, text)
  for (const body of [undefined, '<html>Bad Request</html>', '{"error":']) {
    assert.deepEqual(brief(classifyAnswer(http(400, body), NOW)), {
      outcome: 'rejected',
      code: 'provider_rejected',
    })
  }
})

test("the provider's error text is kept short, with phone numbers masked", () => {
  const r = classifyAnswer(
    error(400, `invalid 'dst' parameter 14155550100 ${'x'.repeat(500)}`),
    NOW,
  )
  assert.equal(r.outcome, 'rejected')
  assert.ok(r.message?.startsWith("HTTP 400: invalid 'dst' parameter … "), r.message)
  assert.doesNotMatch(r.message ?? '', /\d{4,}/)
  assert.ok((r.message ?? '').length <= 180)
})

test('401, 403 and 404 (unknown Auth ID) are a fault of the instance, whatever the body', () => {
  for (const status of [401, 403, 404]) {
    for (const body of [undefined, 'Could not verify your access level', '{"error":"not found"}']) {
      assert.deepEqual(brief(classifyAnswer(http(status, body), NOW)), {
        outcome: 'retry',
        code: 'provider_auth_failed',
        fault: 'instance',
      })
    }
  }
})

test('429 waits for Retry-After (seconds or date), else a second', () => {
  const rate = (retryAfter?: string) => brief(classifyAnswer(http(429, '', retryAfter), NOW))
  assert.deepEqual(rate('3'), { outcome: 'retry', code: 'provider_rate_limited', after: 3000 })
  assert.deepEqual(rate(new Date(NOW + 7000).toUTCString()), {
    outcome: 'retry',
    code: 'provider_rate_limited',
    after: 7000,
  })
  assert.deepEqual(rate(), {
    outcome: 'retry',
    code: 'provider_rate_limited',
    after: DEFAULT_RATE_LIMIT_WAIT_MS,
  })
  assert.deepEqual(rate('soon'), {
    outcome: 'retry',
    code: 'provider_rate_limited',
    after: DEFAULT_RATE_LIMIT_WAIT_MS,
  })
})

test('5xx retries (honouring Retry-After), 408 is a timeout, other statuses are classified', () => {
  for (const status of [500, 502, 503, 504]) {
    assert.deepEqual(brief(classifyAnswer(http(status, '<html>Bad Gateway</html>'), NOW)), {
      outcome: 'retry',
      code: 'provider_unavailable',
    })
  }
  assert.deepEqual(brief(classifyAnswer(http(503, '', '5'), NOW)), {
    outcome: 'retry',
    code: 'provider_unavailable',
    after: 5000,
  })
  assert.deepEqual(brief(classifyAnswer(http(408), NOW)), {
    outcome: 'retry',
    code: 'provider_timeout',
  })
  assert.deepEqual(brief(classifyAnswer(http(405), NOW)), {
    outcome: 'rejected',
    code: 'provider_rejected',
  })
  assert.deepEqual(brief(classifyAnswer(http(302, ''), NOW)), {
    outcome: 'retry',
    code: 'provider_unavailable',
    fault: 'instance',
  })
})

test('not sent is a retry; sent without an answer is unknown', () => {
  assert.deepEqual(brief(classifyAnswer({ kind: 'not_sent', detail: 'ECONNREFUSED' }, NOW)), {
    outcome: 'retry',
    code: 'provider_connection_error',
  })
  assert.deepEqual(brief(classifyAnswer({ kind: 'no_answer', detail: 'aborted' }, NOW)), {
    outcome: 'unknown',
    code: 'provider_outcome_unknown',
  })
})

/** Scheduling and delivery options: sendAt, validityPeriod, statusCallback. */
import { DAY, send, show, type Case } from './case.js'

const now = Date.now()
const iso = (ms: number) => new Date(ms).toISOString()
const failed = { status: 422, code: 'validation_failed' } as const

/** Not RFC 3339 date-times: refused by the schema. */
const NOT_RFC3339 = [
  'tomorrow',
  'now',
  '2024-13-01T00:00:00Z',
  '2030-01-01',
  '2030-02-30T00:00:00Z',
  '2030-01-01T00:00:00',
  '2030-01-01T25:00:00Z',
  '2030-01-01T00:00:00+25:00',
  '+275760-09-13T00:00:00Z',
  '1700000000',
]
const OUT_OF_RANGE: [string, string][] = [
  ['2030-06-30T23:59:60Z', 'not_a_date'],
  [iso(now - 2 * 60_000), 'in_the_past'],
  [iso(now - DAY), 'in_the_past'],
  ['1970-01-01T00:00:00Z', 'in_the_past'],
  [iso(now + 36 * DAY), 'too_far_ahead'],
  ['9999-12-31T23:59:59Z', 'too_far_ahead'],
]
const BAD_CALLBACKS = [
  'not a url',
  'example.com',
  'ftp://example.com/x',
  'javascript:alert(1)',
  'file:///etc/passwd',
  'HTTP://EXAMPLE.COM',
  '//example.com',
  'https:example.com',
  'https://exa mple.com',
  'https://[::1',
  'https://example.com/\u0000',
  ' https://example.com',
  `https://example.com/${'a'.repeat(2048)}`,
  '',
]

export const cases: Case[] = [
  ...NOT_RFC3339.map((sendAt): Case => ({
    name: `sendAt ${sendAt}`,
    ...send({ sendAt }),
    ...failed,
    at: { path: '/sendAt' },
  })),
  ...OUT_OF_RANGE.map(([sendAt, reason]): Case => ({
    name: `sendAt ${sendAt} (${reason})`,
    ...send({ sendAt }),
    status: 422,
    code: 'invalid_send_at',
    details: { reason },
  })),
  ...[0, -1, 1.5, 604_801, 1e20].map((validityPeriod): Case => ({
    name: `validityPeriod ${validityPeriod}`,
    ...send({ validityPeriod }),
    ...failed,
    at: { path: '/validityPeriod' },
  })),
  ...BAD_CALLBACKS.map((statusCallback): Case => ({
    name: `statusCallback ${show(statusCallback.slice(0, 40))}`,
    ...send({ statusCallback }),
    ...failed,
    at: { path: '/statusCallback' },
  })),
]

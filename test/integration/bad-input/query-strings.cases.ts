/** GET /v1/messages query strings: filters, limits, cursors, unknown and repeated parameters. */
import { UNKNOWN_KEY, UNKNOWN_MSG, b64url, type Case } from './case.js'

const STATUSES =
  'must be one of: scheduled, queued, sending, sent, delivered, undelivered, failed, expired, canceled, rejected, received'

const failed: [string, string, string?][] = [
  // [query, path of the problem, message]
  ['status=bogus', '/status', STATUSES],
  ['status=DELIVERED', '/status', STATUSES],
  ['status=', '/status', STATUSES],
  ['status=delivered&status=sent', '/status'],
  ['type=bogus', '/type', 'must be one of: transactional, marketing'],
  ['direction=sideways', '/direction', 'must be one of: outbound, inbound'],
  ['limit=0', '/limit'],
  ['limit=201', '/limit'],
  ['limit=1.5', '/limit'],
  ['limit=abc', '/limit'],
  ['limit=1&limit=2', '/limit'],
  ['limit=99999999999999999999', '/limit'],
  ['createdAfter=yesterday', '/createdAfter'],
  ['createdAfter=2024-02-30T00:00:00Z', '/createdAfter'],
  ['createdBefore=2024-01-01T25:00:00Z', '/createdBefore'],
  ['createdAfter=2024-01-01T00:00:00Z&createdAfter=2024-01-02T00:00:00Z', '/createdAfter'],
  [`cursor=${'x'.repeat(201)}`, '/cursor'],
  ['cursor=a&cursor=b', '/cursor'],
  [`from=${'a'.repeat(33)}`, '/from'],
  ['from=a%00b', '/from'],
  ['foo=1', ''],
  ['offset=10', ''],
  ['__proto__=1', ''],
  ['limit[]=1', ''],
  ['Limit=5', ''],
]
const badCursors = [
  '',
  '!!!!',
  b64url('msg_123'),
  b64url(UNKNOWN_KEY),
  b64url(`msg_${'a'.repeat(26)}`),
  b64url(`${UNKNOWN_MSG}\u0000`),
  UNKNOWN_MSG,
  "'%20OR%20'1'%3D'1",
]

export const cases: Case[] = [
  ...failed.map(([query, path, message]): Case => ({
    name: query.slice(0, 60),
    url: `/v1/messages?${query}`,
    key: 'read',
    status: 422,
    code: 'validation_failed',
    at: { path, in: 'querystring', ...(message ? { message } : {}) },
  })),
  ...badCursors.map((cursor): Case => ({
    name: `cursor=${cursor.slice(0, 40)}`,
    url: `/v1/messages?cursor=${cursor}`,
    key: 'read',
    status: 422,
    code: 'invalid_cursor',
  })),
]

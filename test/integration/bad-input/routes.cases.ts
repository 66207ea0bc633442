/** Unknown routes and methods, and path ids that are malformed, too long or unknown. */
import { UNKNOWN_KEY, UNKNOWN_MSG, type Case } from './case.js'

const UNKNOWN_ROUTES: [NonNullable<Case['method']>, string][] = [
  ['POST', '/'],
  ['GET', '/v2/messages'],
  ['POST', '/v1/message'],
  ['GET', '/v1/messages/x/y'],
  ['GET', `/v1/messages/${UNKNOWN_MSG}/cancel`],
  ['PUT', '/v1/messages'],
  ['DELETE', `/v1/messages/${UNKNOWN_MSG}`],
  ['DELETE', `/v1/keys/${UNKNOWN_KEY}`],
  ['POST', '/v1/messages/batch/x'],
  ['OPTIONS', '/v1/messages'],
  ['PUT', '/webhooks/simulator/status'],
  ['GET', '/webhooks/simulator/status/extra'],
  ['GET', '/.env'],
  ['GET', '/V1/MESSAGES'],
  ['GET', '//v1//messages'],
  ['GET', '/%2e%2e/%2e%2e/etc/passwd'],
]

const IDS: [string, string, 'not_found' | 'validation_failed' | 'invalid_request'][] = [
  ['unknown id', UNKNOWN_MSG, 'not_found'],
  ['short id', 'x', 'not_found'],
  ['lower-case id', 'msg_01m881p4w178dxnvmxxwv10z8r', 'not_found'],
  ['space', '%20', 'not_found'],
  ['SQL', "'%20OR%20'1'%3D'1", 'not_found'],
  ['65 characters', 'x'.repeat(65), 'validation_failed'],
  ['NUL', 'msg_%00', 'validation_failed'],
  ['101 characters', 'x'.repeat(101), 'invalid_request'],
  ['lone %', '%', 'invalid_request'],
  ['truncated UTF-8', '%E0%A4%A', 'invalid_request'],
  ['overlong UTF-8', '%C0%AF', 'invalid_request'],
]
const ID_ROUTES: [string, (id: string) => Pick<Case, 'url' | 'key' | 'json'>][] = [
  ['get', (id) => ({ url: `/v1/messages/${id}`, key: 'read' })],
  ['webhooks of', (id) => ({ url: `/v1/messages/${id}/webhooks`, key: 'read' })],
  ['cancel', (id) => ({ url: `/v1/messages/${id}/cancel`, key: 'write', json: {} })],
  ['revoke', (id) => ({ url: `/v1/keys/${id}/revoke`, key: 'admin', json: {} })],
]
const STATUS = { not_found: 404, validation_failed: 422, invalid_request: 400 } as const

export const cases: Case[] = [
  ...UNKNOWN_ROUTES.flatMap(([method, url]): Case[] =>
    [undefined, 'admin' as const].map((key) => ({
      name: `${method} ${url}${key ? '' : ' (no key)'}`,
      method,
      url,
      ...(key ? { key } : {}),
      ...(method === 'GET' || method === 'OPTIONS' ? {} : { json: {} }),
      status: 404,
      code: 'route_not_found',
    })),
  ),
  // Each id against every route taking one, rotating so each route sees several kinds.
  ...IDS.flatMap(([label, id, code], i): Case[] =>
    [ID_ROUTES[i % 4], ID_ROUTES[(i + 1) % 4]].map((route) => {
      const [name, req] = route ?? ID_ROUTES[0]!
      return {
        name: `${name} ${label}`,
        ...req(id),
        status: STATUS[code],
        code,
        ...(code === 'validation_failed' ? { at: { path: '/id', in: 'params' } } : {}),
      }
    }),
  ),
]

/**
 * Headers: Content-Type (a few representatives: Fastify's matching is not under test),
 * Idempotency-Key, Authorization, scopes and x-request-id.
 */
import { UNKNOWN_KEY, UNKNOWN_MSG, validMessage, show, type Case, type KeyName } from './case.js'

const body = JSON.stringify(validMessage())
const unsupported = { status: 415, code: 'unsupported_media_type' } as const

const contentTypes: Case[] = [
  ...(
    [
      ['text/plain', body],
      ['application/x-www-form-urlencoded', 'to=%2B14155550100&body=hi'],
      ['multipart/form-data; boundary=xyz', '--xyz--\r\n'],
      ['application/xml', '<message/>'],
      ['text/json', body],
      ['application/octet-stream', body],
      ['', body],
      [null, body],
    ] as const
  ).map(([contentType, raw]): Case => ({
    name: `send ${contentType ?? '(no Content-Type)'}`,
    url: '/v1/messages',
    key: 'write',
    raw,
    contentType,
    ...unsupported,
  })),
  {
    name: 'batch text/plain',
    url: '/v1/messages/batch',
    key: 'write',
    raw: JSON.stringify({ messages: [validMessage()] }),
    contentType: 'text/plain',
    ...unsupported,
  },
  {
    name: 'create key form',
    url: '/v1/keys',
    key: 'admin',
    raw: 'name=x&scopes=admin',
    contentType: 'application/x-www-form-urlencoded',
    ...unsupported,
  },
  {
    name: 'cancel text/plain',
    url: `/v1/messages/${UNKNOWN_MSG}/cancel`,
    key: 'write',
    raw: '{}',
    contentType: 'text/plain',
    ...unsupported,
  },
]

const badIdempotencyKeys: (string | string[])[] = [
  'a'.repeat(256),
  '',
  ' ',
  'a b',
  'ключ',
  'a\tb',
  'a\r\nX-Injected: 1',
  'a\u0000b',
  'a\u007fb',
  '🔑',
  ['k1', 'k2'],
]
const idempotencyKeys: Case[] = [
  ...badIdempotencyKeys.map((key): Case => ({
    name: `send Idempotency-Key ${show(key)}`,
    url: '/v1/messages',
    key: 'write',
    json: validMessage(),
    headers: { 'idempotency-key': key },
    status: 400,
    code: 'invalid_idempotency_key',
  })),
  {
    name: 'batch Idempotency-Key of 256 characters',
    url: '/v1/messages/batch',
    key: 'write',
    json: { messages: [validMessage()] },
    headers: { 'idempotency-key': 'k'.repeat(256) },
    status: 400,
    code: 'invalid_idempotency_key',
  },
  {
    name: 'cancel Idempotency-Key with a space',
    url: `/v1/messages/${UNKNOWN_MSG}/cancel`,
    key: 'write',
    json: {},
    headers: { 'idempotency-key': 'a b' },
    status: 400,
    code: 'invalid_idempotency_key',
  },
]

/** Every authenticated route, valid apart from its Authorization header. */
const routes: (Pick<Case, 'method' | 'url' | 'json'> & { name: string; scope: string })[] = [
  { name: 'send', url: '/v1/messages', json: validMessage(), scope: 'messages:write' },
  {
    name: 'batch',
    url: '/v1/messages/batch',
    json: { messages: [validMessage()] },
    scope: 'messages:write',
  },
  { name: 'cancel', url: `/v1/messages/${UNKNOWN_MSG}/cancel`, json: {}, scope: 'messages:write' },
  { name: 'list', url: '/v1/messages', scope: 'messages:read' },
  { name: 'get', url: `/v1/messages/${UNKNOWN_MSG}`, scope: 'messages:read' },
  { name: 'webhooks of', url: `/v1/messages/${UNKNOWN_MSG}/webhooks`, scope: 'messages:read' },
  { name: 'create key', url: '/v1/keys', json: { name: 'x', scopes: ['admin'] }, scope: 'admin' },
  { name: 'revoke', url: `/v1/keys/${UNKNOWN_KEY}/revoke`, json: {}, scope: 'admin' },
  { name: 'list keys', url: '/v1/keys', scope: 'admin' },
]
const unauthorized = { status: 401, code: 'unauthorized' } as const
const badAuthorization: [string, string][] = [
  ['empty', ''],
  ['Bearer', 'Bearer'],
  ['Bearer and a space', 'Bearer '],
  ['Basic', 'Basic dXNlcjpwYXNz'],
  ['garbage', 'Bearer garbage'],
  ['bad checksum', `Bearer sb_live_${'A'.repeat(38)}`],
  ['unknown key', 'Bearer {unknown}'],
  ['revoked key', 'Bearer {revoked}'],
  ['Token scheme', 'Token {admin}'],
  ['no scheme', '{admin}'],
  ['trailing word', 'Bearer {admin} extra'],
  ['extra character', 'Bearer {admin}x'],
  ['upper-cased', 'Bearer {ADMIN}'],
  ['CRLF', 'Bearer {admin}\r\nX-Admin: 1'],
  ['NUL', 'Bearer {admin}\u0000'],
  ['10,000 characters', `Bearer ${'x'.repeat(10_000)}`],
  ['SQL', "Bearer ' OR '1'='1"],
]
const auth: Case[] = [
  ...routes.map((r): Case => ({ ...r, name: `${r.name} without a key`, ...unauthorized })),
  ...badAuthorization.map(([label, authorization]): Case => ({
    name: `list with ${label}`,
    url: '/v1/messages',
    authorization,
    ...unauthorized,
  })),
  ...routes.flatMap((r) =>
    (['read', 'write'] as const satisfies readonly KeyName[])
      .filter((key) => r.scope !== `messages:${key}`)
      .map((key): Case => ({
        ...r,
        name: `${r.name} with a ${key} key`,
        key,
        status: 403,
        code: 'insufficient_scope',
        details: { required: r.scope },
      })),
  ),
]

/** x-request-id: echoed when it is 1 to 64 of [A-Za-z0-9._-]; every answer has one (checker). */
const requestIds: Case[] = [
  {
    name: 'a caller x-request-id is echoed on a 422',
    url: '/v1/messages',
    key: 'write',
    json: { ...validMessage(), to: 'abc' },
    headers: { 'x-request-id': 'Req_1.a-B' },
    status: 422,
    code: 'invalid_phone_number',
    responseHeaders: { 'x-request-id': 'Req_1.a-B' },
  },
  {
    name: 'a caller x-request-id of 64 characters is echoed on a 404',
    url: '/v2/nothing',
    headers: { 'x-request-id': 'r'.repeat(64) },
    status: 404,
    code: 'route_not_found',
    responseHeaders: { 'x-request-id': 'r'.repeat(64) },
  },
  {
    name: 'a caller x-request-id is echoed on a 401',
    url: '/v1/messages',
    headers: { 'x-request-id': 'trace-401' },
    status: 401,
    code: 'unauthorized',
    responseHeaders: { 'x-request-id': 'trace-401' },
  },
  {
    name: 'a caller x-request-id is echoed on a 400 from the router',
    url: '/v1/messages/%E0%A4%A',
    key: 'read',
    headers: { 'x-request-id': 'trace-bad-url' },
    status: 400,
    code: 'invalid_request',
    responseHeaders: { 'x-request-id': 'trace-bad-url' },
  },
  ...['r'.repeat(65), 'a b', 'a/b', 'é', '<script>', 'a;b'].map((id): Case => ({
    name: `x-request-id ${show(id.slice(0, 20))} is replaced`,
    url: '/v1/messages',
    raw: 'text',
    key: 'write',
    contentType: 'text/plain',
    headers: { 'x-request-id': id },
    ...unsupported,
  })),
]

export const cases: Case[] = [...contentTypes, ...idempotencyKeys, ...auth, ...requestIds]

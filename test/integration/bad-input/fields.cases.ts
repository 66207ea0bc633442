/**
 * Body fields: required and unknown fields, one wrong JSON type per field (the schema's type
 * check itself is Ajv's), enums (listed once), the message text (blank, too long, too many
 * segments) and batch sizes.
 */
import { VALID_TO, batchItem, send, validMessage, show, type Case } from './case.js'

const failed = { status: 422, code: 'validation_failed' } as const

const required: Case[] = (
  [
    ['no fields', {}, ''],
    ['no body', { to: VALID_TO }, ''],
    ['no to', { body: 'hi' }, ''],
    ['empty to', { to: '', body: 'hi' }, '/to'],
    ['empty body', { to: VALID_TO, body: '' }, '/body'],
    ['empty from', { ...validMessage(), from: '' }, '/from'],
  ] as const
).map(([label, json, path]): Case => ({
  name: `send ${label}`,
  url: '/v1/messages',
  key: 'write',
  json,
  ...failed,
  at: { path },
}))

const wrongTypes: Case[] = (
  [
    ['to', 14155550100],
    ['body', ['hi']],
    ['from', null],
    ['metadata', 'x'],
    ['metadata', []],
    ['statusCallback', {}],
    ['validityPeriod', '60'],
    ['validityPeriod', 1.5],
    ['sendAt', 1700000000],
    ['smartEncoding', 'true'],
  ] as const
).flatMap(([field, value]): Case[] => [
  {
    name: `send ${field}=${show(value)}`,
    ...send({ [field]: value }),
    ...failed,
    at: { path: `/${field}` },
  },
  {
    name: `batch item ${field}=${show(value)}`,
    ...batchItem({ [field]: value }, 3),
    ...failed,
    at: { path: `/messages/3/${field}` },
  },
])

const TYPES = 'must be one of: transactional, marketing'
const enums: Case[] = [
  ...['promo', '', 'TRANSACTIONAL', 'transactional ', 1, null].map((type): Case => ({
    name: `send type=${show(type)}`,
    ...send({ type }),
    ...failed,
    at: { path: '/type', message: TYPES, allowed: ['transactional', 'marketing'] },
  })),
  {
    name: 'batch item type=spam',
    ...batchItem({ type: 'spam' }),
    ...failed,
    at: { path: '/messages/1/type', message: TYPES },
  },
  ...[['root'], ['ADMIN'], ['messages:*']].map((scopes): Case => ({
    name: `create key scopes=${show(scopes)}`,
    url: '/v1/keys',
    key: 'admin',
    json: { name: 'x', scopes },
    ...failed,
    at: {
      path: '/scopes/0',
      message: 'must be one of: messages:write, messages:read, admin',
      allowed: ['messages:write', 'messages:read', 'admin'],
    },
  })),
  {
    name: 'metadata value of another type',
    ...send({ metadata: { a: {} } }),
    ...failed,
    at: { path: '/metadata/a', message: 'must be string, number, boolean or null' },
  },
]

const keyFields: Case[] = (
  [
    [{ name: '', scopes: ['admin'] }, '/name'],
    [{ name: 'n'.repeat(101), scopes: ['admin'] }, '/name'],
    [{ name: 'a\u0000b', scopes: ['admin'] }, '/name'],
    [{ name: 'x', scopes: [] }, '/scopes'],
    [{ name: 'x', scopes: 'admin' }, '/scopes'],
    [{ name: 'x', scopes: ['admin', 'admin'] }, '/scopes'],
    [{ name: 'x' }, ''],
  ] as const
).map(([json, path]): Case => ({
  name: `create key ${show(json).slice(0, 60)}`,
  url: '/v1/keys',
  key: 'admin',
  json,
  ...failed,
  at: { path },
}))

const unknownFields: Case[] = [
  ...['foo', 'To', 'body ', '', 'status', '__proto__x', 'constructor'].map((name): Case => ({
    name: `send unknown ${show(name)}`,
    ...send({ [name]: 1 }),
    ...failed,
    at: { path: '', property: name },
  })),
  {
    name: 'batch item unknown field',
    ...batchItem({ apiKeyId: 'key_x' }),
    ...failed,
    at: { path: '/messages/1', property: 'apiKeyId' },
  },
  {
    name: 'batch unknown top-level field',
    url: '/v1/messages/batch',
    key: 'write',
    json: { messages: [validMessage()], dryRun: true },
    ...failed,
    at: { path: '', property: 'dryRun' },
  },
  {
    name: 'create key unknown field',
    url: '/v1/keys',
    key: 'admin',
    json: { name: 'x', scopes: ['admin'], expiresAt: 1 },
    ...failed,
    at: { path: '', property: 'expiresAt' },
  },
]

/** Text that is empty once white space and invisible format characters are trimmed. */
const BLANK_BODIES = [
  ' ',
  '   ',
  '\n\t',
  '\u200b',
  '\u200c\u200d',
  '\u2060',
  '\ufeff',
  '\u00a0',
  '\u3000',
  ' \u200b\u2060 ',
]
const messageText: Case[] = [
  ...BLANK_BODIES.map((body): Case => ({
    name: `send blank body ${show(body)}`,
    ...send({ body }),
    ...failed,
    details: { field: 'body', reason: 'only white space or invisible characters' },
  })),
  {
    name: 'send body with NUL',
    ...send({ body: 'a\u0000b' }),
    ...failed,
    at: { path: '/body' },
  },
  ...(
    [
      ['10,001 characters', 'a'.repeat(10_001), 'validation_failed'],
      ['1,531 GSM characters (11 segments)', 'a'.repeat(1531), 'segment_limit_exceeded'],
      ['766 € (2 septets each)', '€'.repeat(766), 'segment_limit_exceeded'],
      ['671 UCS-2 characters', 'ж'.repeat(671), 'segment_limit_exceeded'],
      ['336 emoji', '😀'.repeat(336), 'segment_limit_exceeded'],
    ] as const
  ).map(([label, body, code]): Case => ({
    name: `send body of ${label}`,
    ...send({ body }),
    status: 422,
    code,
    ...(code === 'validation_failed'
      ? { at: { path: '/body' } }
      : { details: { maxSegments: 10 } }),
  })),
]

const batchSizes: Case[] = [0, 1001].map((size): Case => ({
  name: `batch of ${size} items`,
  url: '/v1/messages/batch',
  key: 'write',
  json: { messages: Array.from({ length: size }, validMessage) },
  ...failed,
  at: { path: '/messages' },
}))

export const cases: Case[] = [
  ...required,
  ...wrongTypes,
  ...enums,
  ...keyFields,
  ...unknownFields,
  ...messageText,
  ...batchSizes,
]

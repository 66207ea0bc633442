/**
 * Bad input: well over 1,000 malformed requests, generated deterministically (fixed lists plus
 * a seeded generator), sent in-process with `inject` to every route. Every one must get a 4xx
 * whose body is `{ error: { code, message, details? } }` with a code from the registry and the
 * registry's status for it; most also have an exact expected code. Then the idempotency rules
 * (replay, reuse, a concurrent duplicate), mixed batches (202 with per-item errors) and a valid
 * send afterwards.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, test } from 'node:test'

import type { InjectOptions, LightMyRequestResponse } from 'fastify'

import { errors, type ErrorCode } from '../../src/domain/errors.js'
import { InFlightKeys } from '../../src/domain/idempotency/idempotency.js'
import { generateApiKey } from '../../src/domain/keys/api-keys.js'
import { signSimulatorBody } from '../../src/providers/simulator/simulator-signature.js'
import { startTestSwitchboard, waitFor, type TestSwitchboard } from '../support/harness.js'
import { mulberry32 } from '../support/prng.js'

// ---------------------------------------------------------------------------------------------
// Deterministic generator

/** Seeded, so every run sends exactly the same requests. */
const prng = mulberry32
const SEED = 0xbad_1d7
const rand = prng(SEED)
const int = (n: number) => Math.floor(rand() * n)
function pick<T>(items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list')
  return items[int(items.length)] as T
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const VALID_TO = '+14155550100'
const UNKNOWN_MSG = 'msg_00000000000000000000000000'
const UNKNOWN_KEY = 'key_00000000000000000000000000'
const MIB = 1024 * 1024
const HOUR = 3_600_000
const DAY = 24 * HOUR

const validMessage = (): Record<string, unknown> => ({
  to: VALID_TO,
  body: 'Hello from the bad-input test',
})
/** A message using every field (scheduled an hour ahead, so never sent during the test). */
const fullMessage = (): Record<string, unknown> => ({
  to: VALID_TO,
  body: 'Your code is 123456',
  from: 'Switchboard',
  type: 'marketing',
  metadata: { order: 42, vip: true, note: null, ref: 'abc' },
  statusCallback: 'https://example.com/callbacks/sms',
  validityPeriod: 3600,
  sendAt: new Date(Date.now() + HOUR).toISOString(),
  smartEncoding: true,
})
const validKeyBody = (): Record<string, unknown> => ({
  name: 'ops',
  scopes: ['messages:read', 'messages:write'],
})

/** Percent-encodes every byte that is not unreserved (the UTF-8 of lone surrogates is U+FFFD). */
const pct = (s: string): string =>
  [...Buffer.from(s, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b)
      return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
    })
    .join('')
const b64url = (s: string) => Buffer.from(s).toString('base64url')

/** Strings that try SQL, HTML, template, shell, format-string, NUL and CRLF injection. */
const INJECTIONS = [
  "'; DROP TABLE messages; --",
  "' OR '1'='1",
  '" OR 1=1 --',
  "Robert'); DROP TABLE messages;--",
  '1; SELECT pg_sleep(10)',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '${7*7}',
  '${process.exit(1)}',
  '{{7*7}}',
  '{{constructor.constructor("return process")()}}',
  '#{7*7}',
  '%00',
  '\u0000',
  'a\u0000b',
  '\r\nSet-Cookie: x=1',
  '../../etc/passwd',
  '$(reboot)',
  '`id`',
  '%s%s%s%n',
  '{"$gt":""}',
  '\\',
  '\u202e',
  '\ud800',
  '|ls',
  '&& whoami',
]

/** Not valid destinations: letters, wrong lengths, unassigned ranges, odd digits, symbols. */
const BAD_NUMBERS = [
  'abc',
  'hello world',
  '+1415555abcd',
  '+1',
  '+12',
  '+',
  '++14155550100',
  '+1234567890123456789',
  '+999123456',
  '+0 0',
  '4155550100',
  '14155550100',
  '+1 555 555 5555',
  '+1 976 555 0100',
  '+1 000 000 0000',
  '+882 1234 5678',
  '+979 1234 5678',
  '+690 1234',
  '+447911',
  '+33 1',
  '+44 20 7946 0958 0',
  '+00 14155550100',
  '📱',
  '+📱14155550100',
  '+١٤١٥٥٥٥٠١٠٠',
  '+１４１５５５５０１００',
  '+۴۱۵۵۵۵۰۱۰۰',
  '   ',
  ' + ',
  '+1-415-555-0100 ext 5',
  '+14155550100;',
  '+1\t4155550100',
  '+1\n4155550100',
  '+1\r\n4155550100',
  '+1415555\u00000',
  '\u0000',
  '(((',
  '...',
  '---',
  '///',
  '0',
  '00',
  '1-800-FLOWERS',
  '+1 800 FLOWERS',
  '',
  'a'.repeat(33),
  `+${'1'.repeat(40)}`,
]

// ---------------------------------------------------------------------------------------------
// Cases

interface ErrorPayload {
  code: string
  message: string
  details?: unknown
}

interface Case {
  group: string
  name: string
  req: InjectOptions
  /** The second, simulator-over-HTTP instance (provider webhooks with signatures). */
  server?: 'webhooks'
  status?: number
  codes?: readonly ErrorCode[]
  check?: (error: ErrorPayload) => void
}

interface Keys {
  admin: string
  write: string
  read: string
  revoked: string
  unknown: string
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function firstDetail(e: ErrorPayload): Record<string, unknown> {
  assert.ok(Array.isArray(e.details), `details is not an array: ${JSON.stringify(e.details)}`)
  const d: unknown = e.details[0]
  assert.ok(isRecord(d), 'details[0] is not an object')
  return d
}
/** validation_failed with details[0] in `where` at `path` or below it. */
const at =
  (path: string, where = 'body') =>
  (e: ErrorPayload) => {
    const d = firstDetail(e)
    assert.equal(d.in, where)
    const p = String(d.path)
    assert.ok(p === path || p.startsWith(`${path}/`), `details[0].path ${p}, expected ${path}`)
  }
const unknownProperty =
  (name: string, path = '') =>
  (e: ErrorPayload) => {
    const d = firstDetail(e)
    assert.equal(d.path, path)
    assert.equal(d.property, name)
  }
const detailsMatch = (expected: Record<string, unknown>) => (e: ErrorPayload) => {
  assert.ok(isRecord(e.details), 'details is not an object')
  for (const [k, v] of Object.entries(expected)) assert.equal(e.details[k], v, `details.${k}`)
}
const phoneField = (field: 'to' | 'from') => (e: ErrorPayload) => {
  if (e.code === 'invalid_phone_number') detailsMatch({ field })(e)
}

function buildCases(k: Keys): Case[] {
  const cases: Case[] = []
  const add = (c: Case) => cases.push(c)
  const auth = (key: string) => ({ authorization: `Bearer ${key}` })
  const json = (key: string) => ({ ...auth(key), 'content-type': 'application/json' })
  const post = (
    url: string,
    key: string,
    payload: unknown,
    extra: Record<string, string> = {},
  ) => ({
    method: 'POST' as const,
    url,
    headers: { ...json(key), ...extra },
    payload:
      typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
  })
  const get = (url: string, key: string) => ({ method: 'GET' as const, url, headers: auth(key) })

  /** POST routes that parse a JSON body; cancel and revoke have no body schema. */
  const jsonRoutes = [
    { name: 'send', url: '/v1/messages', key: k.write, schema: true },
    { name: 'batch', url: '/v1/messages/batch', key: k.write, schema: true },
    { name: 'create key', url: '/v1/keys', key: k.admin, schema: true },
    { name: 'cancel', url: `/v1/messages/${UNKNOWN_MSG}/cancel`, key: k.write, schema: false },
    { name: 'revoke', url: `/v1/keys/${UNKNOWN_KEY}/revoke`, key: k.admin, schema: false },
  ]
  const validPayloads: Record<string, string> = {
    send: JSON.stringify(fullMessage()),
    batch: JSON.stringify({ messages: [validMessage(), fullMessage()] }),
    'create key': JSON.stringify(validKeyBody()),
    cancel: JSON.stringify({ reason: 'customer asked' }),
    revoke: JSON.stringify({ reason: 'rotated' }),
  }

  // -- Bad JSON -----------------------------------------------------------------------------------
  const badJson: (string | Buffer)[] = [
    '',
    ' ',
    '\n\t ',
    '{',
    '}',
    '[',
    ']',
    '{"to":',
    '{"to":"+14155550100"',
    '{"to":"+14155550100",}',
    '{"to":"+14155550100","body":"hi",}',
    '[1,2,]',
    '{,}',
    '{"a":1,,"b":2}',
    '{"a" 1}',
    '{"a":[1 2]}',
    '"unterminated',
    '{"a":"unterminated}',
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":-Infinity}',
    'NaN',
    '{"a":undefined}',
    'undefined',
    "{'to':'+14155550100'}",
    '{to:"+14155550100"}',
    '{"a":01}',
    '{"a":0x10}',
    '{"a":.5}',
    '{"a":1.}',
    '{"a":+1}',
    '{"a":1e}',
    '{"a":"\\x41"}',
    '{"a":"\\u12"}',
    '{"a":"\\"}',
    '{"a":"line\nbreak"}',
    '{"a":"tab\there"}',
    '{"a":"nul\u0000"}',
    '// comment\n{}',
    '/* comment */ {}',
    '{"a":1}{"b":2}',
    '{"a":1} trailing',
    'true false',
    'tru',
    'nul',
    '\uFEFF\uFEFF{}',
    '\uFEFF',
    '\u0000{}',
    '{}\u0000',
    ")]}'\n{}",
    '<message><to>+14155550100</to></message>',
    'to=%2B14155550100&body=hi',
    '{"__proto__":{"isAdmin":true}}',
    '{"to":"+14155550100","body":"hi","metadata":{"__proto__":{"x":1}}}',
    '{"constructor":{"prototype":{"isAdmin":true}}}',
    `${'{"a":'.repeat(10_000)}{"__proto__":{}}${'}'.repeat(10_000)}`,
    '['.repeat(10_000),
    '{"a":'.repeat(10_000),
    Buffer.from('\uFEFF{"to":"+14155550100","body":"hi"}', 'utf16le'),
    Buffer.from([0xef, 0xbb]),
    Buffer.from([0xff, 0xfe, 0xfd]),
  ]
  for (const route of jsonRoutes) {
    for (const [i, payload] of badJson.entries()) {
      // A route without a body schema takes an empty JSON body as no body.
      if (payload === '' && !route.schema) continue
      add({
        group: 'bad JSON',
        name: `${route.name} #${i}`,
        req: post(route.url, route.key, payload),
        status: 400,
        codes: ['invalid_json'],
      })
    }
  }

  // Seeded mutations of valid payloads: each is guaranteed to break JSON syntax (a strict
  // prefix; or deleting, doubling or replacing one structural character outside strings).
  for (const route of jsonRoutes) {
    const text = validPayloads[route.name] ?? '{}'
    assert.ok(!text.includes('\\'), 'mutation payloads must not contain escapes')
    const structural: number[] = []
    let inString = false
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] ?? ''
      if (ch === '"') {
        inString = !inString
        structural.push(i)
      } else if (!inString && '{}[]:,'.includes(ch)) structural.push(i)
    }
    for (let n = 0; n < 40; n++) {
      const op = pick(['truncate', 'delete', 'double', 'replace'] as const)
      const pos = op === 'truncate' ? int(text.length) : pick(structural)
      const mutated =
        op === 'truncate'
          ? text.slice(0, pos)
          : op === 'delete'
            ? text.slice(0, pos) + text.slice(pos + 1)
            : op === 'double'
              ? text.slice(0, pos + 1) + text.slice(pos)
              : text.slice(0, pos) + pick(['x', 'Z', '#', '@']) + text.slice(pos + 1)
      add({
        group: 'bad JSON (seeded mutation)',
        name: `${route.name} ${op} at ${pos}`,
        req: post(route.url, route.key, mutated),
        status: 400,
        codes: ['invalid_json'],
      })
    }
  }

  // -- Content types ------------------------------------------------------------------------------
  const body = JSON.stringify(validMessage())
  const multipart = [
    '--xyz',
    'Content-Disposition: form-data; name="to"',
    '',
    VALID_TO,
    '--xyz--',
    '',
  ].join('\r\n')
  const contentTypes: [string | undefined, string | Buffer][] = [
    ['text/plain', body],
    ['text/plain; charset=utf-8', body],
    ['application/x-www-form-urlencoded', 'to=%2B14155550100&body=hi'],
    ['multipart/form-data; boundary=xyz', multipart],
    ['multipart/form-data', ''],
    ['application/xml', '<message><to>+14155550100</to></message>'],
    ['text/xml', '<message/>'],
    ['text/html', '<script>alert(1)</script>'],
    ['text/json', body],
    ['application/x-json', body],
    ['application/json-seq', body],
    ['application/jsonx', body],
    ['application/vnd.api+json', body],
    ['application/octet-stream', Buffer.from(body)],
    ['image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
    ['*/*', body],
    ['json', body],
    ['application/', body],
    ['', body],
    [';', body],
    ['application/json, text/plain', body],
    [undefined, body],
  ]
  for (const route of jsonRoutes) {
    for (const [ct, payload] of contentTypes) {
      const headers: Record<string, string> = { ...auth(route.key) }
      if (ct !== undefined) headers['content-type'] = ct
      add({
        group: 'content type',
        name: `${route.name} ${ct ?? '(missing)'}`,
        req: { method: 'POST', url: route.url, headers, payload },
        status: 415,
        codes: ['unsupported_media_type'],
      })
    }
  }

  // -- Empty and non-object bodies ----------------------------------------------------------------
  for (const route of jsonRoutes) {
    add({
      group: 'empty body',
      name: `${route.name} no body, no content type`,
      req: { method: 'POST', url: route.url, headers: auth(route.key) },
      codes: route.schema ? ['validation_failed'] : ['not_found'],
      check: route.schema ? at('') : undefined,
    })
    for (const payload of ['null', '"x"', '0', 'true', '[]', '{}', '[{}]']) {
      add({
        group: 'empty body',
        name: `${route.name} ${payload}`,
        req: post(route.url, route.key, payload),
        codes: route.schema ? ['validation_failed'] : ['not_found'],
        check: route.schema ? at('') : undefined,
      })
    }
  }

  // -- Deep nesting (10,000 levels; cancel hashes its body for Idempotency-Key) -------------------
  const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n)
  const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`
  for (const route of jsonRoutes) {
    const extra = route.name === 'cancel' ? { 'idempotency-key': `deep-${route.name}` } : undefined
    for (const [shape, payload] of [
      ['arrays', deepArray(10_000)],
      ['objects', deepObject(10_000)],
    ] as const) {
      add({
        group: 'deep nesting',
        name: `${route.name} ${shape}`,
        req: post(route.url, route.key, payload, extra),
        codes: route.schema ? ['validation_failed'] : ['not_found'],
      })
    }
  }
  add({
    group: 'deep nesting',
    name: 'cancel 100,000 arrays with Idempotency-Key',
    req: post(`/v1/messages/${UNKNOWN_MSG}/cancel`, k.write, deepArray(100_000), {
      'idempotency-key': 'deep-100k',
    }),
    status: 404,
    codes: ['not_found'],
  })
  for (const field of ['metadata', 'sendAt']) {
    add({
      group: 'deep nesting',
      name: `send ${field}`,
      req: post(
        '/v1/messages',
        k.write,
        `{"to":"${VALID_TO}","body":"hi","${field}":${deepArray(10_000)}}`,
      ),
      codes: ['validation_failed'],
      check: at(`/${field}`),
    })
  }

  // -- Duplicate keys: refused, with a pointer to the second one -----------------------------------
  for (const [label, url, key, payload, , path] of [
    [
      'send to',
      '/v1/messages',
      k.write,
      `{"to":"${VALID_TO}","to":"nope","body":"hi"}`,
      'invalid_phone_number',
      null,
    ],
    [
      'send body',
      '/v1/messages',
      k.write,
      `{"to":"${VALID_TO}","body":"hi","body":123}`,
      'validation_failed',
      '/body',
    ],
    [
      'send type',
      '/v1/messages',
      k.write,
      `{"to":"${VALID_TO}","body":"hi","type":"marketing","type":"spam"}`,
      'validation_failed',
      '/type',
    ],
    [
      'send from',
      '/v1/messages',
      k.write,
      `{"to":"${VALID_TO}","body":"hi","from":"Acme","from":"A!"}`,
      'invalid_sender',
      null,
    ],
    [
      'batch messages',
      '/v1/messages/batch',
      k.write,
      `{"messages":[{"to":"${VALID_TO}","body":"hi"}],"messages":5}`,
      'validation_failed',
      '/messages',
    ],
    [
      'create key scopes',
      '/v1/keys',
      k.admin,
      '{"name":"x","scopes":["admin"],"scopes":[]}',
      'validation_failed',
      '/scopes',
    ],
  ] as const) {
    add({
      group: 'duplicate keys',
      name: label,
      req: post(url, key, payload),
      status: 400,
      codes: ['invalid_json'],
      check: detailsMatch({ reason: 'duplicate_key', path: path ?? `/${label.split(' ')[1]}` }),
    })
  }
  add({
    group: 'deep nesting',
    name: 'batch messages',
    req: post('/v1/messages/batch', k.write, `{"messages":${deepArray(10_000)}}`),
    codes: ['validation_failed'],
    check: at('/messages'),
  })

  // -- Wrong JSON types for every field -----------------------------------------------------------
  type Kind = 'string' | 'integer' | 'boolean' | 'enum' | 'object'
  const sendFields: Record<string, Kind> = {
    to: 'string',
    body: 'string',
    from: 'string',
    type: 'enum',
    metadata: 'object',
    statusCallback: 'string',
    validityPeriod: 'integer',
    sendAt: 'string',
    smartEncoding: 'boolean',
  }
  const numbers = [0, -1, 1.5, 1e308]
  const others = [true, false, null, [], ['x'], [1, 2], {}, { a: 1 }]
  const wrong: Record<Kind, unknown[]> = {
    string: [...numbers, ...others],
    integer: [1.5, 0.25, '60', '', 'x', ...others],
    boolean: [0, 1, 'true', 'false', '', null, [], {}, [true]],
    enum: ['promo', '', 'TRANSACTIONAL', 'transactional ', ...numbers, ...others],
    object: ['x', '', ...numbers, true, null, [], ['x'], { a: {} }, { a: [] }, { a: { b: 1 } }],
  }
  for (const [field, kind] of Object.entries(sendFields)) {
    for (const value of wrong[kind]) {
      const label = `${field}=${JSON.stringify(value)}`
      add({
        group: 'wrong type',
        name: `send ${label}`,
        req: post('/v1/messages', k.write, { ...validMessage(), [field]: value }),
        status: 422,
        codes: ['validation_failed'],
        check: at(`/${field}`),
      })
      const size = 1 + int(20)
      const index = int(size)
      const messages: unknown[] = Array.from({ length: size }, validMessage)
      messages[index] = { ...validMessage(), [field]: value }
      add({
        group: 'wrong type',
        name: `batch item ${index}/${size} ${label}`,
        req: post('/v1/messages/batch', k.write, { messages }),
        status: 422,
        codes: ['validation_failed'],
        check: at(`/messages/${index}/${field}`),
      })
    }
  }
  for (const [label, payload, path] of [
    ['no fields', {}, ''],
    ['no body', { to: VALID_TO }, ''],
    ['no to', { body: 'hi' }, ''],
    ['empty to', { to: '', body: 'hi' }, '/to'],
    ['empty body', { to: VALID_TO, body: '' }, '/body'],
    ['to too long', { to: `+1${'4'.repeat(40)}`, body: 'hi' }, '/to'],
    ['from empty', { ...validMessage(), from: '' }, '/from'],
    ['metadata 51 keys', { ...validMessage(), metadata: numberedKeys(51) }, '/metadata'],
    [
      'metadata key 65 chars',
      { ...validMessage(), metadata: { ['k'.repeat(65)]: 1 } },
      '/metadata',
    ],
    [
      'metadata value 1025 chars',
      { ...validMessage(), metadata: { a: 'v'.repeat(1025) } },
      '/metadata',
    ],
  ] as const) {
    add({
      group: 'wrong type',
      name: `send ${label}`,
      req: post('/v1/messages', k.write, payload),
      status: 422,
      codes: ['validation_failed'],
      check: at(path),
    })
  }
  const keyFields: Record<string, unknown[]> = {
    name: [...numbers, ...others, '', 'n'.repeat(101), 'a\u0000b'],
    scopes: [
      'admin',
      ...numbers,
      true,
      null,
      {},
      [],
      ['root'],
      ['ADMIN'],
      ['messages:*'],
      ['admin', 'admin'],
      [1],
      [null],
      [['admin']],
    ],
  }
  for (const [field, values] of Object.entries(keyFields)) {
    for (const value of values) {
      add({
        group: 'wrong type',
        name: `create key ${field}=${JSON.stringify(value)}`,
        req: post('/v1/keys', k.admin, { ...validKeyBody(), [field]: value }),
        status: 422,
        codes: ['validation_failed'],
        check: at(`/${field}`),
      })
    }
  }
  for (const payload of [{}, { name: 'x' }, { scopes: ['admin'] }]) {
    add({
      group: 'wrong type',
      name: `create key ${JSON.stringify(payload)}`,
      req: post('/v1/keys', k.admin, payload),
      status: 422,
      codes: ['validation_failed'],
      check: at(''),
    })
  }
  for (const value of [null, {}, 'x', 1, true, [1], ['x'], [null], [[]], [], undefined]) {
    add({
      group: 'wrong type',
      name: `batch messages=${JSON.stringify(value)}`,
      req: post('/v1/messages/batch', k.write, value === undefined ? {} : { messages: value }),
      status: 422,
      codes: ['validation_failed'],
      check: at(value === undefined ? '' : '/messages'),
    })
  }

  // -- Unknown fields -----------------------------------------------------------------------------
  const unknownNames = [
    'foo',
    'To',
    'BODY',
    'body ',
    '',
    'id',
    'status',
    'apiKeyId',
    'provider',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    '$where',
    '__proto__x',
    'messages',
  ]
  for (const name of unknownNames) {
    add({
      group: 'unknown field',
      name: `send ${JSON.stringify(name)}`,
      req: post('/v1/messages', k.write, { ...validMessage(), [name]: 1 }),
      status: 422,
      codes: ['validation_failed'],
      check: unknownProperty(name),
    })
    add({
      group: 'unknown field',
      name: `batch item ${JSON.stringify(name)}`,
      req: post('/v1/messages/batch', k.write, {
        messages: [validMessage(), { ...validMessage(), [name]: 1 }],
      }),
      status: 422,
      codes: ['validation_failed'],
      check: unknownProperty(name, '/messages/1'),
    })
    if (name !== 'messages') {
      add({
        group: 'unknown field',
        name: `batch top ${JSON.stringify(name)}`,
        req: post('/v1/messages/batch', k.write, { messages: [validMessage()], [name]: 1 }),
        status: 422,
        codes: ['validation_failed'],
        check: unknownProperty(name),
      })
    }
    add({
      group: 'unknown field',
      name: `create key ${JSON.stringify(name)}`,
      req: post('/v1/keys', k.admin, { ...validKeyBody(), [name]: 1 }),
      status: 422,
      codes: ['validation_failed'],
      check: unknownProperty(name),
    })
  }

  // -- Huge bodies --------------------------------------------------------------------------------
  const huge = 'a'.repeat(2 * MIB + 100)
  for (const route of jsonRoutes) {
    add({
      group: 'huge body',
      name: `${route.name} over 2 MiB`,
      req: post(route.url, route.key, JSON.stringify({ to: VALID_TO, body: huge })),
      status: 413,
      codes: ['payload_too_large'],
    })
  }
  add({
    group: 'huge body',
    name: 'batch of 1,000 items over 2 MiB',
    req: post('/v1/messages/batch', k.write, {
      messages: Array.from({ length: 1000 }, () => ({ to: VALID_TO, body: 'b'.repeat(2200) })),
    }),
    status: 413,
    codes: ['payload_too_large'],
  })
  add({
    group: 'huge body',
    name: 'Content-Length of 99,999,999',
    req: post('/v1/messages', k.write, body, { 'content-length': '99999999' }),
    status: 413,
    codes: ['payload_too_large'],
  })
  add({
    group: 'huge body',
    name: 'text/plain over 2 MiB',
    req: {
      method: 'POST',
      url: '/v1/messages',
      headers: { ...auth(k.write), 'content-type': 'text/plain' },
      payload: huge,
    },
    codes: ['payload_too_large', 'unsupported_media_type'],
  })
  for (const [label, text, code, path] of [
    ['10,001 characters', 'a'.repeat(10_001), 'validation_failed', '/body'],
    ['20,000 characters', 'a'.repeat(20_000), 'validation_failed', '/body'],
    ['10,000 GSM characters', 'a'.repeat(10_000), 'segment_limit_exceeded', null],
    ['1,531 GSM characters (11 segments)', 'a'.repeat(1531), 'segment_limit_exceeded', null],
    [
      '766 € (GSM extension table, 2 septets each)',
      '€'.repeat(766),
      'segment_limit_exceeded',
      null,
    ],
    ['671 UCS-2 characters', 'ж'.repeat(671), 'segment_limit_exceeded', null],
    ['336 emoji', '😀'.repeat(336), 'segment_limit_exceeded', null],
  ] as const) {
    add({
      group: 'huge body',
      name: `body of ${label}`,
      req: post('/v1/messages', k.write, { to: VALID_TO, body: text }),
      status: 422,
      codes: [code],
      check: path
        ? at(path)
        : (e) => assert.equal((e.details as { maxSegments?: unknown }).maxSegments, 10),
    })
  }
  add({
    group: 'huge body',
    name: 'metadata over 4,096 bytes',
    req: post('/v1/messages', k.write, {
      ...validMessage(),
      metadata: Object.fromEntries(
        Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'.repeat(100)]),
      ),
    }),
    status: 422,
    codes: ['validation_failed'],
    check: detailsMatch({ field: 'metadata' }),
  })

  // -- Phone numbers ------------------------------------------------------------------------------
  for (const number of BAD_NUMBERS) {
    const label = JSON.stringify(number)
    add({
      group: 'phone number',
      name: `send to ${label}`,
      req: post('/v1/messages', k.write, { ...validMessage(), to: number }),
      status: 422,
      codes: ['invalid_phone_number', 'validation_failed'],
      check: phoneField('to'),
    })
    add({
      group: 'phone number',
      name: `list to ${label}`,
      req: get(`/v1/messages?to=${pct(number)}`, k.read),
      status: 422,
      codes: ['invalid_phone_number', 'validation_failed'],
      check: phoneField('to'),
    })
    if (number.startsWith('+')) {
      add({
        group: 'phone number',
        name: `send from ${label}`,
        req: post('/v1/messages', k.write, { ...validMessage(), from: number }),
        status: 422,
        codes: ['invalid_phone_number', 'validation_failed'],
        check: phoneField('from'),
      })
      add({
        group: 'phone number',
        name: `list from ${label}`,
        req: get(`/v1/messages?from=${pct(number)}`, k.read),
        status: 422,
        codes: ['invalid_phone_number', 'validation_failed'],
        check: phoneField('from'),
      })
    }
  }

  // -- Senders ------------------------------------------------------------------------------------
  for (const [from, code] of [
    ['ABCDEFGHIJKL', 'invalid_sender'],
    ['AB!@#', 'invalid_sender'],
    ['12', 'invalid_sender'],
    ['1', 'invalid_sender'],
    ['123456789', 'invalid_sender'],
    [' ', 'invalid_sender'],
    ['📱', 'invalid_sender'],
    ['Ab_c', 'invalid_sender'],
    ['A-B', 'invalid_sender'],
    ['ÄBC', 'invalid_sender'],
    ['A\u0000', 'invalid_sender'],
    ['ABC\nDEF', 'invalid_sender'],
    ['Sender Name!', 'invalid_sender'],
    ['+1', 'invalid_phone_number'],
    ['+', 'invalid_phone_number'],
    ['+999123456', 'invalid_phone_number'],
    ['a'.repeat(33), 'validation_failed'],
  ] as const) {
    add({
      group: 'sender',
      name: `from ${JSON.stringify(from)}`,
      req: post('/v1/messages', k.write, { ...validMessage(), from }),
      status: 422,
      codes: [code],
      check: code === 'validation_failed' ? at('/from') : detailsMatch({ field: 'from' }),
    })
  }

  // -- sendAt, validityPeriod, statusCallback -----------------------------------------------------
  const now = Date.now()
  const iso = (ms: number) => new Date(ms).toISOString()
  const sendAts: [string, ErrorCode, string | null][] = [
    ['tomorrow', 'validation_failed', null],
    ['now', 'validation_failed', null],
    ['2024-13-01T00:00:00Z', 'validation_failed', null],
    ['2030-01-01', 'validation_failed', null],
    ['2030-02-30T00:00:00Z', 'validation_failed', null],
    ['2030-01-01T00:00:00', 'validation_failed', null],
    ['2030-01-01T25:00:00Z', 'validation_failed', null],
    ['2030-01-01T00:00:00+25:00', 'validation_failed', null],
    ['+275760-09-13T00:00:00Z', 'validation_failed', null],
    ['1700000000', 'validation_failed', null],
    ['2030-06-30T23:59:60Z', 'invalid_send_at', 'not_a_date'],
    [iso(now - 2 * 60_000), 'invalid_send_at', 'in_the_past'],
    [iso(now - DAY), 'invalid_send_at', 'in_the_past'],
    ['2000-01-01T00:00:00Z', 'invalid_send_at', 'in_the_past'],
    ['1970-01-01T00:00:00Z', 'invalid_send_at', 'in_the_past'],
    [iso(now + 36 * DAY), 'invalid_send_at', 'too_far_ahead'],
    [iso(now + 10 * 365 * DAY), 'invalid_send_at', 'too_far_ahead'],
    ['9999-12-31T23:59:59Z', 'invalid_send_at', 'too_far_ahead'],
  ]
  for (const [sendAt, code, reason] of sendAts) {
    add({
      group: 'sendAt',
      name: sendAt,
      req: post('/v1/messages', k.write, { ...validMessage(), sendAt }),
      status: 422,
      codes: [code],
      check: reason ? detailsMatch({ reason }) : at('/sendAt'),
    })
  }
  for (const validityPeriod of [0, -1, -604_800, 1.5, 0.1, 604_801, 1e20, 2 ** 53, -0.5, 1e-9]) {
    add({
      group: 'validityPeriod',
      name: String(validityPeriod),
      req: post('/v1/messages', k.write, { ...validMessage(), validityPeriod }),
      status: 422,
      codes: ['validation_failed'],
      check: at('/validityPeriod'),
    })
  }
  for (const statusCallback of [
    'not a url',
    'example.com',
    'ftp://example.com/x',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'file:///etc/passwd',
    'HTTP://EXAMPLE.COM',
    '//example.com',
    'http:/example.com',
    'https:example.com',
    'https://exa mple.com',
    'https://[::1',
    'https://example.com/\u0000',
    'ws://example.com',
    'mailto:ops@example.com',
    ' https://example.com',
    `https://example.com/${'a'.repeat(2048)}`,
    '',
  ]) {
    add({
      group: 'statusCallback',
      name: JSON.stringify(statusCallback.slice(0, 40)),
      req: post('/v1/messages', k.write, { ...validMessage(), statusCallback }),
      status: 422,
      codes: ['validation_failed'],
      check: at('/statusCallback'),
    })
  }

  // -- Injection strings in every place they are not valid ----------------------------------------
  for (const s of INJECTIONS) {
    const label = JSON.stringify(s)
    const inj = (
      name: string,
      req: InjectOptions,
      codes: readonly ErrorCode[],
      check?: (e: ErrorPayload) => void,
    ) => add({ group: 'injection', name: `${name} ${label}`, req, codes, check })
    inj('send to', post('/v1/messages', k.write, { ...validMessage(), to: s }), [
      'invalid_phone_number',
      'validation_failed',
    ])
    inj('send from', post('/v1/messages', k.write, { ...validMessage(), from: s }), [
      'invalid_sender',
      'invalid_phone_number',
      'validation_failed',
    ])
    for (const field of ['type', 'statusCallback', 'sendAt', 'validityPeriod', 'smartEncoding']) {
      inj(
        `send ${field}`,
        post('/v1/messages', k.write, { ...validMessage(), [field]: s }),
        ['validation_failed'],
        at(`/${field}`),
      )
    }
    inj('create key scope', post('/v1/keys', k.admin, { name: 'x', scopes: [s] }), [
      'validation_failed',
    ])
    for (const param of ['status', 'type', 'direction', 'createdAfter', 'createdBefore']) {
      inj(
        `list ${param}`,
        get(`/v1/messages?${param}=${pct(s)}`, k.read),
        ['validation_failed'],
        at(`/${param}`, 'querystring'),
      )
    }
    inj('list cursor', get(`/v1/messages?cursor=${pct(s)}`, k.read), ['invalid_cursor'])
    inj('list to', get(`/v1/messages?to=${pct(s)}`, k.read), [
      'invalid_phone_number',
      'validation_failed',
    ])
    const idCodes = ['not_found', 'validation_failed', 'invalid_request'] as const
    inj('get id', get(`/v1/messages/${pct(s)}`, k.read), idCodes)
    inj('get webhooks of id', get(`/v1/messages/${pct(s)}/webhooks`, k.read), idCodes)
    inj('cancel id', post(`/v1/messages/${pct(s)}/cancel`, k.write, '{}'), idCodes)
    inj('revoke id', post(`/v1/keys/${pct(s)}/revoke`, k.admin, '{}'), idCodes)
    inj(
      'Authorization',
      {
        method: 'GET',
        url: '/v1/messages',
        headers: { authorization: `Bearer ${s}` },
      },
      ['unauthorized'],
    )
    if (!/^[\x21-\x7e]+$/.test(s)) {
      inj(
        'Idempotency-Key',
        post('/v1/messages', k.write, validMessage(), { 'idempotency-key': s }),
        ['invalid_idempotency_key'],
      )
    }
  }

  // -- Idempotency-Key header values --------------------------------------------------------------
  const badKeys: (string | string[])[] = [
    'a'.repeat(256),
    'a'.repeat(1000),
    '',
    ' ',
    'a b',
    ' a',
    'a ',
    'ключ',
    'é',
    'clé-1',
    '\t',
    'a\tb',
    'a\r\nb',
    'a\r\nX-Injected: 1',
    'a\nb',
    'a\u0000b',
    '\u007f',
    'a\u007fb',
    '🔑',
    '\u00a0',
    ['k1', 'k2'],
  ]
  for (const route of [
    { name: 'send', url: '/v1/messages', payload: validMessage() },
    { name: 'batch', url: '/v1/messages/batch', payload: { messages: [validMessage()] } },
    { name: 'cancel', url: `/v1/messages/${UNKNOWN_MSG}/cancel`, payload: {} },
  ]) {
    for (const key of badKeys) {
      const r = post(route.url, k.write, route.payload)
      add({
        group: 'Idempotency-Key',
        name: `${route.name} ${JSON.stringify(key).slice(0, 40)}`,
        req: { ...r, headers: { ...r.headers, 'idempotency-key': key } },
        status: 400,
        codes: ['invalid_idempotency_key'],
      })
    }
  }

  // -- API keys: missing, garbled, unknown, revoked; and missing scopes ---------------------------
  /** Requests that are valid apart from their Authorization header. */
  const withAuth = (method: 'GET' | 'POST', url: string, payload?: object) => {
    return (headers: Record<string, string>): InjectOptions => ({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { payload }),
    })
  }
  const authenticated = [
    { name: 'send', req: withAuth('POST', '/v1/messages', validMessage()) },
    { name: 'batch', req: withAuth('POST', '/v1/messages/batch', { messages: [validMessage()] }) },
    { name: 'cancel', req: withAuth('POST', `/v1/messages/${UNKNOWN_MSG}/cancel`, {}) },
    { name: 'create key', req: withAuth('POST', '/v1/keys', validKeyBody()) },
    { name: 'revoke', req: withAuth('POST', `/v1/keys/${UNKNOWN_KEY}/revoke`, {}) },
    { name: 'list', req: withAuth('GET', '/v1/messages') },
    { name: 'get', req: withAuth('GET', `/v1/messages/${UNKNOWN_MSG}`) },
    { name: 'webhooks of message', req: withAuth('GET', `/v1/messages/${UNKNOWN_MSG}/webhooks`) },
    { name: 'list keys', req: withAuth('GET', '/v1/keys') },
  ]
  const badAuth: [string, string | undefined][] = [
    ['missing', undefined],
    ['empty', ''],
    ['Bearer', 'Bearer'],
    ['Bearer and a space', 'Bearer '],
    ['Basic', 'Basic dXNlcjpwYXNz'],
    ['garbage', 'Bearer garbage'],
    ['bad checksum', `Bearer sb_live_${'A'.repeat(38)}`],
    ['other prefix', `Bearer sb_test_${k.admin.slice(8)}`],
    ['unknown key', `Bearer ${k.unknown}`],
    ['revoked key', `Bearer ${k.revoked}`],
    ['Token scheme', `Token ${k.admin}`],
    ['no scheme', k.admin],
    ['trailing word', `Bearer ${k.admin} extra`],
    ['extra character', `Bearer ${k.admin}x`],
    ['truncated', `Bearer ${k.admin.slice(0, -1)}`],
    ['upper-cased', `Bearer ${k.admin.toUpperCase()}`],
    ['CRLF', `Bearer ${k.admin}\r\nX-Admin: 1`],
    ['NUL', `Bearer ${k.admin}\u0000`],
    ['10,000 characters', `Bearer ${'x'.repeat(10_000)}`],
    ['SQL', "Bearer ' OR '1'='1"],
  ]
  for (const route of authenticated) {
    for (const [label, value] of badAuth) {
      add({
        group: 'API key',
        name: `${route.name} ${label}`,
        req: route.req(value === undefined ? {} : { authorization: value }),
        status: 401,
        codes: ['unauthorized'],
      })
    }
  }
  const needs: Record<string, string> = {
    send: 'messages:write',
    batch: 'messages:write',
    cancel: 'messages:write',
    'create key': 'admin',
    revoke: 'admin',
    'list keys': 'admin',
    list: 'messages:read',
    get: 'messages:read',
    'webhooks of message': 'messages:read',
  }
  for (const route of authenticated) {
    const required = needs[route.name] ?? ''
    for (const [label, key] of [
      ['read', k.read],
      ['write', k.write],
    ] as const) {
      if (required === `messages:${label}`) continue
      add({
        group: 'scope',
        name: `${route.name} with a ${label} key`,
        req: route.req(auth(key)),
        status: 403,
        codes: ['insufficient_scope'],
        check: detailsMatch({ required }),
      })
    }
  }

  // -- Unknown routes and broken URLs -------------------------------------------------------------
  const unknownRoutes: [InjectOptions['method'], string][] = [
    ['GET', '/'],
    ['GET', '/v1'],
    ['GET', '/v2/messages'],
    ['POST', '/v2/messages'],
    ['GET', '/v1/message'],
    ['POST', '/v1/message'],
    ['GET', '/v1/messages/x/y'],
    ['POST', '/v1/messages/x/y/z'],
    ['GET', `/v1/messages/${UNKNOWN_MSG}/cancel`],
    ['PUT', '/v1/messages'],
    ['PATCH', '/v1/messages'],
    ['DELETE', '/v1/messages'],
    ['PUT', `/v1/messages/${UNKNOWN_MSG}`],
    ['PATCH', `/v1/messages/${UNKNOWN_MSG}`],
    ['DELETE', `/v1/messages/${UNKNOWN_MSG}`],
    ['PUT', '/v1/keys'],
    ['DELETE', `/v1/keys/${UNKNOWN_KEY}`],
    ['GET', `/v1/keys/${UNKNOWN_KEY}/revoke`],
    ['POST', `/v1/keys/${UNKNOWN_KEY}`],
    ['POST', '/v1/messages/batch/x'],
    ['OPTIONS', '/v1/messages'],
    ['OPTIONS', '/v1/keys'],
    ['GET', '/webhooks/simulator/status'],
    ['POST', '/webhooks'],
    ['POST', '/webhooks/simulator'],
    ['GET', '/admin'],
    ['GET', '/.env'],
    ['GET', '/wp-login.php'],
    ['POST', '/graphql'],
    ['GET', '/v1/messages%00'],
    ['GET', '/V1/MESSAGES'],
    ['GET', '//v1//messages'],
    ['GET', '/%2e%2e/%2e%2e/etc/passwd'],
  ]
  for (const [method, url] of unknownRoutes) {
    for (const withKey of [true, false]) {
      const hasBody = method !== 'GET' && method !== 'OPTIONS'
      add({
        group: 'unknown route',
        name: `${method} ${url}${withKey ? '' : ' (no key)'}`,
        req: {
          method,
          url,
          headers: {
            ...(withKey ? auth(k.admin) : {}),
            ...(hasBody ? { 'content-type': 'application/json' } : {}),
          },
          ...(hasBody ? { payload: '{}' } : {}),
        },
        status: 404,
        codes: ['route_not_found'],
      })
    }
  }
  for (const [label, id, code] of [
    ['unknown id', UNKNOWN_MSG, 'not_found'],
    ['short id', 'x', 'not_found'],
    ['lower-case id', 'msg_01m881p4w178dxnvmxxwv10z8r', 'not_found'],
    ['space', '%20', 'not_found'],
    ['65 characters', 'x'.repeat(65), 'validation_failed'],
    ['100 characters', 'x'.repeat(100), 'validation_failed'],
    ['101 characters', 'x'.repeat(101), 'invalid_request'],
    ['1,000 characters', 'x'.repeat(1000), 'invalid_request'],
    ['NUL', '%00', 'validation_failed'],
    ['NUL inside', 'msg_%00', 'validation_failed'],
    ['lone %', '%', 'invalid_request'],
    ['%zz', '%zz', 'invalid_request'],
    ['truncated UTF-8', '%E0%A4%A', 'invalid_request'],
    ['overlong UTF-8', '%C0%AF', 'invalid_request'],
  ] as const) {
    for (const [route, req] of [
      ['get', get(`/v1/messages/${id}`, k.read)],
      ['webhooks of', get(`/v1/messages/${id}/webhooks`, k.read)],
      ['cancel', post(`/v1/messages/${id}/cancel`, k.write, '{}')],
      ['revoke', post(`/v1/keys/${id}/revoke`, k.admin, '{}')],
    ] as const) {
      add({
        group: 'path id',
        name: `${route} ${label}`,
        req,
        codes: [code],
        check: code === 'validation_failed' ? at('/id', 'params') : undefined,
      })
    }
  }

  // -- GET /v1/messages query strings -------------------------------------------------------------
  const listQueries: [string, ErrorCode][] = [
    ['status=bogus', 'validation_failed'],
    ['status=', 'validation_failed'],
    ['status=DELIVERED', 'validation_failed'],
    ['status=delivered&status=sent', 'validation_failed'],
    ['limit=0', 'validation_failed'],
    ['limit=-1', 'validation_failed'],
    ['limit=201', 'validation_failed'],
    ['limit=1.5', 'validation_failed'],
    ['limit=abc', 'validation_failed'],
    ['limit=', 'validation_failed'],
    ['limit=5abc', 'validation_failed'],
    ['limit=1&limit=2', 'validation_failed'],
    ['limit=1e400', 'validation_failed'],
    ['limit=99999999999999999999', 'validation_failed'],
    ['type=bogus', 'validation_failed'],
    ['type=', 'validation_failed'],
    ['direction=sideways', 'validation_failed'],
    ['direction=OUTBOUND', 'validation_failed'],
    ['createdAfter=yesterday', 'validation_failed'],
    ['createdAfter=', 'validation_failed'],
    ['createdAfter=2024-02-30T00:00:00Z', 'validation_failed'],
    ['createdAfter=1700000000', 'validation_failed'],
    ['createdAfter=2024-01-01', 'validation_failed'],
    ['createdBefore=2024-01-01T25:00:00Z', 'validation_failed'],
    ['createdBefore=now', 'validation_failed'],
    ['createdAfter=2024-01-01T00:00:00Z&createdAfter=2024-01-02T00:00:00Z', 'validation_failed'],
    [`cursor=${'x'.repeat(201)}`, 'validation_failed'],
    ['cursor=a&cursor=b', 'validation_failed'],
    ['cursor=', 'invalid_cursor'],
    ['cursor=!!!!', 'invalid_cursor'],
    [`cursor=${b64url('msg_123')}`, 'invalid_cursor'],
    [`cursor=${b64url(UNKNOWN_KEY)}`, 'invalid_cursor'],
    [`cursor=${b64url(`msg_${'a'.repeat(26)}`)}`, 'invalid_cursor'],
    [`cursor=${b64url(`${UNKNOWN_MSG}\u0000`)}`, 'invalid_cursor'],
    [`cursor=${UNKNOWN_MSG}`, 'invalid_cursor'],
    ['to=', 'invalid_phone_number'],
    ['to=%', 'invalid_phone_number'],
    ['to=%zz', 'invalid_phone_number'],
    [`to=${'1'.repeat(33)}`, 'validation_failed'],
    [`from=${'a'.repeat(33)}`, 'validation_failed'],
    ['from=a%00b', 'validation_failed'],
    ['to=%2B14155550100&to=%2B14155550101', 'validation_failed'],
    ['foo=1', 'validation_failed'],
    ['page=2', 'validation_failed'],
    ['offset=10', 'validation_failed'],
    ['sort=asc', 'validation_failed'],
    ['__proto__=1', 'validation_failed'],
    ['constructor=1', 'validation_failed'],
    ['limit[]=1', 'validation_failed'],
    ['a[b]=1', 'validation_failed'],
    ['Limit=5', 'validation_failed'],
    ['=x', 'validation_failed'],
    ['&&=&=x', 'validation_failed'],
  ]
  for (const [query, code] of listQueries) {
    add({
      group: 'list query',
      name: query.slice(0, 60),
      req: get(`/v1/messages?${query}`, k.read),
      status: 422,
      codes: [code],
      check: code === 'validation_failed' ? at('', 'querystring') : undefined,
    })
  }

  // -- Batch sizes --------------------------------------------------------------------------------
  for (const size of [0, 1001, 5000]) {
    add({
      group: 'batch size',
      name: `${size} items`,
      req: post('/v1/messages/batch', k.write, {
        messages: Array.from({ length: size }, validMessage),
      }),
      status: 422,
      codes: ['validation_failed'],
      check: at('/messages'),
    })
  }

  // -- Provider webhooks with garbage -------------------------------------------------------------
  const garbage: [string | Buffer, string | undefined][] = [
    ['garbage', 'text/plain'],
    ['{', 'application/json'],
    ['[]', 'application/json'],
    ['[{"providerMessageId":"x","status":"delivered"}]', 'application/json'],
    ['', undefined],
    ['a=1&b=2', 'application/x-www-form-urlencoded'],
    [multipart, 'multipart/form-data; boundary=xyz'],
    ["'; DROP TABLE messages; --", 'text/plain'],
    ['<script>alert(1)</script>', 'text/html'],
    [deepArray(10_000), 'application/json'],
    ['\u0000\u0000', 'application/octet-stream'],
  ]
  for (let i = 0; i < 10; i++) {
    garbage.push([
      Buffer.from(Array.from({ length: 1 + int(512) }, () => int(256))),
      pick([undefined, 'application/octet-stream', 'application/json']),
    ])
  }
  const hook = (
    url: string,
    payload: string | Buffer,
    headers: Record<string, unknown>,
  ): InjectOptions => ({
    method: 'POST',
    url,
    headers: headers as InjectOptions['headers'],
    payload,
  })
  for (const [i, [payload, ct]] of garbage.entries()) {
    const headers = ct === undefined ? {} : { 'content-type': ct }
    add({
      group: 'webhook (in-process simulator)',
      name: `#${i}`,
      req: hook('/webhooks/simulator/status', payload, headers),
      status: 404,
      codes: ['not_found'],
    })
    add({
      group: 'webhook (unsigned)',
      name: `#${i}`,
      server: 'webhooks',
      req: hook('/webhooks/simulator/status', payload, headers),
      status: 403,
      codes: ['invalid_signature'],
    })
  }
  for (const provider of ['twilio', 'nope', '%00', 'simulator%2F..']) {
    add({
      group: 'webhook (unknown provider)',
      name: provider,
      server: 'webhooks',
      req: hook(`/webhooks/${provider}/status`, '[]', { 'content-type': 'application/json' }),
      status: 404,
      codes: ['not_found'],
    })
  }
  const secret = 'simulator-dev-secret'
  const signed = (raw: string | Buffer, atMs = Date.now(), key = secret) =>
    signSimulatorBody(key, Buffer.isBuffer(raw) ? raw : Buffer.from(raw), atMs)
  const good = signed('[]')
  const sigHeader = 'x-simulator-signature'
  const tsHeader = 'x-simulator-timestamp'
  const badSignatures: [string, Record<string, unknown>][] = [
    ['no headers', {}],
    ['signature only', { [sigHeader]: good[sigHeader] }],
    ['timestamp only', { [tsHeader]: good[tsHeader] }],
    ['v1=zz', { ...good, [sigHeader]: 'v1=zz' }],
    ['v2 scheme', { ...good, [sigHeader]: String(good[sigHeader]).replace('v1=', 'v2=') }],
    ['sha256 scheme', { ...good, [sigHeader]: String(good[sigHeader]).replace('v1=', 'sha256=') }],
    ['upper-case hex', { ...good, [sigHeader]: String(good[sigHeader]).toUpperCase() }],
    ['zeros', { ...good, [sigHeader]: `v1=${'0'.repeat(64)}` }],
    ['other body', signed('[{}]')],
    ['wrong secret', signed('[]', Date.now(), 'not-the-secret')],
    ['10 minutes old', signed('[]', Date.now() - 10 * 60_000)],
    ['10 minutes ahead', signed('[]', Date.now() + 10 * 60_000)],
    ['timestamp abc', { ...good, [tsHeader]: 'abc' }],
    ['timestamp empty', { ...good, [tsHeader]: '' }],
    ['timestamp 1e9', { ...good, [tsHeader]: '1e9' }],
    ['timestamp -1', { ...good, [tsHeader]: '-1' }],
    ['timestamp 13 digits', { ...good, [tsHeader]: '9'.repeat(13) }],
    ['repeated signature', { ...good, [sigHeader]: [good[sigHeader], good[sigHeader]] }],
    ['repeated timestamp', { ...good, [tsHeader]: [good[tsHeader], good[tsHeader]] }],
  ]
  for (const [label, headers] of badSignatures) {
    add({
      group: 'webhook (bad signature)',
      name: label,
      server: 'webhooks',
      req: hook('/webhooks/simulator/status', '[]', {
        'content-type': 'application/json',
        ...headers,
      }),
      status: 403,
      codes: ['invalid_signature'],
    })
  }
  const unparseable: (string | Buffer)[] = [
    'garbage',
    '{',
    '{}',
    '"x"',
    '1',
    'null',
    'true',
    '',
    '{"0":{"providerMessageId":"x","status":"delivered"}}',
    Buffer.from('[]', 'utf16le'),
    deepObject(10_000),
  ]
  for (let i = 0; i < 5; i++) {
    unparseable.push(Buffer.from(Array.from({ length: 1 + int(256) }, () => 0x80 + int(128))))
  }
  for (const [i, payload] of unparseable.entries()) {
    add({
      group: 'webhook (signed, unparseable)',
      name: `#${i}`,
      server: 'webhooks',
      req: hook('/webhooks/simulator/status', payload, {
        'content-type': 'application/json',
        ...signed(payload),
      }),
      status: 400,
      codes: ['invalid_request'],
      check: detailsMatch({ reason: 'unparseable provider webhook' }),
    })
  }
  for (const server of [undefined, 'webhooks'] as const) {
    add({
      group: 'huge body',
      name: `webhook over 2 MiB (${server ?? 'main'})`,
      server,
      req: hook('/webhooks/simulator/status', huge, { 'content-type': 'application/json' }),
      status: 413,
      codes: ['payload_too_large'],
    })
  }

  // -- Seeded fuzz: 1 to 3 schema-breaking corruptions of a valid request -------------------------
  const corruptMessage = (m: Record<string, unknown>): string => {
    const op = int(5)
    const field = pick(Object.keys(sendFields))
    if (op === 0) {
      m[field] = pick(wrong[sendFields[field] ?? 'string'])
      return `${field} wrong type`
    }
    if (op === 1) {
      delete m[pick(['to', 'body'])]
      return 'required field removed'
    }
    if (op === 2) {
      m[`x_${Math.floor(rand() * 1e9).toString(36)}`] = pick([1, 'x', null])
      return 'unknown field'
    }
    if (op === 3) {
      m[pick(['to', 'body', 'from'])] = ''
      return 'empty string'
    }
    m.validityPeriod = pick([0, -5, 604_801, 2.5])
    return 'validityPeriod out of range'
  }
  for (let n = 0; n < 300; n++) {
    const route = pick(['send', 'batch', 'create key'] as const)
    const corruptions = 1 + int(3)
    const notes: string[] = []
    let payload: Record<string, unknown>
    let url: string
    let key: string
    if (route === 'create key') {
      payload = validKeyBody()
      for (let c = 0; c < corruptions; c++) {
        const op = int(4)
        if (op === 0) payload.name = pick(['', 'n'.repeat(101), 7, null, ['x']])
        else if (op === 1) payload.scopes = pick([[], ['root'], 'admin', [7], ['admin', 'admin']])
        else if (op === 2) payload[`x_${int(1000)}`] = true
        else delete payload[pick(['name', 'scopes'])]
        notes.push(['name', 'scopes', 'unknown field', 'required field removed'][op] ?? '')
      }
      url = '/v1/keys'
      key = k.admin
    } else {
      const m = rand() < 0.5 ? fullMessage() : validMessage()
      for (let c = 0; c < corruptions; c++) notes.push(corruptMessage(m))
      if (route === 'batch') {
        const size = 1 + int(10)
        const messages: unknown[] = Array.from({ length: size }, validMessage)
        messages[int(size)] = m
        payload = { messages }
      } else payload = m
      url = route === 'send' ? '/v1/messages' : '/v1/messages/batch'
      key = k.write
    }
    // Shuffle key order and vary formatting and content type: none of it may matter.
    const shuffled = Object.fromEntries(Object.entries(payload).sort(() => (rand() < 0.5 ? -1 : 1)))
    const text = JSON.stringify(shuffled, null, int(3))
    const ct = pick(['application/json', 'application/json; charset=utf-8', 'Application/JSON'])
    add({
      group: 'seeded fuzz',
      name: `#${n} ${route}: ${notes.join(', ')}`,
      req: { method: 'POST', url, headers: { ...auth(key), 'content-type': ct }, payload: text },
      status: 422,
      codes: ['validation_failed'],
    })
  }

  return cases
}

function numberedKeys(n: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))
}

// ---------------------------------------------------------------------------------------------
// Checking answers

const REGISTRY = new Map<string, { status: number }>(Object.values(errors).map((d) => [d.code, d]))
const PHONE_REASONS = new Set([
  'not_a_number',
  'invalid_country',
  'too_short',
  'too_long',
  'invalid',
])
const DETAIL_PLACES = new Set(['body', 'querystring', 'params', 'headers'])

/** Everything wrong with one answer, as sentences (empty when it is right). */
function problems(res: LightMyRequestResponse, c: Case): string[] {
  const out: string[] = []
  if (res.statusCode < 400 || res.statusCode > 499) out.push(`status ${res.statusCode}`)
  if (!String(res.headers['content-type']).startsWith('application/json')) {
    out.push(`content-type ${String(res.headers['content-type'])}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(res.body)
  } catch {
    return [...out, `body is not JSON: ${res.body.slice(0, 120)}`]
  }
  if (!isRecord(parsed) || Object.keys(parsed).join() !== 'error' || !isRecord(parsed.error)) {
    return [...out, `body is not { error: {...} }: ${res.body.slice(0, 200)}`]
  }
  const e = parsed.error
  const extra = Object.keys(e).filter((key) => !['code', 'message', 'details'].includes(key))
  if (extra.length > 0) out.push(`unexpected error fields ${extra.join(', ')}`)
  const code = e.code
  const def = typeof code === 'string' ? REGISTRY.get(code) : undefined
  if (!def) out.push(`code ${JSON.stringify(code)} is not in the registry`)
  else if (def.status !== res.statusCode) {
    out.push(`status ${res.statusCode}, but ${String(code)} is ${def.status} in the registry`)
  }
  if (typeof e.message !== 'string' || e.message === '') out.push('no message')
  if (c.status !== undefined && res.statusCode !== c.status) {
    out.push(`expected status ${c.status}, got ${res.statusCode}`)
  }
  if (c.codes && !c.codes.includes(code as ErrorCode)) {
    out.push(`expected ${c.codes.join(' or ')}, got ${String(code)}`)
  }
  if (out.length > 0) return [...out, `body: ${res.body.slice(0, 300)}`]

  const payload: ErrorPayload = {
    code: String(code),
    message: String(e.message),
    details: e.details,
  }
  if (code === 'validation_failed') {
    if (Array.isArray(e.details)) {
      if (e.details.length === 0) out.push('validation_failed with empty details')
      for (const d of e.details as unknown[]) {
        if (
          !isRecord(d) ||
          !DETAIL_PLACES.has(String(d.in)) ||
          typeof d.path !== 'string' ||
          typeof d.message !== 'string' ||
          !(d.property === undefined || typeof d.property === 'string')
        ) {
          out.push(`malformed validation detail ${JSON.stringify(d)}`)
        }
      }
    } else if (!isRecord(e.details) || typeof e.details.field !== 'string') {
      out.push(`validation_failed details ${JSON.stringify(e.details)}`)
    }
  }
  if (code === 'invalid_phone_number') {
    const d = e.details
    if (
      !isRecord(d) ||
      !['to', 'from'].includes(String(d.field)) ||
      !PHONE_REASONS.has(String(d.reason))
    ) {
      out.push(`invalid_phone_number details ${JSON.stringify(d)}`)
    }
  }
  if (c.check) {
    try {
      c.check(payload)
    } catch (err) {
      out.push(`${(err as Error).message.split('\n')[0]} (body ${res.body.slice(0, 300)})`)
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Runs

let t: TestSwitchboard
let hooks: TestSwitchboard
let keys: Keys
const byStatus = new Map<number, number>()
const byCode = new Map<string, number>()
const itemCodes = new Map<string, number>()
let total = 0

function count(res: LightMyRequestResponse): void {
  total++
  byStatus.set(res.statusCode, (byStatus.get(res.statusCode) ?? 0) + 1)
  try {
    const body = JSON.parse(res.body) as { error?: { code?: unknown } }
    const code = body.error?.code
    if (typeof code === 'string') byCode.set(code, (byCode.get(code) ?? 0) + 1)
  } catch {
    // not JSON: counted by status only
  }
}

async function send(req: InjectOptions, server: TestSwitchboard = t) {
  const res = await server.inject(req)
  count(res)
  return res
}

before(async () => {
  t = await startTestSwitchboard()
  // Signed provider webhooks need the HTTP simulator provider: nothing listens at its URL (only
  // its webhook side is used) and the API role runs no workers that would try to send.
  hooks = await startTestSwitchboard({ SIMULATOR_URL: 'http://127.0.0.1:9' }, { role: 'api' })
  const created = await t.inject({
    method: 'POST',
    url: '/v1/keys',
    headers: t.auth(),
    payload: { name: 'soon revoked', scopes: ['admin'] },
  })
  assert.equal(created.statusCode, 201, created.body)
  const revokedKey = created.json<{ id: string; key: string }>()
  const revoked = await t.inject({
    method: 'POST',
    url: `/v1/keys/${revokedKey.id}/revoke`,
    headers: t.auth(),
  })
  assert.equal(revoked.statusCode, 200, revoked.body)
  keys = { ...t.keys, revoked: revokedKey.key, unknown: generateApiKey().key }
})

after(async () => {
  console.log(`\nbad-input summary (${process.env.TEST_DB ?? 'sqlite'}): ${total} requests`)
  console.log('  by status:', Object.fromEntries([...byStatus].sort(([a], [b]) => a - b)))
  console.log('  by code:  ', Object.fromEntries([...byCode].sort(([, a], [, b]) => b - a)))
  console.log('  batch item errors:', Object.fromEntries(itemCodes))
  await hooks?.close()
  await t?.close()
})

test('every malformed request gets a 4xx with a registry error body', async () => {
  const cases = buildCases(keys)
  assert.ok(cases.length >= 1000, `only ${cases.length} cases`)
  const failures: string[] = []
  const groups = new Map<string, number>()
  for (const c of cases) {
    groups.set(c.group, (groups.get(c.group) ?? 0) + 1)
    let res: LightMyRequestResponse
    try {
      res = await send(c.req, c.server === 'webhooks' ? hooks : t)
    } catch (err) {
      failures.push(`[${c.group}] ${c.name}: inject threw ${(err as Error).message}`)
      continue
    }
    const p = problems(res, c)
    if (p.length > 0) failures.push(`[${c.group}] ${c.name}: ${p.join('; ')}`)
  }
  console.log(
    `  ${cases.length} malformed requests in ${groups.size} groups:`,
    Object.fromEntries(groups),
  )
  assert.deepEqual(failures.slice(0, 30), [], `${failures.length} of ${cases.length} failed`)
})

test('requests the HTTP parser rejects get a registry body too (over a real socket)', async () => {
  // inject hands header values such as "a\r\nb" or "a\u0000b" to the app unchanged (the
  // corpus above covers that path); over a socket Node's HTTP parser refuses them before Fastify
  // sees the request, so these go through app.listen().
  const app = t.sb.app
  assert.ok(app)
  const { port } = new URL(await app.listen({ port: 0, host: '127.0.0.1' }))
  const raw = (request: string) =>
    new Promise<string>((resolve, reject) => {
      let out = ''
      const socket = connect(Number(port), '127.0.0.1', () => socket.end(request))
      socket.setEncoding('utf8')
      socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')))
      socket.on('data', (chunk: string) => (out += chunk))
      socket.on('error', (err) => (out === '' ? reject(err) : resolve(out)))
      socket.on('close', () => resolve(out))
    })
  const body = JSON.stringify(validMessage())
  const post = (headers: string[], contentLength = String(Buffer.byteLength(body))) =>
    [
      'POST /v1/messages HTTP/1.1',
      'Host: localhost',
      `Authorization: Bearer ${keys.write}`,
      'Content-Type: application/json',
      ...headers,
      `Content-Length: ${contentLength}`,
      '',
      body,
    ].join('\r\n')
  const requests: [string, string][] = [
    ['NUL in Idempotency-Key', post(['Idempotency-Key: a\u0000b'])],
    ['bare CR in Idempotency-Key', post(['Idempotency-Key: a\rb'])],
    ['bare LF in a header value', post(['X-Note: a\nb'])],
    ['space in a header name', post(['Idempotency Key: abc'])],
    ['header line without a colon', post(['Idempotency-Key'])],
    ['Content-Length: abc', post([], 'abc')],
    ['two different Content-Lengths', post(['Content-Length: 5'])],
    ['Content-Length with Transfer-Encoding', post(['Transfer-Encoding: chunked'])],
    ['headers over 16 KiB', post([`X-Padding: ${'a'.repeat(20_000)}`])],
    ['garbage request line', 'GARBAGE\r\n\r\n'],
    ['space in the path', 'GET /v1/mess ages HTTP/1.1\r\nHost: localhost\r\n\r\n'],
    ['NUL in the path', 'GET /v1/\u0000 HTTP/1.1\r\nHost: localhost\r\n\r\n'],
  ]
  const failures: string[] = []
  for (const [label, request] of requests) {
    const answer = await raw(request)
    const [head = '', payload = ''] = answer.split('\r\n\r\n')
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
    total++
    let error: unknown
    try {
      error = (JSON.parse(payload) as { error?: unknown }).error
    } catch {
      error = undefined
    }
    const code = isRecord(error) ? String(error.code) : undefined
    if (code) byCode.set(code, (byCode.get(code) ?? 0) + 1)
    if (
      status !== 400 ||
      code !== 'invalid_request' ||
      !isRecord(error) ||
      error.message !== errors.invalid_request.message ||
      !/^content-type: application\/json\r?$/im.test(head)
    ) {
      failures.push(`${label}: ${JSON.stringify(answer.slice(0, 200))}`)
    }
  }
  assert.deepEqual(failures, [])
})

test('a batch mixing valid and invalid items is a 202 with registry codes per item', async () => {
  const inAnHour = new Date(Date.now() + HOUR).toISOString()
  const pool: { item: Record<string, unknown>; code: ErrorCode | null }[] = [
    { item: validMessage(), code: null },
    { item: { to: '+447911123456', body: 'Hi from the UK test' }, code: null },
    { item: { ...validMessage(), from: 'Switchboard', type: 'marketing' }, code: null },
    { item: { ...validMessage(), from: '12345', sendAt: inAnHour }, code: null },
    { item: { ...validMessage(), to: '+1' }, code: 'invalid_phone_number' },
    { item: { ...validMessage(), to: 'not a number' }, code: 'invalid_phone_number' },
    { item: { ...validMessage(), to: "'; DROP TABLE messages; --" }, code: 'invalid_phone_number' },
    { item: { ...validMessage(), from: 'AB!@#' }, code: 'invalid_sender' },
    { item: { ...validMessage(), from: 'TWELVECHARSX' }, code: 'invalid_sender' },
    { item: { ...validMessage(), from: '+1' }, code: 'invalid_phone_number' },
    { item: { ...validMessage(), sendAt: '2000-01-01T00:00:00Z' }, code: 'invalid_send_at' },
    {
      item: { ...validMessage(), sendAt: new Date(Date.now() + 400 * DAY).toISOString() },
      code: 'invalid_send_at',
    },
    { item: { ...validMessage(), body: 'x'.repeat(1531) }, code: 'segment_limit_exceeded' },
    { item: { ...validMessage(), body: '😀'.repeat(400) }, code: 'segment_limit_exceeded' },
    {
      item: {
        ...validMessage(),
        metadata: Object.fromEntries(
          Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'.repeat(90)]),
        ),
      },
      code: 'validation_failed',
    },
  ]
  const valid = pool.filter((p) => p.code === null)
  const invalid = pool.filter((p) => p.code !== null)
  for (let b = 0; b < 8; b++) {
    const size = 2 + int(40)
    const chosen = Array.from({ length: size }, (_, i) =>
      i === 0 ? pick(valid) : i === 1 ? pick(invalid) : pick(pool),
    ).sort(() => (rand() < 0.5 ? -1 : 1))
    const res = await send({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: t.auth(keys.write),
      payload: { messages: chosen.map((c) => c.item) },
    })
    assert.equal(res.statusCode, 202, res.body)
    const out = res.json<{
      accepted: number
      failed: number
      data: { index: number; message?: { id: string }; error?: ErrorPayload }[]
    }>()
    const expectedFailed = chosen.filter((c) => c.code !== null).length
    assert.equal(out.failed, expectedFailed)
    assert.equal(out.accepted, size - expectedFailed)
    assert.equal(out.data.length, size)
    out.data.forEach((entry, i) => {
      assert.equal(entry.index, i)
      const want = chosen[i]?.code ?? null
      if (want === null) {
        assert.match(entry.message?.id ?? '', /^msg_[0-9A-Z]{26}$/, `item ${i}`)
        assert.equal(entry.error, undefined)
      } else {
        assert.ok(entry.error, `item ${i} should have failed with ${want}`)
        assert.ok(REGISTRY.has(entry.error.code), `item ${i}: ${entry.error.code} not in registry`)
        assert.equal(entry.error.code, want, `item ${i}`)
        assert.equal(typeof entry.error.message, 'string')
        assert.equal(entry.message, undefined)
        itemCodes.set(entry.error.code, (itemCodes.get(entry.error.code) ?? 0) + 1)
      }
    })
  }
})

test('Idempotency-Key: replay, reuse with another payload, a duplicate in flight', async () => {
  const headers = (key: string) => ({ ...t.auth(keys.write), 'idempotency-key': key })
  const sendWith = (key: string, payload: object, url = '/v1/messages') =>
    send({ method: 'POST', url, headers: headers(key), payload })

  // Same key, same payload (keys in another order): the first answer is replayed.
  const first = await sendWith('replay-1', { to: VALID_TO, body: 'replay me', type: 'marketing' })
  assert.equal(first.statusCode, 202, first.body)
  assert.equal(first.headers['idempotent-replayed'], undefined)
  const again = await sendWith('replay-1', { type: 'marketing', body: 'replay me', to: VALID_TO })
  assert.equal(again.statusCode, 202, again.body)
  assert.equal(again.headers['idempotent-replayed'], 'true')
  assert.equal(again.json<{ id: string }>().id, first.json<{ id: string }>().id)
  assert.equal(again.body, first.body)

  // Same key, another payload or another route: 422 idempotency_key_reused.
  for (const [payload, url] of [
    [{ to: VALID_TO, body: 'replay me!', type: 'marketing' }, '/v1/messages'],
    [{ to: VALID_TO, body: 'replay me' }, '/v1/messages'],
    [{ messages: [{ to: VALID_TO, body: 'replay me', type: 'marketing' }] }, '/v1/messages/batch'],
  ] as const) {
    const res = await sendWith('replay-1', payload, url)
    assert.equal(res.statusCode, 422, res.body)
    assert.equal(res.json<{ error: ErrorPayload }>().error.code, 'idempotency_key_reused')
  }
  // Another API key has its own key space: the same key is new there.
  const other = await send({
    method: 'POST',
    url: '/v1/messages',
    headers: { ...t.auth(keys.admin), 'idempotency-key': 'replay-1' },
    payload: { to: VALID_TO, body: 'replay me', type: 'marketing' },
  })
  assert.equal(other.statusCode, 202, other.body)
  assert.notEqual(other.json<{ id: string }>().id, first.json<{ id: string }>().id)

  // A 255-character key is fine; a 256-character one is not (also checked in the corpus).
  const long = await sendWith('k'.repeat(255), validMessage())
  assert.equal(long.statusCode, 202, long.body)

  // Concurrent duplicate: hold the first request inside its database write (every store
  // transaction waits on a gate), watch the in-flight registry until it holds the key, then
  // send the same key again: 409 idempotency_request_in_progress, for the same payload or not.
  const store = t.sb.store
  const originalTx = store.tx.bind(store)
  const tryBegin = Object.getOwnPropertyDescriptor(InFlightKeys.prototype, 'tryBegin')
  assert.ok(tryBegin && typeof tryBegin.value === 'function')
  const originalTryBegin = tryBegin.value as (scope: string, key: string) => boolean
  const began: { key: string; ok: boolean }[] = []
  let open!: () => void
  const gate = new Promise<void>((resolve) => (open = resolve))
  store.tx = async (program) => {
    await gate
    return originalTx(program)
  }
  InFlightKeys.prototype.tryBegin = function (this: InFlightKeys, scope: string, key: string) {
    const ok = originalTryBegin.call(this, scope, key)
    began.push({ key, ok })
    return ok
  }
  try {
    const payload = { to: VALID_TO, body: 'slow first request' }
    const slow = sendWith('in-flight-1', payload)
    await waitFor(
      () => (began.some((b) => b.key === 'in-flight-1' && b.ok) ? true : undefined),
      5000,
      'the first request to be in flight',
    )
    for (const p of [payload, { ...payload, body: 'different payload' }]) {
      const dup = await sendWith('in-flight-1', p)
      assert.equal(dup.statusCode, 409, dup.body)
      assert.equal(
        dup.json<{ error: ErrorPayload }>().error.code,
        'idempotency_request_in_progress',
      )
    }
    assert.deepEqual(
      began.filter((b) => b.key === 'in-flight-1').map((b) => b.ok),
      [true, false, false],
    )
    let settled = false
    void slow.then(() => (settled = true))
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(settled, false, 'the first request finished while its write was held')
    open()
    const done = await slow
    assert.equal(done.statusCode, 202, done.body)
    // Finished: the same key now replays the first answer.
    const replay = await sendWith('in-flight-1', payload)
    assert.equal(replay.statusCode, 202, replay.body)
    assert.equal(replay.headers['idempotent-replayed'], 'true')
    assert.equal(replay.json<{ id: string }>().id, done.json<{ id: string }>().id)
  } finally {
    open()
    Reflect.deleteProperty(store, 'tx') // back to the prototype's method
    Object.defineProperty(InFlightKeys.prototype, 'tryBegin', tryBegin)
  }

  // Cancel with a key: replayed for the same message, reused for another one.
  const scheduled = async () => {
    const res = await send({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(keys.write),
      payload: { ...validMessage(), sendAt: new Date(Date.now() + HOUR).toISOString() },
    })
    assert.equal(res.statusCode, 202, res.body)
    return res.json<{ id: string }>().id
  }
  const [a, b] = [await scheduled(), await scheduled()]
  const cancel = (id: string) => sendWith('cancel-1', {}, `/v1/messages/${id}/cancel`)
  const c1 = await cancel(a)
  assert.equal(c1.statusCode, 200, c1.body)
  const c2 = await cancel(a)
  assert.equal(c2.statusCode, 200, c2.body)
  assert.equal(c2.headers['idempotent-replayed'], 'true')
  const c3 = await cancel(b)
  assert.equal(c3.statusCode, 422, c3.body)
  assert.equal(c3.json<{ error: ErrorPayload }>().error.code, 'idempotency_key_reused')
})

test('a message no longer scheduled or queued: cancel is 409 message_not_cancelable', async () => {
  const post = (url: string, payload?: unknown) =>
    send({ method: 'POST', url, headers: t.auth(keys.write), ...(payload ? { payload } : {}) })
  const scheduledRes = await post('/v1/messages', {
    ...validMessage(),
    sendAt: new Date(Date.now() + HOUR).toISOString(),
  })
  const id = scheduledRes.json<{ id: string }>().id
  assert.equal((await post(`/v1/messages/${id}/cancel`)).statusCode, 200)
  const twice = await post(`/v1/messages/${id}/cancel`)
  assert.equal(twice.statusCode, 409, twice.body)
  assert.equal(twice.json<{ error: ErrorPayload }>().error.code, 'message_not_cancelable')

  const sent = (await post('/v1/messages', validMessage())).json<{ id: string }>().id
  await waitFor(
    async () => {
      const m = await t.inject({
        method: 'GET',
        url: `/v1/messages/${sent}`,
        headers: t.auth(keys.read),
      })
      return m.json<{ status: string }>().status === 'delivered' ? true : undefined
    },
    10_000,
    'delivery',
  )
  const late = await post(`/v1/messages/${sent}/cancel`)
  assert.equal(late.statusCode, 409, late.body)
  assert.equal(late.json<{ error: ErrorPayload }>().error.code, 'message_not_cancelable')
})

test('afterwards the server still answers a valid send correctly', async () => {
  const payload = {
    to: '+1 (415) 555-0100',
    body: "'; DROP TABLE messages; -- <script>{{x}}</script>",
  }
  const res = await send({
    method: 'POST',
    url: '/v1/messages',
    headers: t.auth(keys.write),
    payload,
  })
  assert.equal(res.statusCode, 202, res.body)
  const msg = res.json<{ id: string; to: string; body: string; status: string }>()
  assert.match(msg.id, /^msg_[0-9A-Z]{26}$/)
  assert.equal(msg.to, VALID_TO)
  assert.equal(msg.body, payload.body)
  assert.equal(msg.status, 'queued')
  const delivered = await waitFor(
    async () => {
      const m = await t.inject({
        method: 'GET',
        url: `/v1/messages/${msg.id}`,
        headers: t.auth(keys.read),
      })
      const body = m.json<{ status: string; body: string; events: { status: string }[] }>()
      return body.status === 'delivered' ? body : undefined
    },
    10_000,
    'delivery',
  )
  assert.equal(delivered.body, payload.body)
  assert.deepEqual(
    delivered.events.map((e) => e.status),
    ['queued', 'sending', 'sent', 'delivered'],
  )
  const list = await t.inject({
    method: 'GET',
    url: `/v1/messages?to=${encodeURIComponent(VALID_TO)}&limit=5`,
    headers: t.auth(keys.read),
  })
  assert.equal(list.statusCode, 200, list.body)
  assert.equal(list.json<{ data: { id: string }[] }>().data[0]?.id, msg.id)
})

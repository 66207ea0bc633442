/**
 * Request bodies: syntax (a few representatives: JSON.parse itself is not under test), encoding,
 * charset, duplicate keys, prototype poisoning, empty and non-object bodies, nesting and size.
 */
import { MIB, UNKNOWN_KEY, UNKNOWN_MSG, VALID_TO, validMessage, type Case } from './case.js'

const SEND = { url: '/v1/messages', key: 'write' } as const
const BATCH = { url: '/v1/messages/batch', key: 'write' } as const
const CREATE_KEY = { url: '/v1/keys', key: 'admin' } as const
const CANCEL = { url: `/v1/messages/${UNKNOWN_MSG}/cancel`, key: 'write' } as const
const REVOKE = { url: `/v1/keys/${UNKNOWN_KEY}/revoke`, key: 'admin' } as const

const invalidJson = { status: 400, code: 'invalid_json' } as const
const bytes = (...b: number[]) => Buffer.from(b)
/** `{"to":"+14155550100","body":"<x>"}` with raw bytes for x. */
const bodyBytes = (...b: number[]) =>
  Buffer.concat([Buffer.from(`{"to":"${VALID_TO}","body":"`), bytes(...b), Buffer.from('"}')])
const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n)
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`
const huge = 'a'.repeat(2 * MIB + 100)

export const cases: Case[] = [
  // -- Syntax: one of each kind -------------------------------------------------------------------
  { name: 'send empty body', ...SEND, raw: '', ...invalidJson },
  { name: 'batch empty body', ...BATCH, raw: '', ...invalidJson },
  { name: 'create key empty body', ...CREATE_KEY, raw: '', ...invalidJson },
  { name: 'send truncated', ...SEND, raw: `{"to":"${VALID_TO}"`, ...invalidJson },
  { name: 'send trailing comma', ...SEND, raw: `{"to":"${VALID_TO}",}`, ...invalidJson },
  { name: 'send single quotes', ...SEND, raw: `{'to':'${VALID_TO}'}`, ...invalidJson },
  { name: 'send comment', ...SEND, raw: '// x\n{}', ...invalidJson },
  { name: 'send NaN', ...SEND, raw: '{"a":NaN}', ...invalidJson },
  { name: 'send raw newline in a string', ...SEND, raw: '{"a":"line\nbreak"}', ...invalidJson },
  { name: 'send two values', ...SEND, raw: '{"a":1}{"b":2}', ...invalidJson },
  { name: 'send two byte order marks', ...SEND, raw: '\uFEFF\uFEFF{}', ...invalidJson },
  { name: 'cancel unclosed', ...CANCEL, raw: '{', ...invalidJson },
  { name: 'revoke unclosed', ...REVOKE, raw: '[', ...invalidJson },

  // -- Encoding: UTF-8 only, never replaced by U+FFFD ---------------------------------------------
  ...(
    [
      ['Latin-1 é (caf\\xe9)', bodyBytes(0x63, 0x61, 0x66, 0xe9)],
      ['overlong C0 AF', bodyBytes(0xc0, 0xaf)],
      ['an encoded surrogate (ED A0 80)', bodyBytes(0xed, 0xa0, 0x80)],
      ['a truncated sequence', bodyBytes(0xe2, 0x82)],
      ['a lone continuation byte', bodyBytes(0x80)],
      ['UTF-16 with a byte order mark', Buffer.from(`\uFEFF{"to":"${VALID_TO}"}`, 'utf16le')],
    ] as const
  ).map(([label, raw]): Case => ({
    name: `send ${label}`,
    ...SEND,
    raw,
    ...invalidJson,
    details: { reason: 'invalid_utf8' },
  })),
  {
    name: 'batch item with Latin-1 bytes',
    ...BATCH,
    raw: Buffer.concat([Buffer.from('{"messages":['), bodyBytes(0xe9), Buffer.from(']}')]),
    ...invalidJson,
    details: { reason: 'invalid_utf8' },
  },
  {
    name: 'create key with Latin-1 bytes',
    ...CREATE_KEY,
    raw: Buffer.concat([Buffer.from('{"name":"caf'), bytes(0xe9), Buffer.from('"}')]),
    ...invalidJson,
    details: { reason: 'invalid_utf8' },
  },
  ...['iso-8859-1', 'ISO-8859-1', 'latin1', 'utf-16', 'us-ascii', '"windows-1252"', ''].map(
    (charset): Case => ({
      name: `send charset=${charset}`,
      ...SEND,
      json: validMessage(),
      contentType: `application/json; charset=${charset}`,
      status: 415,
      code: 'unsupported_media_type',
      details: { reason: 'charset must be utf-8' },
    }),
  ),

  // -- Duplicate keys: refused, with a JSON Pointer to the second one -----------------------------
  ...(
    [
      ['to', `{"to":"${VALID_TO}","to":"+14155550101","body":"hi"}`, '/to'],
      ['body', `{"to":"${VALID_TO}","body":"hi","body":"ho"}`, '/body'],
      ['same value', `{"to":"${VALID_TO}","body":"hi","body":"hi"}`, '/body'],
      ['spaced', `{ "to" : "${VALID_TO}" , "body" : "a" , "to" : "${VALID_TO}" }`, '/to'],
      ['escaped', `{"to":"${VALID_TO}","body":"hi","\\u0062ody":"ho"}`, '/body'],
      ['metadata', `{"to":"${VALID_TO}","body":"hi","metadata":{"k":1,"k":2}}`, '/metadata/k'],
    ] as const
  ).map(([label, raw, path]): Case => ({
    name: `send duplicate ${label}`,
    ...SEND,
    raw,
    ...invalidJson,
    details: { reason: 'duplicate_key', path },
  })),
  {
    name: 'batch duplicate key in an item',
    ...BATCH,
    raw: `{"messages":[{"to":"${VALID_TO}","body":"a"},{"to":"${VALID_TO}","body":"b","to":"x"}]}`,
    ...invalidJson,
    details: { reason: 'duplicate_key', path: '/messages/1/to' },
  },
  {
    name: 'batch duplicate messages',
    ...BATCH,
    raw: `{"messages":[{"to":"${VALID_TO}","body":"hi"}],"messages":5}`,
    ...invalidJson,
    details: { reason: 'duplicate_key', path: '/messages' },
  },
  {
    name: 'create key duplicate scopes',
    ...CREATE_KEY,
    raw: '{"name":"x","scopes":["admin"],"scopes":[]}',
    ...invalidJson,
    details: { reason: 'duplicate_key', path: '/scopes' },
  },
  {
    name: 'cancel duplicate key',
    ...CANCEL,
    raw: '{"reason":"a","reason":"b"}',
    ...invalidJson,
    details: { reason: 'duplicate_key', path: '/reason' },
  },

  // -- Prototype poisoning ------------------------------------------------------------------------
  ...(
    [
      ['__proto__', '{"__proto__":{"isAdmin":true}}'],
      ['__proto__ in metadata', `{"to":"${VALID_TO}","body":"hi","metadata":{"__proto__":{}}}`],
      ['constructor.prototype', '{"constructor":{"prototype":{"isAdmin":true}}}'],
      ['deep __proto__', `${'{"a":'.repeat(10_000)}{"__proto__":{}}${'}'.repeat(10_000)}`],
    ] as const
  ).map(([label, raw]): Case => ({
    name: `send ${label}`,
    ...SEND,
    raw,
    ...invalidJson,
    details: { reason: 'prototype_poisoning' },
  })),

  // -- Not an object ------------------------------------------------------------------------------
  ...['null', '"x"', '0', '[]', '[{}]', '{}'].map((raw): Case => ({
    name: `send ${raw}`,
    ...SEND,
    raw,
    status: 422,
    code: 'validation_failed',
    at: { path: '' },
  })),
  {
    name: 'send no body, no content type',
    ...SEND,
    method: 'POST',
    status: 422,
    code: 'validation_failed',
    at: { path: '' },
  },
  { name: 'create key []', ...CREATE_KEY, raw: '[]', status: 422, code: 'validation_failed' },
  // Cancel and revoke have no body schema: any JSON, or an empty JSON body, reaches the route.
  { name: 'cancel empty JSON body', ...CANCEL, raw: '', status: 404, code: 'not_found' },
  { name: 'revoke empty JSON body', ...REVOKE, raw: '', status: 404, code: 'not_found' },
  { name: 'cancel []', ...CANCEL, raw: '[]', status: 404, code: 'not_found' },

  // -- Deep nesting (10,000 levels) ---------------------------------------------------------------
  {
    name: 'send arrays',
    ...SEND,
    raw: deepArray(10_000),
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'send objects',
    ...SEND,
    raw: deepObject(10_000),
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'send metadata',
    ...SEND,
    raw: `{"to":"${VALID_TO}","body":"hi","metadata":${deepArray(10_000)}}`,
    status: 422,
    code: 'validation_failed',
    at: { path: '/metadata' },
  },
  {
    name: 'batch messages',
    ...BATCH,
    raw: `{"messages":${deepArray(10_000)}}`,
    status: 422,
    code: 'validation_failed',
    at: { path: '/messages' },
  },
  {
    name: 'cancel 100,000 arrays with Idempotency-Key (hashed)',
    ...CANCEL,
    raw: deepArray(100_000),
    headers: { 'idempotency-key': 'deep-100k' },
    status: 404,
    code: 'not_found',
  },

  // -- Size ---------------------------------------------------------------------------------------
  ...[SEND, BATCH, CREATE_KEY, CANCEL, REVOKE].map((route): Case => ({
    name: `${route.url} over 2 MiB`,
    ...route,
    json: { to: VALID_TO, body: huge },
    status: 413,
    code: 'payload_too_large',
  })),
  {
    name: 'batch of 1,000 items over 2 MiB',
    ...BATCH,
    json: {
      messages: Array.from({ length: 1000 }, () => ({ to: VALID_TO, body: 'b'.repeat(2200) })),
    },
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'Content-Length of 99,999,999',
    ...SEND,
    json: validMessage(),
    headers: { 'content-length': '99999999' },
    status: 413,
    code: 'payload_too_large',
  },
]

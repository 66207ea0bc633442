import assert from 'node:assert/strict'
import { test } from 'node:test'

import { parseJsonText, type JsonTextResult } from './json-text.js'

const parse = (s: string | Buffer): JsonTextResult =>
  parseJsonText(Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8'))
const problem = (s: string | Buffer) => {
  const r = parse(s)
  assert.ok(!r.ok, `accepted ${String(s)}`)
  return r.problem
}

test('valid JSON parses as JSON.parse would, a leading byte order mark included', () => {
  for (const text of [
    '{"to":"+14155550100","body":"hi"}',
    '{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}',
    '{"a":"\\"b\\":1","b":"c:d","c":"\\\\","d":"\\\\\\":"}',
    '{ "a" : 1 , "b"\n:\t2 }',
    '[1,"x",null,{"k":[]}]',
    '"just a string"',
    '42',
    '{"":1," ":2}',
    '{"café":"ok","😀":"\\u00e9"}',
  ]) {
    assert.deepEqual(parse(text), { ok: true, value: JSON.parse(text) as unknown }, text)
  }
  assert.deepEqual(parse('\uFEFF{"a":1}'), { ok: true, value: { a: 1 } })
})

test('bytes that are not UTF-8 are refused, not replaced by U+FFFD', () => {
  for (const bytes of [
    [0x7b, 0x22, 0x62, 0x22, 0x3a, 0x22, 0x63, 0x61, 0x66, 0xe9, 0x22, 0x7d], // {"b":"caf\xe9"}
    [0x22, 0xc0, 0xaf, 0x22], // overlong "/"
    [0x22, 0xed, 0xa0, 0x80, 0x22], // an encoded surrogate
    [0x22, 0xe2, 0x82, 0x22], // truncated sequence
    [0x22, 0xff, 0x22],
  ]) {
    assert.deepEqual(problem(Buffer.from(bytes)), { reason: 'invalid_utf8' }, String(bytes))
  }
  assert.deepEqual(problem(Buffer.from('\uFEFF{"a":1}', 'utf16le')), { reason: 'invalid_utf8' })
})

test('a key twice in one object is refused with a JSON Pointer to the second one', () => {
  const cases: [string, string][] = [
    ['{"to":"+14155550100","to":"+14155550101"}', '/to'],
    ['{"a":1,"b":2,"a":3}', '/a'],
    ['{ "a" : 1 , "a" : 1 }', '/a'],
    ['{"to":"x","metadata":{"k":1,"k":2}}', '/metadata/k'],
    ['{"messages":[{"to":"x"},{"to":"y","body":"b","to":"z"}]}', '/messages/1/to'],
    ['[[0],[1,{"x":{"y/z":1,"y/z":2}}]]', '/1/1/x/y~1z'],
    ['{"a":1,"\\u0061":2}', '/a'],
    ['{"a\\"":1,"b":"\\"","a\\"":2}', '/a"'],
  ]
  for (const [text, path] of cases) {
    assert.deepEqual(problem(text), { reason: 'duplicate_key', path }, text)
  }
  // The same key in different objects, or as a value, is fine.
  assert.ok(parse('{"a":{"a":"a"},"b":[{"a":1},{"a":2}],"c":"a"}').ok)
})

test('prototype poisoning keys are refused; other text is a syntax problem', () => {
  assert.deepEqual(problem('{"__proto__":{"x":1}}'), { reason: 'prototype_poisoning' })
  assert.deepEqual(problem('{"m":{"constructor":{"prototype":{}}}}'), {
    reason: 'prototype_poisoning',
  })
  assert.ok(parse('{"constructor":"x","prototype":1}').ok)
  assert.deepEqual(problem(''), { reason: 'empty' })
  for (const text of ['{', '{"a":1,}', '\uFEFF\uFEFF{}', 'nul', '{"a":1}{"b":2}']) {
    assert.deepEqual(problem(text), { reason: 'syntax' }, text)
  }
})

test('an enumerable property on Object.prototype is not counted as a key of the body', () => {
  Object.defineProperty(Object.prototype, 'polluted', {
    value: 1,
    enumerable: true,
    configurable: true,
  })
  try {
    assert.deepEqual(parse('{"a":{"b":1}}'), { ok: true, value: { a: { b: 1 } } })
  } finally {
    Reflect.deleteProperty(Object.prototype, 'polluted')
  }
})

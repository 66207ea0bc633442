import assert from 'node:assert/strict'
import { test } from 'node:test'

import { prepareMessage, type MessagePolicy, type SendRequest } from './prepare.js'

const policy: MessagePolicy = {
  defaultCountry: undefined,
  maxSegments: 10,
  smartEncoding: false,
  defaultValidityPeriod: 36_000,
  maxValidityPeriod: 604_800,
  maxScheduleAheadSeconds: 35 * 86_400,
  allowPremiumDestinations: false,
  allowPrivateCallbacks: false,
}
const prepare = (req: Partial<SendRequest>) =>
  prepareMessage({ to: '+14155550100', body: 'hi', ...req }, { apiKeyId: null, now: 0, policy })

test('a body of only white space or invisible format characters is refused', () => {
  for (const body of [
    ' ',
    '   ',
    '\t\r\n',
    '\u200b',
    '\u200c\u200d',
    '\u2060',
    '\ufeff',
    '\u00a0',
    '\u3000',
    '\u00ad',
    ' \u200b \u200e\u200f ',
  ]) {
    const r = prepare({ body })
    assert.ok(!r.ok, JSON.stringify(body))
    assert.equal(r.error.code, 'validation_failed')
    assert.deepEqual(r.details, {
      field: 'body',
      reason: 'only white space or invisible characters',
    })
  }
  for (const body of ['ok\u200b', '\u200bok', ' . ', '\u00a0x', '0']) {
    const r = prepare({ body })
    assert.ok(r.ok, JSON.stringify(body))
    assert.equal(r.message.body, body)
  }
})

test('from is trimmed before it is checked and stored', () => {
  for (const [from, stored] of [
    ['  Acme  ', 'Acme'],
    [' My Shop ', 'My Shop'],
    ['\t12345\n', '12345'],
    ['  +1 415 555 0101 ', '+14155550101'],
  ] as const) {
    const r = prepare({ from })
    assert.ok(r.ok, JSON.stringify(from))
    assert.equal(r.message.from_number, stored)
  }
  const blank = prepare({ from: '   ' })
  assert.ok(!blank.ok)
  assert.equal(blank.error.code, 'invalid_sender')
})

test('the metadata limit counts UTF-8 bytes of the stored JSON, not characters', () => {
  // {"a":"..."} is 8 bytes around the value.
  const fits = prepare({ metadata: { a: 'v'.repeat(4088) } })
  assert.ok(fits.ok)
  assert.equal(Buffer.byteLength(fits.message.metadata ?? ''), 4096)
  const over = prepare({ metadata: { a: 'v'.repeat(4089) } })
  assert.ok(!over.ok)
  assert.deepEqual(over.details, { field: 'metadata', reason: 'larger than 4096 bytes' })

  // 1,400 characters, 4,200 bytes: under 4,096 characters but over 4,096 bytes.
  const multiByte = prepare({ metadata: { a: '€'.repeat(1400) } })
  assert.ok(!multiByte.ok)
  assert.equal(multiByte.error.code, 'validation_failed')
  // 1,362 euro signs are 4,086 bytes, 4,094 with the JSON around them.
  const multiByteFits = prepare({ metadata: { a: '€'.repeat(1362) } })
  assert.ok(multiByteFits.ok)
  const emoji = prepare({ metadata: { a: '😀'.repeat(1023) } })
  assert.ok(!emoji.ok, '1,023 emoji are 4,092 bytes, 4,100 with the JSON around them')
})

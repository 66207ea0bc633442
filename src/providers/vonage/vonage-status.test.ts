import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import {
  classifyReceipt,
  classifySendStatus,
  safeErrorText,
  VONAGE_RECEIPT_ERRORS,
  VONAGE_RECEIPT_STATUSES,
  VONAGE_SEND_STATUSES,
} from './vonage-status.js'

/** Every documented send status (the SMS API error table, @vonage/sms `SMSStatus`). */
const EXPECTED_SEND: Record<string, [string, string, 'instance' | 'after' | '']> = {
  '1': ['retry', 'provider_rate_limited', 'after'],
  '2': ['rejected', 'provider_rejected', ''],
  '3': ['rejected', 'provider_rejected', ''],
  '4': ['retry', 'provider_auth_failed', 'instance'],
  '5': ['retry', 'provider_unavailable', ''],
  '6': ['rejected', 'unreachable_destination', ''],
  '7': ['rejected', 'blocked_by_carrier', ''],
  '8': ['retry', 'provider_account_error', 'instance'],
  '9': ['retry', 'provider_account_error', 'instance'],
  '10': ['retry', 'provider_rate_limited', 'after'],
  '11': ['retry', 'provider_account_error', 'instance'],
  '12': ['rejected', 'message_too_long', ''],
  '14': ['retry', 'provider_auth_failed', 'instance'],
  '15': ['rejected', 'provider_rejected', ''],
  '22': ['rejected', 'unreachable_destination', ''],
  '23': ['retry', 'provider_account_error', 'instance'],
  '29': ['rejected', 'unreachable_destination', ''],
  '32': ['retry', 'provider_auth_failed', 'instance'],
  '33': ['rejected', 'invalid_number', ''],
}

test('every documented send status is classified as documented', () => {
  assert.deepEqual(Object.keys(VONAGE_SEND_STATUSES).sort(), Object.keys(EXPECTED_SEND).sort())
  for (const [status, [outcome, code, extra]] of Object.entries(EXPECTED_SEND)) {
    const r = classifySendStatus(status, 'whatever')
    assert.equal(r.outcome, outcome, `status ${status}`)
    assert.ok(r.outcome !== 'accepted')
    assert.equal(r.code, code, `status ${status}`)
    const fault = r.outcome === 'retry' ? r.fault : undefined
    const after = r.outcome === 'retry' ? r.after : undefined
    assert.equal(fault, extra === 'instance' ? 'instance' : undefined, `status ${status} fault`)
    assert.equal(after, extra === 'after' ? 1000 : undefined, `status ${status} after`)
    assert.match(r.message ?? '', new RegExp(`^Vonage status ${status} \\(.+\\): whatever$`))
  }
})

test('an undocumented status is refused with its number, never accepted', () => {
  for (const status of ['13', '99', '', 'constructor', '__proto__']) {
    const r = classifySendStatus(status)
    assert.equal(r.outcome, 'rejected')
    assert.ok(r.outcome === 'rejected' && r.code === 'provider_rejected')
    assert.equal(r.message, `Vonage status ${status} (undocumented)`)
  }
})

test('error-text is stored without control characters, phone numbers or excess length', () => {
  assert.equal(safeErrorText('Invalid to address 447700900123'), 'Invalid to address …0123')
  assert.equal(safeErrorText('bad\u0000\nthing'), 'bad  thing')
  assert.equal(safeErrorText('x'.repeat(500))?.length, 120)
  assert.equal(safeErrorText(''), undefined)
  assert.equal(safeErrorText(42), undefined)
})

test('receipt words: delivered and the negative words are final, every other word is not', () => {
  const expected = {
    delivered: 'delivered',
    expired: 'undelivered',
    failed: 'undelivered',
    rejected: 'undelivered',
    accepted: 'sent',
    buffered: 'sent',
    unknown: 'sent',
  }
  assert.deepEqual({ ...VONAGE_RECEIPT_STATUSES }, expected)
  for (const [word, status] of Object.entries(expected)) {
    assert.equal(classifyReceipt(word, '0').status, status, word)
    assert.equal(classifyReceipt(word.toUpperCase(), '0').status, status, word)
  }
  for (const word of ['read', 'submitted', 'toString', 'constructor', '__proto__', '']) {
    assert.deepEqual(classifyReceipt(word, '5'), { status: 'sent' }, word)
  }
  assert.deepEqual(classifyReceipt('delivered', '0'), { status: 'delivered' })
})

test('a negative receipt carries the code of its err-code', () => {
  const expected: Record<string, string> = {
    '1': 'carrier_error',
    '2': 'undeliverable',
    '3': 'invalid_number',
    '4': 'undeliverable',
    '5': 'carrier_error',
    '6': 'blocked_by_carrier',
    '7': 'undeliverable',
    '8': 'carrier_error',
    '9': 'recipient_opted_out',
    '10': 'provider_rejected',
    '11': 'unreachable_destination',
    '12': 'unreachable_destination',
    '13': 'blocked_by_carrier',
    '14': 'blocked_by_carrier',
  }
  assert.deepEqual(
    Object.fromEntries(Object.entries(VONAGE_RECEIPT_ERRORS).map(([k, v]) => [k, v.code])),
    expected,
  )
  for (const [errCode, code] of Object.entries(expected)) {
    assert.deepEqual(classifyReceipt('failed', errCode), { status: 'undelivered', errorCode: code })
  }
  assert.equal(classifyReceipt('rejected', '77').errorCode, 'carrier_error')
  assert.equal(classifyReceipt('rejected', 'constructor').errorCode, 'carrier_error')
  assert.equal(classifyReceipt('expired', '0').errorCode, 'undeliverable')
  assert.equal(classifyReceipt('expired', undefined).errorCode, 'undeliverable')
})

/** Rows `| \`key\` | ... |` of the table under the line that starts with `header`. */
function docTable(doc: string, header: string): Map<string, string[]> {
  const lines = doc.split('\n')
  const start = lines.findIndex((l) => l.startsWith(header))
  assert.ok(start >= 0, `no table headed ${header}`)
  const rows = new Map<string, string[]>()
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim())
    const key = /^`([^`]+)`$/.exec(cells[0] ?? '')?.[1]
    if (key !== undefined) rows.set(key, cells.slice(1))
  }
  return rows
}

const unquote = (cell: string | undefined): string => (cell ?? '').replace(/`/g, '')

test('docs/errors.md lists the same Vonage tables, both ways', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')
  const send = docTable(doc, '| Vonage `status` |')
  assert.deepEqual([...send.keys()].sort(), Object.keys(VONAGE_SEND_STATUSES).sort())
  for (const [status, { meaning, result }] of Object.entries(VONAGE_SEND_STATUSES)) {
    const [docMeaning, docCode, docOutcome] = send.get(status) ?? []
    assert.equal(docMeaning, meaning, `status ${status}`)
    assert.equal(unquote(docCode), result.code, `status ${status}`)
    const outcome =
      result.outcome === 'rejected'
        ? 'failed'
        : result.fault === 'instance'
          ? 'retry, instance fault'
          : result.after !== undefined
            ? `retry after ${result.after / 1000} s`
            : 'retry'
    assert.equal(docOutcome, outcome, `status ${status}`)
  }
  const words = docTable(doc, '| Receipt `status` |')
  assert.deepEqual([...words.keys()].sort(), Object.keys(VONAGE_RECEIPT_STATUSES).sort())
  for (const [word, status] of Object.entries(VONAGE_RECEIPT_STATUSES)) {
    assert.equal(unquote(words.get(word)?.[0]).split(' ')[0], status, word)
  }
  const errs = docTable(doc, '| Receipt `err-code` |')
  assert.deepEqual([...errs.keys()].sort(), Object.keys(VONAGE_RECEIPT_ERRORS).sort())
  for (const [errCode, { meaning, code }] of Object.entries(VONAGE_RECEIPT_ERRORS)) {
    assert.deepEqual([errs.get(errCode)?.[0], unquote(errs.get(errCode)?.[1])], [meaning, code])
  }
})

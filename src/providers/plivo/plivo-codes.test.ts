/**
 * Plivo's status words and error codes: every documented one mapped, unknown ones never final,
 * and docs/errors.md's Plivo table saying exactly what the code does.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { PROVIDER_ERROR_CODES } from '../provider.js'
import { errorCodeFor, mapStatus, PLIVO_ERROR_CODES, PLIVO_STATUSES } from './plivo-codes.js'

test('every documented Status maps, and only the final words are final', () => {
  const table = Object.fromEntries(PLIVO_STATUSES.map((w) => [w, mapStatus(w)]))
  assert.deepEqual(table, {
    queued: 'sent',
    sent: 'sent',
    delivered: 'delivered',
    undelivered: 'undelivered',
    failed: 'failed',
    rejected: 'failed',
    read: 'delivered',
  })
})

test('a Status word Plivo does not document is never final', () => {
  for (const w of ['received', 'expired', 'accepted', '', 'DELIVERED ', 'delivered\u0000']) {
    assert.equal(mapStatus(w), 'sent', JSON.stringify(w))
  }
})

test('every Plivo ErrorCode maps to a registered message error code', () => {
  for (const [code, entry] of Object.entries(PLIVO_ERROR_CODES)) {
    assert.ok(PROVIDER_ERROR_CODES.includes(entry.code), `${code} -> ${entry.code}`)
    assert.equal(errorCodeFor('undelivered', code), entry.code)
    assert.equal(errorCodeFor('failed', code), entry.code)
  }
  assert.equal(errorCodeFor('undelivered', '200'), 'recipient_opted_out')
  assert.equal(errorCodeFor('failed', '420'), 'validity_expired')
})

test('an ErrorCode Plivo does not document, or none, is a plain failure of its kind', () => {
  for (const code of [undefined, '', '000', '999', 'constructor', '__proto__', '50 ']) {
    assert.equal(errorCodeFor('undelivered', code), 'undeliverable', String(code))
    assert.equal(errorCodeFor('failed', code), 'carrier_error', String(code))
  }
})

test('docs/errors.md lists every Plivo ErrorCode with the code it maps to, and no other', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')
  const start = doc.indexOf('### Plivo')
  const next = doc.indexOf('\n#', start + 1)
  const section = doc.slice(start, next === -1 ? undefined : next)
  const rows = [...section.matchAll(/^\| (\d+) \| [^|]+ \| `([a-z_]+)` \|$/gm)].map((m) => [
    m[1],
    m[2],
  ])
  const expected = Object.entries(PLIVO_ERROR_CODES).map(([code, e]) => [code, e.code])
  assert.deepEqual(
    rows.sort((a, b) => Number(a[0]) - Number(b[0])),
    expected.sort((a, b) => Number(a[0]) - Number(b[0])),
  )
})

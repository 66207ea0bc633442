import assert from 'node:assert/strict'
import { test } from 'node:test'
import { analyzeBody } from '../messages/encoding.js'
import { previewText } from './preview.js'

const prices = [
  { provider: 'twilio', country: 'US', price: 0.0079, currency: 'USD' },
  { provider: 'vonage', country: '*', price: 0.01, currency: 'EUR' },
  { provider: 'twilio', country: 'BR', price: 0.05, currency: 'USD' },
]

test('GSM-7: segments, characters left in the last segment, cost per country', () => {
  const p = previewText('a'.repeat(150), { smartEncoding: false, prices })
  assert.equal(p.encoding, 'GSM-7')
  assert.equal(p.segments, 1)
  assert.equal(p.charactersLeft, 10)
  assert.deepEqual(p.cost, [
    { country: '*', provider: 'vonage', amount: 0.01, currency: 'EUR' },
    { country: 'BR', provider: 'twilio', amount: 0.05, currency: 'USD' },
    { country: 'US', provider: 'twilio', amount: 0.0079, currency: 'USD' },
  ])
  const two = previewText('a'.repeat(161), { smartEncoding: false, prices })
  assert.deepEqual([two.segments, two.charactersLeft], [2, 306 - 161])
  assert.deepEqual(
    two.cost.map((c) => c.amount),
    [0.02, 0.1, 0.0158],
  )
  // An extension character (2 septets) is never split: the last segment's room counts it so.
  const body = 'a'.repeat(152) + '€' + 'a'.repeat(10)
  const ext = previewText(body, { smartEncoding: false, prices })
  assert.equal(ext.segments, 2)
  assert.equal(ext.charactersLeft, 306 - 152 - 1 - 2 - 10, 'the € moved whole: one septet unused')
  assert.equal(analyzeBody(body + 'a'.repeat(ext.charactersLeft)).segments, 2)
  assert.equal(analyzeBody(body + 'a'.repeat(ext.charactersLeft + 1)).segments, 3)
})

test('UCS-2: the characters that force it, with smart encoding’s replacement or null', () => {
  const p = previewText('Olá “Ana” 😀 ok “x”', { smartEncoding: false, prices: [] })
  assert.equal(p.encoding, 'UCS-2')
  assert.deepEqual(p.nonGsmCharacters, [
    { char: 'á', replacement: null },
    { char: '“', replacement: '"' },
    { char: '”', replacement: '"' },
    { char: '😀', replacement: null },
  ])
  // 18 code units (the emoji is 2) of 70
  assert.equal(p.charactersLeft, 70 - 'Olá “Ana” 😀 ok “x”'.length)
  assert.deepEqual(p.cost, [])
})

test('smart encoding turns a look-alike-only text into GSM-7, as the send path would', () => {
  const text = '“Hi” – see you'
  const off = previewText(text, { smartEncoding: false, prices: [] })
  const on = previewText(text, { smartEncoding: true, prices: [] })
  assert.equal(off.encoding, 'UCS-2')
  assert.equal(on.encoding, 'GSM-7')
  assert.equal(on.segments, analyzeBody(text, { smartEncoding: true }).segments)
  assert.deepEqual(on.nonGsmCharacters, [
    { char: '“', replacement: '"' },
    { char: '”', replacement: '"' },
    { char: '–', replacement: '-' },
  ])
  assert.equal(on.charactersLeft, 160 - '"Hi" - see you'.length)
})

test('a UCS-2 body of several segments: 67 units each', () => {
  const p = previewText('á'.repeat(100), { smartEncoding: false, prices: [] })
  assert.deepEqual([p.encoding, p.segments, p.charactersLeft], ['UCS-2', 2, 134 - 100])
  const empty = previewText('', { smartEncoding: false, prices: [] })
  assert.deepEqual([empty.segments, empty.charactersLeft], [1, 160])
})

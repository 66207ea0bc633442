import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { analyzeBody, isGsm7, type BodyAnalysis } from './encoding.js'
import { smartEncode } from './smart-encoding.js'

const a = (n: number): string => 'a'.repeat(n)
const aAcute = (n: number): string => '\u00e1'.repeat(n) // á, not GSM-7
const FAMILY = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}' // 11 code units, 1 grapheme
const US_FLAG = '\u{1F1FA}\u{1F1F8}' // 4 code units, 1 grapheme
const GRINNING = '\u{1F600}' // 2 code units

/** Checks the four numbers of an analysis. */
function expectCounts(
  result: BodyAnalysis,
  encoding: BodyAnalysis['encoding'],
  segments: number,
  units: number,
  characters: number,
): void {
  assert.deepEqual(
    {
      encoding: result.encoding,
      segments: result.segments,
      units: result.units,
      characters: result.characters,
    },
    { encoding, segments, units, characters },
  )
}

describe('analyzeBody: GSM-7', () => {
  test('160 septets fit one segment, 161 need two', () => {
    expectCounts(analyzeBody(a(160)), 'GSM-7', 1, 160, 160)
    expectCounts(analyzeBody(a(161)), 'GSM-7', 2, 161, 161)
  })

  test('multipart segments hold 153 septets', () => {
    expectCounts(analyzeBody(a(306)), 'GSM-7', 2, 306, 306)
    expectCounts(analyzeBody(a(307)), 'GSM-7', 3, 307, 307)
    expectCounts(analyzeBody(a(459)), 'GSM-7', 3, 459, 459)
    expectCounts(analyzeBody(a(460)), 'GSM-7', 4, 460, 460)
  })

  test('extension characters cost two septets', () => {
    expectCounts(analyzeBody('\u20ac'.repeat(80)), 'GSM-7', 1, 160, 80 * 2)
    expectCounts(analyzeBody('\u20ac'.repeat(81)), 'GSM-7', 2, 162, 162)
    expectCounts(analyzeBody('\f^{}\\[~]|\u20ac'), 'GSM-7', 1, 20, 20)
  })

  test('an extension character is never split across segments', () => {
    // septets 153-154 would straddle the first boundary: '€' moves to segment 2, which overflows.
    expectCounts(analyzeBody(a(152) + '\u20ac' + a(152)), 'GSM-7', 3, 306, 306)
    // same length, but the '€' starts segment 2
    expectCounts(analyzeBody(a(153) + '\u20ac' + a(151)), 'GSM-7', 2, 306, 306)
  })

  test("'\u00c7' (capital C cedilla) is GSM-7, '\u00e7' is not", () => {
    expectCounts(analyzeBody('\u00c7a va'), 'GSM-7', 1, 5, 5)
    expectCounts(analyzeBody('\u00e7a va'), 'UCS-2', 1, 5, 5)
    assert.equal(isGsm7('\u00c7'), true)
    assert.equal(isGsm7('\u00e7'), false)
  })

  test('Greek capitals with their own glyph are GSM-7, others are not', () => {
    expectCounts(
      analyzeBody('\u0394\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e'),
      'GSM-7',
      1,
      10,
      10,
    )
    expectCounts(analyzeBody('\u0391'), 'UCS-2', 1, 1, 1) // GREEK CAPITAL ALPHA
    expectCounts(analyzeBody('\u03b1'), 'UCS-2', 1, 1, 1) // greek small alpha
  })

  test('CR and LF count one septet each', () => {
    expectCounts(analyzeBody('a\r\nb'), 'GSM-7', 1, 4, 4)
    expectCounts(analyzeBody('\r\n'.repeat(80)), 'GSM-7', 1, 160, 160)
    expectCounts(analyzeBody('\r\n'.repeat(81)), 'GSM-7', 2, 162, 162)
  })

  test('isGsm7', () => {
    assert.equal(isGsm7(''), true)
    assert.equal(isGsm7('Hello @ \u00a3 \u20ac {x}'), true)
    assert.equal(isGsm7('tab\there'), false)
    assert.equal(isGsm7('`'), false)
    assert.equal(isGsm7(GRINNING), false)
  })
})

describe('analyzeBody: UCS-2', () => {
  test('70 code units fit one segment, then 67 per segment', () => {
    expectCounts(analyzeBody(aAcute(70)), 'UCS-2', 1, 70, 70)
    expectCounts(analyzeBody(aAcute(71)), 'UCS-2', 2, 71, 71)
    expectCounts(analyzeBody(aAcute(134)), 'UCS-2', 2, 134, 134)
    expectCounts(analyzeBody(aAcute(135)), 'UCS-2', 3, 135, 135)
  })

  test('GSM extension characters count one unit in UCS-2', () => {
    expectCounts(analyzeBody('\u00e1' + '\u20ac'.repeat(69)), 'UCS-2', 1, 70, 70)
  })

  test('an emoji is never split across segments', () => {
    expectCounts(analyzeBody(aAcute(65) + GRINNING + a(67)), 'UCS-2', 2, 134, 133)
    expectCounts(analyzeBody(aAcute(66) + GRINNING + a(66)), 'UCS-2', 3, 134, 133)
    expectCounts(analyzeBody(aAcute(68) + GRINNING), 'UCS-2', 1, 70, 69)
    expectCounts(analyzeBody(aAcute(69) + GRINNING), 'UCS-2', 2, 71, 70)
  })

  test('a ZWJ family is one grapheme and moves whole to the next segment', () => {
    expectCounts(analyzeBody(FAMILY), 'UCS-2', 1, 11, 1)
    expectCounts(analyzeBody(aAcute(56) + FAMILY + a(67)), 'UCS-2', 2, 134, 124)
    expectCounts(analyzeBody(aAcute(60) + FAMILY + a(63)), 'UCS-2', 3, 134, 124)
  })

  test('a flag (regional indicator pair) is one grapheme and never split', () => {
    expectCounts(analyzeBody(US_FLAG), 'UCS-2', 1, 4, 1)
    expectCounts(analyzeBody(aAcute(63) + US_FLAG + a(67)), 'UCS-2', 2, 134, 131)
    expectCounts(analyzeBody(aAcute(65) + US_FLAG + a(65)), 'UCS-2', 3, 134, 131)
  })

  test('combining sequences are never split', () => {
    expectCounts(analyzeBody('e\u0301'), 'UCS-2', 1, 2, 1)
    expectCounts(analyzeBody(aAcute(65) + 'e\u0301' + a(67)), 'UCS-2', 2, 134, 133)
    expectCounts(analyzeBody(aAcute(66) + 'e\u0301' + a(66)), 'UCS-2', 3, 134, 133)
  })

  test('skin tones, variation selectors and keycaps (Unicode 10 rules, as the oracle)', () => {
    expectCounts(analyzeBody('\u{1F44D}\u{1F3FD}'), 'UCS-2', 1, 4, 1)
    expectCounts(analyzeBody('a\u{1F3FB}'), 'UCS-2', 1, 3, 2) // Intl.Segmenter says 1
    expectCounts(analyzeBody('\u2764\uFE0F'), 'UCS-2', 1, 2, 1)
    expectCounts(analyzeBody('1\uFE0F\u20E3'), 'UCS-2', 1, 3, 1)
  })

  test('a grapheme longer than a segment gets a segment of its own', () => {
    expectCounts(analyzeBody('a' + '\u0301'.repeat(80)), 'UCS-2', 2, 81, 1)
    expectCounts(analyzeBody('a' + '\u0301'.repeat(80) + 'c'), 'UCS-2', 3, 82, 2)
  })

  test('CR LF counts as two characters and may be split', () => {
    expectCounts(analyzeBody('\u00e1\r\nb'), 'UCS-2', 1, 4, 4)
    expectCounts(analyzeBody(aAcute(66) + '\r\n' + a(66)), 'UCS-2', 2, 134, 134)
  })

  test('lone surrogates count as one character each', () => {
    expectCounts(analyzeBody('\uD83D'), 'UCS-2', 1, 1, 1)
    expectCounts(analyzeBody('x\uDE00\uD83Dy'), 'UCS-2', 1, 4, 4)
  })

  test('CJK', () => {
    expectCounts(analyzeBody('\u4e2d\u6587'.repeat(35)), 'UCS-2', 1, 70, 70)
    expectCounts(analyzeBody('\u4e2d\u6587'.repeat(36)), 'UCS-2', 2, 72, 72)
  })
})

describe('analyzeBody: smart encoding', () => {
  test('curly quotes become straight quotes', () => {
    const body = '\u201cHello\u201d \u2018world\u2019'
    const result = analyzeBody(body, { smartEncoding: true })
    assert.equal(result.text, '"Hello" \'world\'')
    expectCounts(result, 'GSM-7', 1, 15, 15)
    expectCounts(analyzeBody(body), 'UCS-2', 1, 15, 15)
    assert.equal(analyzeBody(body).text, body)
  })

  test("'\u2026' becomes '...', dashes become '-'", () => {
    const result = analyzeBody('Wait\u2026 now \u2013 or \u2014 never', { smartEncoding: true })
    assert.equal(result.text, 'Wait... now - or - never')
    expectCounts(result, 'GSM-7', 1, 24, 24)
  })

  test('NBSP becomes two spaces and a tab seven, as the reference calculator does', () => {
    assert.equal(analyzeBody('a\u00a0b', { smartEncoding: true }).text, 'a  b')
    const tab = analyzeBody('a\tb', { smartEncoding: true })
    assert.equal(tab.text, 'a       b')
    expectCounts(tab, 'GSM-7', 1, 9, 9)
    expectCounts(analyzeBody('a\tb'), 'UCS-2', 1, 3, 3)
  })

  test('zero-width characters are removed, full-width ASCII is narrowed', () => {
    assert.equal(smartEncode('a\u200bb\ufeffc'), 'abc')
    assert.equal(smartEncode('\uff21\uff22\uff23\uff01'), 'ABC!')
  })

  test('an emoji keeps the message UCS-2', () => {
    const result = analyzeBody('\u201cHi\u201d ' + GRINNING, { smartEncoding: true })
    assert.equal(result.text, '"Hi" ' + GRINNING)
    expectCounts(result, 'UCS-2', 1, 7, 6)
  })

  test('text without replacements is returned as is', () => {
    const body = 'plain text'
    assert.equal(smartEncode(body), body)
    assert.equal(analyzeBody(body, { smartEncoding: true }).text, body)
  })
})

test('empty body: one GSM-7 segment', () => {
  assert.deepEqual(analyzeBody(''), {
    encoding: 'GSM-7',
    segments: 1,
    units: 0,
    characters: 0,
    text: '',
  })
  assert.equal(analyzeBody('', { smartEncoding: true }).segments, 1)
})

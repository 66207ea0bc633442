/**
 * Differential test: `analyzeBody` against Twilio's segment calculator (npm
 * `sms-segments-calculator`, the oracle) on a generated corpus, with and without smart encoding.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'

import smsSegments from 'sms-segments-calculator'

import { analyzeBody } from '../src/domain/messages/encoding.js'
import { SMART_ENCODING_TABLE, smartEncode } from '../src/domain/messages/smart-encoding.js'
import { generateSegmentCorpus } from './support/segment-corpus.js'

const { SegmentedMessage } = smsSegments

const CORPUS_SIZE = 10_000
const SEED = 0x5eed_2024
const SHOWN_MISMATCHES = 10

interface Observation {
  encoding: string
  segments: number
  characters: number
  units: number
  text: string
}

function fromOracle(body: string, smartEncoding: boolean): Observation {
  const message = new SegmentedMessage(body, 'auto', smartEncoding)
  const bitsPerUnit = message.encodingName === 'GSM-7' ? 7 : 16
  return {
    encoding: message.encodingName,
    segments: message.segmentsCount,
    characters: message.numberOfCharacters,
    units: message.messageSize / bitsPerUnit,
    text: smartEncoding ? message.graphemes.join('') : body,
  }
}

function fromOurs(body: string, smartEncoding: boolean): Observation {
  const { encoding, segments, characters, units, text } = analyzeBody(body, { smartEncoding })
  return { encoding, segments, characters, units, text }
}

function differences(expected: Observation, actual: Observation): string[] {
  return (Object.keys(expected) as Array<keyof Observation>)
    .filter((key) => expected[key] !== actual[key])
    .map(
      (key) =>
        `${key}: oracle ${JSON.stringify(expected[key])}, ours ${JSON.stringify(actual[key])}`,
    )
}

function report(mismatches: string[], total: number): string {
  return (
    `${mismatches.length} of ${total} checks disagree with the oracle; first ones:\n` +
    mismatches.slice(0, SHOWN_MISMATCHES).join('\n')
  )
}

const corpus = generateSegmentCorpus(CORPUS_SIZE, SEED)

test('the corpus is deterministic and covers the interesting cases', () => {
  assert.equal(corpus.length, CORPUS_SIZE)
  assert.deepEqual(generateSegmentCorpus(200, SEED), corpus.slice(0, 200))
  const results = corpus.map((body) => analyzeBody(body))
  const count = (predicate: (r: (typeof results)[number]) => boolean): number =>
    results.filter(predicate).length
  assert.ok(count((r) => r.encoding === 'GSM-7' && r.segments >= 3) > 200, 'long GSM-7 bodies')
  assert.ok(count((r) => r.encoding === 'UCS-2' && r.segments >= 3) > 200, 'long UCS-2 bodies')
  assert.ok(count((r) => r.encoding === 'UCS-2' && r.characters < r.units) > 1000, 'clusters')
  assert.ok(count((r) => r.segments === 1) > 500, 'single-segment bodies')
})

for (const smartEncoding of [false, true]) {
  test(`agrees with the oracle on ${CORPUS_SIZE} bodies (smart encoding ${smartEncoding ? 'on' : 'off'})`, () => {
    const mismatches: string[] = []
    for (const [index, body] of corpus.entries()) {
      const found = differences(fromOracle(body, smartEncoding), fromOurs(body, smartEncoding))
      if (found.length > 0) {
        mismatches.push(`#${index} ${JSON.stringify(body)}\n    ${found.join('\n    ')}`)
      }
    }
    assert.equal(mismatches.length, 0, report(mismatches, corpus.length))
  })
}

test('the smart encoding table agrees with the oracle for every BMP character', () => {
  const mismatches: string[] = []
  for (let code = 0; code <= 0xffff; code++) {
    const char = String.fromCharCode(code)
    const expected = new SegmentedMessage(char, 'auto', true).graphemes.join('')
    const actual = smartEncode(char)
    if (expected !== actual) {
      const hex = code.toString(16).padStart(4, '0')
      mismatches.push(
        `U+${hex}: oracle ${JSON.stringify(expected)}, ours ${JSON.stringify(actual)}`,
      )
    }
  }
  assert.equal(mismatches.length, 0, report(mismatches, 0x10000))
  // Every entry is a real replacement (the sweep above also proves none is missing).
  for (const [char, replacement] of SMART_ENCODING_TABLE) assert.notEqual(char, replacement)
  assert.equal(SMART_ENCODING_TABLE.size, 271)
})

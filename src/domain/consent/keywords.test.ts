import assert from 'node:assert/strict'
import { test } from 'node:test'
import { keywordOf, normalizeKeyword, readsLikeOptOut, STANDARD_KEYWORDS } from './keywords.js'

test('every standard keyword matches with case, whitespace and punctuation variants', () => {
  for (const [kind, words] of Object.entries(STANDARD_KEYWORDS)) {
    for (const w of words) {
      for (const body of [
        w,
        w.toLowerCase(),
        ` ${w} `,
        `${w}.`,
        `${w}!!`,
        `\n${w[0]}${w.slice(1).toLowerCase()}?\t`,
        `"${w}"`,
        `¡${w}!`,
      ]) {
        assert.equal(keywordOf(body), kind, JSON.stringify(body))
      }
    }
  }
})

test('a keyword inside a sentence is not a keyword', () => {
  assert.equal(keywordOf('stop it'), null)
  assert.equal(keywordOf('please STOP'), null)
  assert.equal(keywordOf('STOP STOP'), null)
  assert.equal(keywordOf('S T O P'), null)
  assert.equal(keywordOf(''), null)
  assert.equal(keywordOf('...'), null)
})

test('configured keywords add to the standard ones, which always win', () => {
  const extra = new Map([
    ['ARRET', 'opt_out'],
    ['STOP', 'help'],
  ] as const)
  assert.equal(keywordOf('arrêt'.normalize('NFD'), extra), null)
  assert.equal(keywordOf('Arret', extra), 'opt_out')
  assert.equal(keywordOf('stop', extra), 'opt_out')
})

test('normalization keeps inner characters and upper-cases', () => {
  assert.equal(normalizeKeyword('  opt-out! '), 'OPT-OUT')
  assert.equal(normalizeKeyword('ＳＴＯＰ'), 'STOP') // full-width letters (NFKC)
})

test('free text that reads like an opt-out is recognised; keywords and other text are not', () => {
  for (const body of [
    'please stop texting me',
    'Stop sending me messages',
    "don't text me again",
    'Unsubscribe me',
    'how do I opt out?',
    'remove me from your list',
    'wrong number',
    'No more texts please',
  ]) {
    assert.equal(readsLikeOptOut(body), true, body)
  }
  for (const body of [
    'STOP',
    'unsubscribe',
    'Thanks, see you at 5',
    'when does the bus stop?',
    'HELP',
  ]) {
    assert.equal(readsLikeOptOut(body), false, body)
  }
})

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConfigError, loadConfig } from '../../config.js'
import { consentChangedEvent } from './consent-event.js'
import {
  DEFAULT_REPLIES,
  defaultKeywordSettings,
  keywordProgramFor,
  readKeywords,
  type KeywordSettings,
} from './keyword-config.js'

const read = (
  raw: unknown,
  maxSegments = 10,
): { settings: KeywordSettings; problems: string[] } => {
  const problems: string[] = []
  const settings = readKeywords(raw, maxSegments, problems)
  return { settings, problems }
}

test('without KEYWORDS: the default program, its replies name it and say how to opt out', () => {
  const s = defaultKeywordSettings()
  assert.deepEqual(read(undefined).settings, s)
  assert.equal(s.default.programName, 'Switchboard')
  assert.equal(s.default.support, null)
  assert.deepEqual(s.default.extra, {})
  assert.equal(
    s.default.replies.help,
    'Switchboard: Msg & data rates may apply. Reply STOP to opt out.',
  )
  assert.match(
    s.default.replies.opt_in,
    /^Switchboard: .*Reply HELP for help\. Reply STOP to opt out\.$/,
  )
  assert.match(s.default.replies.opt_out, /^Switchboard: You are unsubscribed.*Reply START/)
  assert.match(s.default.replies.opt_out_all, /^Switchboard: You are unsubscribed from all/)
})

test('a program: name and support in the default replies, extra keywords normalized', () => {
  const { settings, problems } = read({
    default: {
      programName: ' Acme Alerts ',
      support: 'support@acme.example',
      extra: { ' arrêt ': 'opt_out', 'opt-in': 'opt_in' },
    },
  })
  assert.deepEqual(problems, [])
  assert.equal(settings.default.programName, 'Acme Alerts')
  assert.equal(
    settings.default.replies.help,
    'Acme Alerts: For help, contact support@acme.example. Msg & data rates may apply. Reply STOP to opt out.',
  )
  assert.deepEqual(settings.default.extra, { ARRÊT: 'opt_out', 'OPT-IN': 'opt_in' })
})

test('per sender: its own settings over the default ones, placeholders filled with its own', () => {
  const { settings, problems } = read({
    default: {
      programName: 'Acme',
      support: 'help@acme.example',
      replies: { help: '{program} help: {support}. Reply STOP to opt out.' },
      extra: { ARRET: 'opt_out', AIDE: 'help' },
    },
    senders: {
      ' +1 500 555 0006 ': {
        programName: 'Acme Codes',
        extra: { AIDE: 'opt_in', HALT: 'opt_out' },
      },
      '72345': { support: '+18005550100', replies: { opt_out: 'Bye from {program}.' } },
    },
  })
  assert.deepEqual(problems, [])
  const codes = keywordProgramFor(settings, '+15005550006')
  assert.equal(codes.replies.help, 'Acme Codes help: help@acme.example. Reply STOP to opt out.')
  assert.deepEqual(codes.extra, { ARRET: 'opt_out', AIDE: 'opt_in', HALT: 'opt_out' })
  const short = keywordProgramFor(settings, '72345')
  assert.equal(short.replies.help, 'Acme help: +18005550100. Reply STOP to opt out.')
  assert.equal(short.replies.opt_out, 'Bye from Acme.')
  assert.equal(keywordProgramFor(settings, '+15005550099'), settings.default)
  assert.equal(keywordProgramFor(settings, ' +15005550006'), codes, 'the number is normalized')
})

test('every problem is reported at once, each with its path', () => {
  const { problems } = read(
    {
      default: {
        programName: '',
        support: 42,
        replies: {
          help: 'Call us.',
          opt_in: '{program}: welcome, {name}. Reply STOP to opt out.',
          goodbye: 'x',
          opt_out: '',
        },
        extra: {
          STOP: 'help',
          '!!!': 'opt_out',
          QUITTER: 'leave',
          Arret: 'opt_out',
          ARRET: 'opt_in',
        },
        colour: 'blue',
      },
      senders: {
        'not a number!': {},
        '+15005550006': {
          replies: { opt_out_all: '{support} has your back' },
          programName: 'Acme',
        },
        '+1 500 555 0006': {},
        '72345': 'Acme',
      },
      other: true,
    },
    10,
  )
  assert.deepEqual(problems, [
    'KEYWORDS: unknown setting "other" (default, senders)',
    'KEYWORDS.default: unknown setting "colour"',
    'KEYWORDS.default.programName must be a non-empty string of at most 100 characters',
    'KEYWORDS.default.support must be a non-empty string of at most 100 characters',
    'KEYWORDS.default.replies.opt_in: unknown placeholder {name} ({program}, {support})',
    'KEYWORDS.default.replies: unknown reply "goodbye" (one of opt_out, opt_out_all, opt_in, help)',
    'KEYWORDS.default.replies.opt_out must be a non-empty string',
    'KEYWORDS.default.extra "STOP": STOP is a standard keyword and cannot be redefined',
    'KEYWORDS.default.extra "!!!": a keyword has 1 to 40 characters besides punctuation',
    'KEYWORDS.default.extra "QUITTER" must be one of opt_out, opt_out_all, opt_in, help',
    'KEYWORDS.default.extra "ARRET": ARRET is given twice',
    'KEYWORDS.default.replies.help must tell how to opt out (e.g. "Reply STOP to opt out")',
    // (JavaScript keeps integer-like keys first.)
    'KEYWORDS.senders["72345"] must be an object with programName, support, replies and extra',
    'KEYWORDS.senders["not a number!"]: not an E.164 number, short code or sender id',
    'KEYWORDS.senders["+15005550006"].replies.opt_out_all uses {support} but no support contact is configured',
    'KEYWORDS.senders["+1 500 555 0006"]: +15005550006 is given twice',
  ])
})

test('a reply longer than MAX_SEGMENTS allows is refused, for the sender whose name makes it so', () => {
  const { problems } = read(
    {
      default: { replies: { opt_out: `{program}: ${'x'.repeat(140)}` } },
      senders: { '+15005550006': { programName: 'A much longer program name' } },
    },
    1,
  )
  assert.deepEqual(problems, [
    'KEYWORDS.senders["+15005550006"].replies.opt_out takes 2 segments (MAX_SEGMENTS is 1)',
  ])
  // The default replies are checked too (HELP without support stays within one segment).
  assert.deepEqual(read({ default: { programName: 'P'.repeat(100) } }, 1).problems, [
    'KEYWORDS.default.replies.opt_out takes 2 segments (MAX_SEGMENTS is 1)',
    'KEYWORDS.default.replies.opt_out_all takes 2 segments (MAX_SEGMENTS is 1)',
    'KEYWORDS.default.replies.opt_in takes 2 segments (MAX_SEGMENTS is 1)',
  ])
})

test('KEYWORDS in the environment, or `keywords` in the config file; bad settings stop the boot', () => {
  const keywords = { default: { programName: 'Acme Alerts', extra: { ARRET: 'opt_out' } } }
  const fromEnv = loadConfig({ KEYWORDS: JSON.stringify(keywords) })
  assert.equal(fromEnv.keywords.default.programName, 'Acme Alerts')
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-keywords-'))
  const file = join(dir, 'config.json')
  writeFileSync(file, JSON.stringify({ keywords }))
  const fromFile = loadConfig({ SWITCHBOARD_CONFIG: file })
  assert.deepEqual(fromFile.keywords, fromEnv.keywords)
  assert.deepEqual(loadConfig({}).keywords, defaultKeywordSettings())
  assert.throws(
    () => loadConfig({ KEYWORDS: '{"default": {"extra": {"STOP": "help"}}}', PORT: 'x' }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.length === 2 &&
      err.problems.some((p) => p.startsWith('KEYWORDS.default.extra "STOP"')),
  )
  assert.throws(() => loadConfig({ KEYWORDS: '[1]' }), /KEYWORDS must be a JSON object/)
  assert.throws(() => loadConfig({ KEYWORDS: '{' }), /KEYWORDS must be valid JSON/)
})

test('consent.changed: one shape for every source', () => {
  assert.deepEqual(
    consentChangedEvent({
      phone: '+14155550100',
      action: 'opt_out',
      scope: 'all',
      source: 'keyword',
      at: Date.UTC(2027, 0, 2, 3, 4, 5),
    }),
    {
      type: 'consent.changed',
      data: {
        phone: '+14155550100',
        scope: 'all',
        status: 'opted_out',
        source: 'keyword',
        at: '2027-01-02T03:04:05.000Z',
      },
      at: Date.UTC(2027, 0, 2, 3, 4, 5),
    },
  )
  assert.equal(
    consentChangedEvent({ phone: '+1', action: 'opt_in', scope: 'x', source: 'api', at: 0 }).data
      .status,
    'opted_in',
  )
})

test('docs/compliance.md shows the default replies as they are', () => {
  const doc = readFileSync(new URL('../../../docs/compliance.md', import.meta.url), 'utf8')
  for (const reply of Object.values(DEFAULT_REPLIES)) assert.ok(doc.includes(`\`${reply}\``), reply)
})

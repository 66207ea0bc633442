import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { getCountries, parsePhoneNumber } from 'libphonenumber-js/max'

import { ConfigError, loadConfig } from '../../config.js'
import type { MessageRecord } from '../messages/message.js'
import { AREA_CODE_GROUPS, AREA_CODE_ZONES } from './area-codes.js'
import { COUNTRY_ZONES } from './countries.js'
import {
  DEFAULT_QUIET_HOURS,
  holdAtIntake,
  QuietHours,
  readQuietHours,
  zonesOf,
} from './quiet-hours.js'
import { isTimeZone } from './zone-clock.js'

const at = (iso: string) => Date.parse(iso)
const quiet = new QuietHours(DEFAULT_QUIET_HOURS)

// Tables ------------------------------------------------------------------------------------

test('every zone in the tables is one Intl knows', () => {
  const zones = new Set([
    ...Object.values(COUNTRY_ZONES).flat(),
    ...[...AREA_CODE_ZONES.values()].flat(),
  ])
  assert.deepEqual(
    [...zones].filter((z) => !isTimeZone(z)),
    [],
  )
})

test('every country libphonenumber-js knows has its zones', () => {
  assert.deepEqual(
    getCountries().filter((c) => !COUNTRY_ZONES[c]?.length),
    [],
  )
})

/** +1 codes libphonenumber-js accepts that are not places (toll-free, personal, services). */
const NON_GEOGRAPHIC = new Set(
  '500 521 522 523 524 525 526 527 528 529 532 533 544 566 577 588 600 622 633 800 833 844 855 866 877 888 900'.split(
    ' ',
  ),
)
/** Codes libphonenumber-js accepts that this table does not place: they get the country's zones. */
const UNPLACED = new Set(['273', '748'])

test('every geographic +1 area code libphonenumber-js accepts is in the table, under its country', () => {
  const exchanges = ['2345678', '2012345', '3456789', '4561234', '5678901', '6789012', '7891234']
  const missing: string[] = []
  const wrongCountry: string[] = []
  const region = new Map<string, string>()
  for (const [label, , codes] of AREA_CODE_GROUPS) {
    for (const c of codes.split(' ')) region.set(c, label.split('-')[0] ?? '')
  }
  for (let code = 200; code <= 999; code++) {
    const a = String(code)
    let country: string | undefined
    for (const ex of exchanges) {
      const p = parsePhoneNumber(`+1${a}${ex}`)
      if (p.isValid()) {
        country = p.country
        break
      }
    }
    if (country === undefined || NON_GEOGRAPHIC.has(a) || UNPLACED.has(a)) continue
    if (!AREA_CODE_ZONES.has(a)) missing.push(`${a} (${country})`)
    else if (region.get(a) !== country) wrongCountry.push(`${a}: ${region.get(a)} vs ${country}`)
  }
  assert.deepEqual(missing, [])
  assert.deepEqual(wrongCountry, [])
})

test('area codes that span zones list each of them', () => {
  assert.deepEqual(AREA_CODE_ZONES.get('850'), ['America/New_York', 'America/Chicago'])
  assert.deepEqual(AREA_CODE_ZONES.get('907'), ['America/Anchorage', 'America/Adak'])
  assert.ok(AREA_CODE_ZONES.get('867')?.includes('America/Iqaluit'))
  assert.deepEqual(AREA_CODE_ZONES.get('212'), ['America/New_York'])
  assert.deepEqual(AREA_CODE_ZONES.get('415'), ['America/Los_Angeles'])
})

test('multi-zone countries list their zones, single-zone ones one', () => {
  for (const c of ['US', 'CA', 'MX', 'BR', 'RU', 'AU', 'ID']) {
    assert.ok((COUNTRY_ZONES[c]?.length ?? 0) > 1, c)
  }
  assert.ok(COUNTRY_ZONES.RU?.includes('Europe/Kaliningrad'))
  assert.ok(COUNTRY_ZONES.RU?.includes('Asia/Kamchatka'))
  assert.ok(COUNTRY_ZONES.AU?.includes('Australia/Perth'))
  assert.deepEqual(COUNTRY_ZONES.FR, ['Europe/Paris'])
  assert.deepEqual(COUNTRY_ZONES.GB, ['Europe/London'])
})

test('a number gets its zones from its area code, else its country, else UTC', () => {
  assert.deepEqual(zonesOf('+12125550100').zones, ['America/New_York'])
  assert.deepEqual(zonesOf('+18505550100').zones, ['America/New_York', 'America/Chicago'])
  assert.deepEqual(zonesOf('+14165550100'), { zones: ['America/Toronto'], country: 'CA' })
  assert.deepEqual(zonesOf('+18765550100').zones, ['America/Jamaica'])
  // Toll-free: no place, so every zone of the country.
  assert.deepEqual(zonesOf('+18005550100').zones, COUNTRY_ZONES.US)
  assert.deepEqual(zonesOf('+33612345678'), { zones: ['Europe/Paris'], country: 'FR' })
  assert.deepEqual(zonesOf('+79123456789').zones, COUNTRY_ZONES.RU)
  // A global service number (+800) has no country.
  assert.deepEqual(zonesOf('+80012345678').zones, ['UTC'])
})

// The policy ---------------------------------------------------------------------------------

test('a number in one zone is held until its window opens', () => {
  // 02:00Z on 2026-03-08 is 21:00 EST the evening before the change: held until 08:00 EDT.
  assert.equal(
    quiet.nextSendTime('+12125550100', at('2026-03-08T02:00:00Z')),
    at('2026-03-08T12:00:00Z'),
  )
  assert.equal(quiet.hold('+12125550100', at('2026-03-08T01:59:00Z')), null)
  // Los Angeles 23:30 PST: 08:00 PDT.
  assert.equal(
    quiet.nextSendTime('+14155550100', at('2026-03-08T07:30:00Z')),
    at('2026-03-08T15:00:00Z'),
  )
  // Paris, the evening before the EU change: 08:00 CEST.
  assert.equal(
    quiet.nextSendTime('+33612345678', at('2026-03-28T20:00:00Z')),
    at('2026-03-29T06:00:00Z'),
  )
  assert.equal(
    quiet.nextSendTime('+33612345678', at('2026-10-24T19:30:00Z')),
    at('2026-10-25T07:00:00Z'),
  )
})

test('an area code across two zones opens with the later and closes with the earlier', () => {
  // 850 in summer: 08:00 Central is 13:00Z; 21:00 Eastern is 01:00Z.
  assert.equal(
    quiet.nextSendTime('+18505550100', at('2026-07-01T12:30:00Z')),
    at('2026-07-01T13:00:00Z'),
  )
  assert.equal(quiet.hold('+18505550100', at('2026-07-02T00:59:00Z')), null)
  assert.equal(
    quiet.nextSendTime('+18505550100', at('2026-07-02T01:00:00Z')),
    at('2026-07-02T13:00:00Z'),
  )
})

test('a country across eleven zones opens only while every one of them is in its window', () => {
  // Russia in July: 08:00 in Kaliningrad (UTC+2) is 06:00Z; 21:00 in Kamchatka (UTC+12) 09:00Z.
  const moscow = '+74951234567'
  assert.equal(quiet.nextSendTime(moscow, at('2026-07-01T05:00:00Z')), at('2026-07-01T06:00:00Z'))
  assert.equal(quiet.hold(moscow, at('2026-07-01T08:59:00Z')), null)
  assert.equal(quiet.nextSendTime(moscow, at('2026-07-01T09:00:00Z')), at('2026-07-02T06:00:00Z'))
  // Australia in January: 08:00 in Perth (UTC+8) is 00:00Z, 21:00 in Sydney (UTC+11) 10:00Z.
  const sydney = '+61412345678'
  assert.equal(quiet.nextSendTime(sydney, at('2026-01-14T23:00:00Z')), at('2026-01-15T00:00:00Z'))
  assert.equal(quiet.nextSendTime(sydney, at('2026-01-15T10:00:00Z')), at('2026-01-16T00:00:00Z'))
})

test('a country override replaces the default, days included', () => {
  const fr = new QuietHours({
    default: DEFAULT_QUIET_HOURS.default,
    countries: { FR: { start: 9 * 60, end: 20 * 60, days: [1, 2, 3, 4, 5, 6] } },
  })
  // Saturday 2026-07-04 20:00 CEST: closed until Monday 09:00 (no Sundays).
  assert.equal(
    fr.nextSendTime('+33612345678', at('2026-07-04T18:00:00Z')),
    at('2026-07-06T07:00:00Z'),
  )
  // 08:30 in Paris: the default would be open, France's window is not.
  assert.equal(
    fr.nextSendTime('+33612345678', at('2026-07-06T06:30:00Z')),
    at('2026-07-06T07:00:00Z'),
  )
  // Elsewhere the default.
  assert.equal(fr.hold('+4915112345678', at('2026-07-06T06:30:00Z')), null)
})

test('cached states answer only inside the interval they hold for', () => {
  const q = new QuietHours(DEFAULT_QUIET_HOURS)
  assert.equal(q.hold('+12125550100', at('2026-07-01T13:00:00Z')), null)
  assert.equal(
    q.nextSendTime('+12125550100', at('2026-07-02T01:00:00Z')),
    at('2026-07-02T12:00:00Z'),
  )
  assert.equal(q.hold('+12125550100', at('2026-07-01T14:00:00Z')), null)
  assert.equal(
    q.nextSendTime('+12125550100', at('2026-07-02T11:00:00Z')),
    at('2026-07-02T12:00:00Z'),
  )
  assert.equal(q.hold('+12125550100', at('2026-07-02T12:00:00Z')), null)
})

// Intake -------------------------------------------------------------------------------------

function message(type: 'marketing' | 'transactional', now: number): MessageRecord {
  return {
    type,
    to_number: '+12125550100',
    status: 'queued',
    send_at: null,
    next_attempt_at: now,
    valid_until: now + 36_000_000,
    validity_period: 36_000,
  } as MessageRecord
}

test('intake schedules a marketing message due at night for the opening, validity from then', () => {
  const now = at('2026-11-01T01:00:00Z') // 21:00 EDT, the evening before the change
  const m = message('marketing', now)
  const detail = holdAtIntake(m, quiet)
  assert.equal(m.status, 'scheduled')
  assert.equal(m.send_at, at('2026-11-01T13:00:00Z'))
  assert.equal(m.next_attempt_at, at('2026-11-01T13:00:00Z'))
  assert.equal(m.valid_until, at('2026-11-01T13:00:00Z') + 36_000_000)
  assert.equal(
    detail,
    'quiet hours: held until 2026-11-01T13:00:00.000Z (window 08:00-21:00 in America/New_York)',
  )
})

test('intake never holds a transactional message, nor a marketing one inside its window', () => {
  const night = at('2026-11-01T06:00:00Z')
  const t = message('transactional', night)
  assert.equal(holdAtIntake(t, quiet), null)
  assert.equal(t.status, 'queued')
  const day = message('marketing', at('2026-11-01T15:00:00Z'))
  assert.equal(holdAtIntake(day, quiet), null)
  assert.equal(day.status, 'queued')
})

// Configuration ------------------------------------------------------------------------------

test('QUIET_HOURS defaults to 08:00-21:00 every day', () => {
  assert.deepEqual(loadConfig({}).quietHours, DEFAULT_QUIET_HOURS)
})

test('QUIET_HOURS reads a default and per-country windows; missing fields come from the default', () => {
  const c = loadConfig({
    QUIET_HOURS: JSON.stringify({
      default: { start: '09:00', end: '20:00', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
      countries: { FR: { start: '10:00' }, US: { end: '24:00', days: ['SUN', 'mon'] } },
    }),
  })
  assert.deepEqual(c.quietHours, {
    default: { start: 540, end: 1200, days: [1, 2, 3, 4, 5, 6] },
    countries: {
      FR: { start: 600, end: 1200, days: [1, 2, 3, 4, 5, 6] },
      US: { start: 540, end: 1440, days: [0, 1] },
    },
  })
})

test('quietHours in the config file', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sb-config-')), 'switchboard.json')
  writeFileSync(file, JSON.stringify({ quietHours: { countries: { DE: { start: '09:00' } } } }))
  const c = loadConfig({ SWITCHBOARD_CONFIG: file })
  assert.equal(c.quietHours.countries.DE?.start, 540)
})

test('QUIET_HOURS reports every problem at once', () => {
  const problems: string[] = []
  readQuietHours(
    {
      default: { start: '8:00', end: '25:00', days: [] },
      countries: {
        fr: {},
        XX: {},
        DE: { start: '21:00', end: '20:00' },
        IT: 'no',
        ES: { from: 1 },
      },
      weekends: true,
    },
    problems,
  )
  assert.deepEqual(problems, [
    'QUIET_HOURS: unknown field "weekends" (default, countries)',
    'QUIET_HOURS.default.start must be a time "HH:MM" from 00:00 to 24:00',
    'QUIET_HOURS.default.end must be a time "HH:MM" from 00:00 to 24:00',
    'QUIET_HOURS.default.days must be a non-empty list of distinct sun, mon, tue, wed, thu, fri, sat',
    'QUIET_HOURS.countries: "fr" is not an ISO 3166-1 alpha-2 country code',
    'QUIET_HOURS.countries: "XX" is not an ISO 3166-1 alpha-2 country code',
    'QUIET_HOURS.countries.DE: end (20:00) must be after start (21:00)',
    'QUIET_HOURS.countries.IT must be an object { "start": "08:00", "end": "21:00", "days": [...] }',
    'QUIET_HOURS.countries.ES: unknown field "from" (start, end, days)',
  ])
  assert.throws(() => loadConfig({ QUIET_HOURS: '{' }), ConfigError)
  assert.throws(() => loadConfig({ QUIET_HOURS: '[]' }), ConfigError)
})

test("QUIET_HOURS refuses a window that could never open across a country's zones", () => {
  const problems: string[] = []
  readQuietHours({ countries: { RU: { start: '09:00', end: '18:00' } } }, problems)
  assert.equal(problems.length, 1)
  assert.match(
    problems[0] ?? '',
    /^QUIET_HOURS\.countries\.RU: the window 09:00-18:00 would never open/,
  )
  const short: string[] = []
  readQuietHours({ default: { start: '09:00', end: '12:00' } }, short)
  assert.ok(
    short.some((p) =>
      p.startsWith(
        'QUIET_HOURS.default: the window 09:00-12:00 would never open for every number of US',
      ),
    ),
  )
})

test('the example in docs/compliance.md is a valid QUIET_HOURS', () => {
  const doc = readFileSync(new URL('../../../docs/compliance.md', import.meta.url), 'utf8')
  const example = /## Quiet hours[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1]
  assert.ok(example)
  const c = loadConfig({ QUIET_HOURS: example })
  assert.deepEqual(c.quietHours.countries.US, {
    start: 480,
    end: 1200,
    days: [0, 1, 2, 3, 4, 5, 6],
  })
})

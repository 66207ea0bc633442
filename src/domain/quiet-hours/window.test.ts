import assert from 'node:assert/strict'
import { test } from 'node:test'

import { commonState, zoneState, type WindowRule } from './window.js'
import { instantOfWall, offsetAt, wallOf } from './zone-clock.js'

const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]
const rule = (start: string, end: string, days = EVERY_DAY): WindowRule => {
  const min = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3))
  return { start: min(start), end: min(end), days }
}
const R = rule('08:00', '21:00')
const at = (iso: string) => Date.parse(iso)
const NY = 'America/New_York'
const LA = 'America/Los_Angeles'
const PARIS = 'Europe/Paris'
const CHI = 'America/Chicago'

test('offsets and wall times follow DST', () => {
  assert.equal(offsetAt(NY, at('2026-01-15T12:00:00Z')), -5 * 3_600_000)
  assert.equal(offsetAt(NY, at('2026-07-15T12:00:00Z')), -4 * 3_600_000)
  assert.equal(offsetAt(PARIS, at('2026-07-15T12:00:00Z')), 2 * 3_600_000)
  assert.equal(wallOf(PARIS, at('2026-03-29T00:59:59.250Z')), at('2026-03-29T01:59:59.250Z'))
  assert.equal(wallOf(PARIS, at('2026-03-29T01:00:00Z')), at('2026-03-29T03:00:00Z'))
})

test('a wall time maps to its instant; a skipped one to the change; a repeated one to its first', () => {
  assert.equal(instantOfWall(NY, at('2026-07-01T08:00:00Z')), at('2026-07-01T12:00:00Z'))
  // 2026-03-08 02:30 does not exist in New York: clocks go from 02:00 EST to 03:00 EDT (07:00Z).
  assert.equal(instantOfWall(NY, at('2026-03-08T02:30:00Z')), at('2026-03-08T07:00:00Z'))
  assert.equal(instantOfWall(PARIS, at('2026-03-29T02:30:00Z')), at('2026-03-29T01:00:00Z'))
  // 2026-11-01 01:30 happens twice in New York (EDT, then EST): the first.
  assert.equal(instantOfWall(NY, at('2026-11-01T01:30:00Z')), at('2026-11-01T05:30:00Z'))
  assert.equal(instantOfWall(PARIS, at('2026-10-25T02:30:00Z')), at('2026-10-25T00:30:00Z'))
})

/** [zone, submitted at (UTC), the window's state: open until, or closed until]. */
const DST_CASES: [string, string, string, boolean, string][] = [
  // US spring forward, 2026-03-08. 20:59 EST the evening before: still open until 21:00 EST.
  [NY, 'the evening before (20:59 EST)', '2026-03-08T01:59:00Z', true, '2026-03-08T02:00:00Z'],
  // 21:00 EST: held until 08:00 EDT, 11 hours later by the clock but 10 in real time.
  [NY, 'at closing the evening before', '2026-03-08T02:00:00Z', false, '2026-03-08T12:00:00Z'],
  [NY, 'inside the skipped hour', '2026-03-08T07:00:00Z', false, '2026-03-08T12:00:00Z'],
  [NY, 'the change day at 20:30 EDT', '2026-03-09T00:30:00Z', true, '2026-03-09T01:00:00Z'],
  [LA, 'the evening before (23:30 PST)', '2026-03-08T07:30:00Z', false, '2026-03-08T15:00:00Z'],
  // US fall back, 2026-11-01: held from 21:00 EDT until 08:00 EST.
  [NY, 'the evening before (21:00 EDT)', '2026-11-01T01:00:00Z', false, '2026-11-01T13:00:00Z'],
  [NY, 'inside the repeated hour', '2026-11-01T06:30:00Z', false, '2026-11-01T13:00:00Z'],
  [NY, 'the change day morning', '2026-11-01T13:00:00Z', true, '2026-11-02T02:00:00Z'],
  [LA, 'the evening before (22:00 PDT)', '2026-11-01T05:00:00Z', false, '2026-11-01T16:00:00Z'],
  [LA, '20:59 PST on the change day', '2026-11-02T04:59:00Z', true, '2026-11-02T05:00:00Z'],
  // EU spring forward, 2026-03-29 (01:00Z).
  [PARIS, 'the evening before (21:00 CET)', '2026-03-28T20:00:00Z', false, '2026-03-29T06:00:00Z'],
  [PARIS, '20:59 CET the evening before', '2026-03-28T19:59:00Z', true, '2026-03-28T20:00:00Z'],
  // EU fall back, 2026-10-25 (01:00Z).
  [PARIS, 'the evening before (21:30 CEST)', '2026-10-24T19:30:00Z', false, '2026-10-25T07:00:00Z'],
  [PARIS, 'the change day at 20:00 CET', '2026-10-25T19:00:00Z', true, '2026-10-25T20:00:00Z'],
]

for (const [zone, what, t, open, until] of DST_CASES) {
  test(`${zone}, ${what}: ${open ? 'open until' : 'held until'} ${until}`, () => {
    assert.deepEqual(zoneState(zone, R, at(t)), { open, until: at(until) })
  })
}

test('a window starting inside the skipped hour opens when the clocks jump', () => {
  const early = rule('02:30', '21:00')
  assert.deepEqual(zoneState(NY, early, at('2026-03-08T02:00:00Z')), {
    open: false,
    until: at('2026-03-08T07:00:00Z'),
  })
  assert.deepEqual(zoneState(PARIS, early, at('2026-03-28T22:00:00Z')), {
    open: false,
    until: at('2026-03-29T01:00:00Z'),
  })
})

test('a window ending inside the repeated hour closes at its first occurrence', () => {
  const night = rule('00:00', '01:30')
  assert.deepEqual(zoneState(NY, night, at('2026-11-01T05:00:00Z')), {
    open: true,
    until: at('2026-11-01T05:30:00Z'),
  })
  // 01:15 EST, the second time round: closed until midnight.
  assert.deepEqual(zoneState(NY, night, at('2026-11-01T06:15:00Z')), {
    open: false,
    until: at('2026-11-02T05:00:00Z'),
  })
})

test('days off are skipped, in local days', () => {
  const weekdays = rule('09:00', '20:00', [1, 2, 3, 4, 5])
  // Friday 2026-07-03 20:00 in Paris (18:00Z): closed until Monday 09:00 (07:00Z).
  assert.deepEqual(zoneState(PARIS, weekdays, at('2026-07-03T18:00:00Z')), {
    open: false,
    until: at('2026-07-06T07:00:00Z'),
  })
  // Sunday 23:30 in Paris: still closed until Monday 09:00.
  assert.deepEqual(zoneState(PARIS, weekdays, at('2026-07-05T21:30:00Z')), {
    open: false,
    until: at('2026-07-06T07:00:00Z'),
  })
})

test('a window open all day closes at midnight and opens at once', () => {
  const always = rule('00:00', '24:00')
  assert.deepEqual(zoneState(NY, always, at('2026-03-08T12:00:00Z')), {
    open: true,
    until: at('2026-03-09T04:00:00Z'),
  })
})

test('over several zones the window is open only where it is open in all of them', () => {
  // Summer: 08:00 Central is 13:00Z, 21:00 Eastern is 01:00Z.
  assert.deepEqual(commonState([NY, CHI], R, at('2026-07-01T12:30:00Z')), {
    open: false,
    until: at('2026-07-01T13:00:00Z'),
  })
  assert.deepEqual(commonState([NY, CHI], R, at('2026-07-02T00:30:00Z')), {
    open: true,
    until: at('2026-07-02T01:00:00Z'),
  })
  assert.deepEqual(commonState([NY, CHI], R, at('2026-07-02T01:10:00Z')), {
    open: false,
    until: at('2026-07-02T13:00:00Z'),
  })
})

test('zones whose windows never overlap have no common window', () => {
  assert.equal(
    commonState(
      ['Asia/Tokyo', 'Africa/Abidjan'],
      rule('08:00', '16:00'),
      at('2026-07-01T00:00:00Z'),
    ),
    undefined,
  )
  // 25 hours apart: the same hours, but never the same day.
  const mondays = rule('08:00', '21:00', [1])
  assert.equal(
    commonState(['Pacific/Kiritimati', 'Pacific/Pago_Pago'], mondays, at('2026-07-01T00:00:00Z')),
    undefined,
  )
})

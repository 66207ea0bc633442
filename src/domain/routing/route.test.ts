import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defaultRoutes, parseRoutes, senderLimits } from './route.js'
import { Router } from './router.js'

const INSTANCES = ['twilio-us', 'vonage-eu', 'plivo']

function routes(raw: unknown) {
  const r = parseRoutes(raw, INSTANCES)
  assert.deepEqual(r.problems, [])
  return new Router(r.routes)
}

const msg = (to: string, o: { type?: 'transactional' | 'marketing'; from?: string } = {}) => ({
  to,
  type: o.type ?? 'transactional',
  from: o.from ?? null,
})

test('the first matching route wins, in order; a route without match takes the rest', () => {
  const r = routes([
    { match: { prefixes: ['+1415'] }, providers: ['plivo'] },
    { match: { countries: ['US', 'CA'] }, providers: ['twilio-us'] },
    { providers: ['vonage-eu'] },
  ])
  assert.equal(r.choose(msg('+14155550100'))?.index, 0)
  assert.equal(r.choose(msg('+12125550100'))?.index, 1) // US, not +1415
  assert.equal(r.choose(msg('+16135550100'))?.index, 1) // CA (Ottawa)
  assert.equal(r.choose(msg('+447400123456'))?.index, 2) // GB: the default
})

test('countries are the destination country, not its calling code', () => {
  const r = routes([{ match: { countries: ['CA'] }, providers: ['plivo'] }])
  assert.equal(r.accepts(msg('+16135550100')), true) // Ottawa, CA
  assert.equal(r.accepts(msg('+12125550100')), false) // New York, US: also +1
  assert.equal(r.accepts(msg('+447400123456')), false)
})

test('every match field given must match; a list matches any of its entries', () => {
  const r = routes([
    {
      match: { countries: ['us'], prefixes: ['+1212', '+1415'], type: 'marketing', from: 'ACME' },
      providers: ['plivo'],
    },
  ])
  const ok = msg('+14155550100', { type: 'marketing', from: 'ACME' })
  assert.equal(r.accepts(ok), true)
  assert.equal(r.accepts({ ...ok, to: '+12125550100' }), true)
  assert.equal(r.accepts({ ...ok, to: '+13105550100' }), false) // prefix
  assert.equal(r.accepts({ ...ok, type: 'transactional' }), false) // type
  assert.equal(r.accepts({ ...ok, from: 'OTHER' }), false) // from
  assert.equal(r.accepts({ ...ok, from: null }), false) // no from
})

test('match.from is compared to the sender as intake stores it (E.164)', () => {
  const r = routes([{ match: { from: ' +1 415 555 0100 ' }, providers: ['plivo'] }])
  assert.equal(r.accepts(msg('+12125550100', { from: '+14155550100' })), true)
})

test('a message no route accepts has no route', () => {
  const r = routes([{ match: { type: 'marketing' }, providers: ['plivo'] }])
  assert.equal(r.choose(msg('+14155550100')), undefined)
})

test('without ROUTES one default route lists every instance in configured order', () => {
  const r = new Router(defaultRoutes(INSTANCES))
  const c = r.choose(msg('+447400123456', { type: 'marketing' }))
  assert.deepEqual(c?.route.providers, INSTANCES)
  assert.equal(c?.sender, null)
})

test('a message keeps its own from; one without takes a route sender; no senders: null', () => {
  const r = routes([
    { match: { type: 'marketing' }, providers: ['plivo'], senders: ['+14155550100'] },
    { providers: ['plivo'] },
  ])
  assert.equal(r.choose(msg('+12125550100', { type: 'marketing' }))?.sender, '+14155550100')
  assert.equal(r.choose(msg('+12125550100', { type: 'marketing', from: 'ACME' }))?.sender, 'ACME')
  assert.equal(r.choose(msg('+12125550100'))?.sender, null)
})

test('senders may be objects with mps; limits are collected per sender', () => {
  const r = parseRoutes(
    [
      {
        match: { type: 'marketing' },
        providers: ['plivo'],
        senders: [{ from: '+14155550100', mps: 1 }, '12345'],
      },
      { providers: ['plivo'], senders: [{ from: '+14155550100', mps: 1 }] },
    ],
    INSTANCES,
  )
  assert.deepEqual(r.problems, [])
  assert.deepEqual(r.routes[0]?.senders, [{ from: '+14155550100', mps: 1 }, { from: '12345' }])
  assert.deepEqual([...senderLimits(r.routes).limits], [['+14155550100', 1]])
  const clash = parseRoutes(
    [
      {
        match: { type: 'marketing' },
        providers: ['plivo'],
        senders: [{ from: '+14155550100', mps: 1 }],
      },
      { providers: ['plivo'], senders: [{ from: '+14155550100', mps: 2 }] },
    ],
    INSTANCES,
  )
  assert.match(senderLimits(clash.routes).problems.join(), /"mps" 1 in one route and 2/)
})

test('every problem of every route is reported at once, by position', () => {
  const r = parseRoutes(
    [
      {
        match: { countries: ['USA'], prefixes: ['1415'], type: 'promo', from: '!!', extra: 1 },
        providers: ['twilio-us', 'nope', 'twilio-us'],
        senders: ['not a sender!', { from: '+14155550100', mps: 0, x: 1 }, '+14155550100'],
        failoverOnTimeout: 'yes',
        weight: 3,
      },
      'not an object',
      { providers: [] },
      { providers: ['plivo'] },
      { providers: ['plivo'] },
    ],
    INSTANCES,
  )
  const expected = [
    /^\[0\]: unknown setting "weight"$/,
    /^\[0\]: unknown "match" field "extra"$/,
    /^\[0\]: "match.countries" must be ISO 3166-1 alpha-2 codes \(got USA\)$/,
    /^\[0\]: "match.prefixes" must be "\+" and 1 to 15 digits/,
    /^\[0\]: "match.type" must be transactional or marketing$/,
    /^\[0\]: "match.from" must be/,
    /^\[0\]: "providers" names nope, which is not a configured instance/,
    /^\[0\]: "providers" names twilio-us more than once$/,
    /^\[0\]: "senders\[0\]" must be an E.164 number/,
    /^\[0\]: "senders\[1\]" has unknown setting "x"$/,
    /^\[0\]: "senders\[1\].mps" must be a number above 0/,
    /^\[0\]: "senders\[2\]" repeats an earlier sender$/,
    /^\[0\]: "failoverOnTimeout" must be true or false$/,
    /^\[1\]: must be an object/,
    /^\[2\]: "providers" must be a non-empty array/,
    /^\[3\]: is never used: route \[2\] before it takes every message$/,
    /^\[4\]: is never used: route \[2\] before it takes every message$/,
  ]
  assert.equal(r.problems.length, expected.length, r.problems.join('\n'))
  expected.forEach((re, i) => assert.match(r.problems[i] ?? '', re))
  // No phone number is echoed into a problem (boot prints them).
  assert.doesNotMatch(r.problems.join('\n'), /5550100/)
})

test('ROUTES must be a non-empty array', () => {
  assert.deepEqual(parseRoutes([], INSTANCES).problems, [
    'must be a non-empty JSON array of routes',
  ])
  assert.deepEqual(parseRoutes({}, INSTANCES).problems, [
    'must be a non-empty JSON array of routes',
  ])
})

test('an empty match is a default route', () => {
  const r = parseRoutes([{ match: {}, providers: ['plivo'] }, { providers: ['plivo'] }], INSTANCES)
  assert.equal(r.routes[0]?.match, undefined)
  assert.match(r.problems.join(), /\[1\]: is never used/)
})

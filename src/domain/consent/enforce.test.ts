import assert from 'node:assert/strict'
import { test } from 'node:test'
import { consentVerdict, optedOutScope, statesByPhone, type ConsentStatus } from './enforce.js'

const S = '+15005550006'
const states = (o: Record<string, ConsentStatus>) => new Map(Object.entries(o))

test('transactional: refused only by an opt-out of all, its sender or transactional', () => {
  assert.equal(consentVerdict(undefined, 'transactional', S), null)
  assert.equal(consentVerdict(states({ marketing: 'opted_out' }), 'transactional', S), null)
  assert.equal(consentVerdict(states({ '+15005550007': 'opted_out' }), 'transactional', S), null)
  for (const scope of ['all', S, 'transactional']) {
    assert.deepEqual(consentVerdict(states({ [scope]: 'opted_out' }), 'transactional', S), {
      code: 'recipient_opted_out',
      scope,
    })
  }
})

test('an unknown sender checks all and the type only', () => {
  assert.equal(consentVerdict(states({ [S]: 'opted_out' }), 'transactional', null), null)
  assert.equal(
    consentVerdict(states({ all: 'opted_out' }), 'transactional', null)?.code,
    'recipient_opted_out',
  )
})

test('marketing: needs an opt-in of marketing or all; any opt-out of its scopes wins', () => {
  assert.deepEqual(consentVerdict(undefined, 'marketing', S), {
    code: 'consent_required',
    scope: 'marketing',
  })
  assert.equal(
    consentVerdict(states({ [S]: 'opted_in' }), 'marketing', S)?.code,
    'consent_required',
  )
  assert.equal(consentVerdict(states({ marketing: 'opted_in' }), 'marketing', S), null)
  assert.equal(consentVerdict(states({ all: 'opted_in' }), 'marketing', S), null)
  assert.deepEqual(
    consentVerdict(states({ marketing: 'opted_in', [S]: 'opted_out' }), 'marketing', S),
    { code: 'recipient_opted_out', scope: S },
  )
  assert.deepEqual(
    consentVerdict(states({ all: 'opted_in', marketing: 'opted_out' }), 'marketing', S),
    { code: 'recipient_opted_out', scope: 'marketing' },
  )
})

test('before the send only an opt-out counts (consent_required was checked at intake)', () => {
  assert.equal(optedOutScope(undefined, 'marketing', S), null)
  assert.equal(optedOutScope(states({ all: 'opted_out' }), 'marketing', S), 'all')
})

test('statesByPhone groups states per number', () => {
  const m = statesByPhone([
    { phone: '+1', scope: 'all', status: 'opted_out' },
    { phone: '+1', scope: S, status: 'opted_in' },
    { phone: '+2', scope: 'all', status: 'opted_in' },
  ])
  assert.deepEqual(
    [...(m.get('+1') ?? [])],
    [
      ['all', 'opted_out'],
      [S, 'opted_in'],
    ],
  )
  assert.deepEqual([...(m.get('+2') ?? [])], [['all', 'opted_in']])
})

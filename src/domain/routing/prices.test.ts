import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parsePrices, PriceTable } from './prices.js'

const INSTANCES = ['twilio-us', 'vonage-eu']

function table(raw: unknown) {
  const p = parsePrices(raw, INSTANCES)
  assert.deepEqual(p.problems, [])
  return new PriceTable(p.prices)
}

test('a price per provider and country, else the provider\'s "*" entry', () => {
  const t = table([
    { provider: 'twilio-us', country: 'US', price: 0.0079, currency: 'USD' },
    { provider: 'twilio-us', country: '*', price: 0.05, currency: 'USD' },
    { provider: 'vonage-eu', country: 'gb', price: 0.04, currency: 'eur' },
  ])
  assert.deepEqual(t.lookup('twilio-us', 'US'), {
    provider: 'twilio-us',
    country: 'US',
    price: 0.0079,
    currency: 'USD',
  })
  assert.equal(t.lookup('twilio-us', 'FR')?.price, 0.05)
  assert.equal(t.lookup('twilio-us', undefined)?.price, 0.05)
  assert.equal(t.lookup('vonage-eu', 'GB')?.currency, 'EUR')
  assert.equal(t.lookup('vonage-eu', 'FR'), undefined) // no "*" for it
})

test('an estimate is segments x price, in the entry currency, without float noise', () => {
  const t = table([{ provider: 'twilio-us', country: 'US', price: 0.0079, currency: 'USD' }])
  assert.deepEqual(t.estimate('twilio-us', 'US', 3), { amount: 0.0237, currency: 'USD' })
  assert.deepEqual(t.estimate('twilio-us', 'US', 1), { amount: 0.0079, currency: 'USD' })
  assert.equal(t.estimate('twilio-us', 'CA', 1), undefined)
})

test('the country is looked up only for a provider with per-country prices', () => {
  const t = table([
    { provider: 'twilio-us', country: 'US', price: 0.0079, currency: 'USD' },
    { provider: 'vonage-eu', country: '*', price: 0.04, currency: 'EUR' },
  ])
  let calls = 0
  const country = () => {
    calls++
    return 'US'
  }
  assert.deepEqual(t.estimate('vonage-eu', country, 2), { amount: 0.08, currency: 'EUR' })
  assert.equal(calls, 0)
  assert.deepEqual(t.estimate('twilio-us', country, 1), { amount: 0.0079, currency: 'USD' })
  assert.equal(calls, 1)
})

test('every problem of every entry is reported, by position', () => {
  const p = parsePrices(
    [
      { provider: 'nope', country: 'USA', price: -1, currency: 'dollars', extra: true },
      { provider: 'twilio-us', country: 'US', price: 0.01, currency: 'USD' },
      { provider: 'twilio-us', country: 'us', price: 0.02, currency: 'USD' },
      'x',
      { provider: 'twilio-us', country: '*', price: '0.01', currency: 'USD' },
    ],
    INSTANCES,
  )
  const expected = [
    /^\[0\]: unknown setting "extra"$/,
    /^\[0\]: "provider" must name a configured instance/,
    /^\[0\]: "country" must be/,
    /^\[0\]: "price" must be a number of at least 0/,
    /^\[0\]: "currency" must be an ISO 4217 code/,
    /^\[2\]: repeats the price of twilio-us for US$/,
    /^\[3\]: must be an object/,
    /^\[4\]: "price" must be a number/,
  ]
  assert.equal(p.problems.length, expected.length, p.problems.join('\n'))
  expected.forEach((re, i) => assert.match(p.problems[i] ?? '', re))
  assert.deepEqual(parsePrices({}, INSTANCES).problems, [
    'must be a JSON array of { provider, country, price, currency }',
  ])
})

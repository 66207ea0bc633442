import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, loadConfig } from '../../config.js'
import { callbackAuth, describeProvider } from '../registry.js'

const load = (entry: Record<string, unknown>) =>
  loadConfig({ PROVIDERS: JSON.stringify([{ name: 'vonage-eu', type: 'vonage', ...entry }]) })

function problems(entry: Record<string, unknown>): string[] {
  try {
    load(entry)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

test('a vonage instance: credentials, default API and signature method', () => {
  const [p] = load({ apiKey: 'abcd1234', apiSecret: 'Secret123' }).providers
  assert.deepEqual(p, {
    name: 'vonage-eu',
    type: 'vonage',
    mps: undefined,
    apiKey: 'abcd1234',
    apiSecret: 'Secret123',
    signatureSecret: undefined,
    signatureMethod: 'md5hash',
    baseUrl: 'https://rest.nexmo.com',
  })
  assert.ok(p)
  assert.equal(callbackAuth(p), 'token')
})

test('with a signature secret: signed callbacks, md5hash unless the method is given', () => {
  const base = { apiKey: 'k', apiSecret: 's', signatureSecret: 'sig' }
  const [md5] = load(base).providers
  assert.ok(md5?.type === 'vonage')
  assert.equal(md5.signatureMethod, 'md5hash')
  assert.equal(callbackAuth(md5), 'signature')
  for (const method of ['md5', 'sha1', 'sha256', 'sha512']) {
    const [p] = load({ ...base, signatureMethod: method }).providers
    assert.ok(p?.type === 'vonage' && p.signatureMethod === method)
  }
})

test('every problem is reported at once', () => {
  const found = problems({
    signatureMethod: 'sha3',
    baseUrl: 'http://vonage.example.com',
    extra: 1,
  })
  const expected = [
    /"apiKey" is required/,
    /"apiSecret" is required/,
    /"signatureMethod" must be one of md5hash, md5, sha1, sha256, sha512/,
    /"signatureMethod" needs "signatureSecret"/,
    /"baseUrl" must be https/,
    /unknown setting "extra"/,
  ]
  for (const re of expected)
    assert.ok(
      found.some((p) => re.test(p)),
      `${String(re)} in ${found.join('; ')}`,
    )
})

test('a local server that speaks the API is allowed as baseUrl', () => {
  const [p] = load({ apiKey: 'k', apiSecret: 's', baseUrl: 'http://127.0.0.1:4010/' }).providers
  assert.ok(p?.type === 'vonage')
  assert.equal(p.baseUrl, 'http://127.0.0.1:4010')
})

test('described without any secret, not even a part of one', () => {
  const [p] = load({
    apiKey: 'abcd1234',
    apiSecret: 'Secret123',
    signatureSecret: 'SigSecret456',
    signatureMethod: 'sha256',
  }).providers
  assert.ok(p)
  const shown = describeProvider(p)
  assert.deepEqual(shown, {
    baseUrl: 'https://rest.nexmo.com',
    apiSecret: 'set',
    signatureSecret: 'set',
    signatureMethod: 'sha256',
  })
  const text = JSON.stringify(shown)
  for (const secret of ['Secret123', 'SigSecret456', 'abcd1234', '456', '123'])
    assert.ok(!text.includes(secret))
})

/**
 * A `"type": "plivo"` entry of PROVIDERS: its settings read and checked at boot (every problem
 * reported at once), shown without its token, and its callbacks authenticated by signature.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, loadConfig } from '../../config.js'
import { callbackAuth, describeProvider } from '../registry.js'

const ENTRY = {
  name: 'plivo-us',
  type: 'plivo',
  authId: 'MAXXXXXXXXXXXXXXXXXX',
  authToken: 'Zq8vW3nR5kP1xY7dM2',
}

const load = (...entries: Record<string, unknown>[]) =>
  loadConfig({ PROVIDERS: JSON.stringify(entries) }).providers

const problems = (...entries: Record<string, unknown>[]): string[] => {
  try {
    load(...entries)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return assert.fail('expected a configuration error')
}

test('a plivo entry is read with its defaults', () => {
  const [p] = load(ENTRY)
  assert.deepEqual(p, {
    name: 'plivo-us',
    type: 'plivo',
    mps: undefined,
    authId: 'MAXXXXXXXXXXXXXXXXXX',
    authToken: 'Zq8vW3nR5kP1xY7dM2',
    baseUrl: 'https://api.plivo.com',
    powerpackUuid: undefined,
  })
  assert.ok(p && callbackAuth(p) === 'signature')
})

test('baseUrl, powerpackUuid and mps are taken; two accounts stand side by side', () => {
  const powerpack = '5ec4c8c9-cd74-42b5-9e41-0d7670d6bb46'
  const [a, b] = load(
    { ...ENTRY, baseUrl: 'http://127.0.0.1:4010/', powerpackUuid: powerpack, mps: 10 },
    { ...ENTRY, name: 'plivo-eu', authId: 'SAYYYYYYYYYYYYYYYYYY' },
  )
  assert.ok(a?.type === 'plivo' && b?.type === 'plivo')
  assert.deepEqual([a.baseUrl, a.powerpackUuid, a.mps], ['http://127.0.0.1:4010', powerpack, 10])
  assert.equal(b.authId, 'SAYYYYYYYYYYYYYYYYYY')
})

test('every problem of a plivo entry is reported at once', () => {
  const found = problems(
    { name: 'plivo-a', type: 'plivo' },
    {
      ...ENTRY,
      name: 'plivo-b',
      authId: 'MA/../x',
      powerpackUuid: 'pp-1',
      baseUrl: 'http://api.plivo.com',
      authTokn: 'x',
    },
  )
  const expected = [
    /plivo-a.*"authId" is required/,
    /plivo-a.*"authToken" is required/,
    /plivo-b.*"authId" must be the Auth ID/,
    /plivo-b.*"powerpackUuid" must be a Powerpack UUID/,
    /plivo-b.*"baseUrl" must be https/,
    /plivo-b.*unknown setting "authTokn"/,
  ]
  for (const re of expected)
    assert.ok(
      found.some((p) => re.test(p)),
      `${String(re)} in ${found.join(' | ')}`,
    )
  assert.equal(found.length, expected.length, found.join(' | '))
})

test('what GET /v1/providers shows of an instance holds no secret, not even a piece of it', () => {
  const [p] = load(ENTRY)
  assert.ok(p)
  const shown = describeProvider(p)
  assert.deepEqual(shown, {
    authId: ENTRY.authId,
    authToken: 'set',
    baseUrl: 'https://api.plivo.com',
  })
  const text = JSON.stringify(shown)
  for (let i = 0; i + 4 <= ENTRY.authToken.length; i++) {
    assert.ok(!text.includes(ENTRY.authToken.slice(i, i + 4)), 'no part of the token')
  }
})

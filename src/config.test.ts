import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConfigError, loadClientConfig, loadConfig } from './config.js'

test('defaults: SQLite under ./data, port 3000, simulator provider', () => {
  const c = loadConfig({})
  assert.equal(c.port, 3000)
  assert.equal(c.host, '127.0.0.1', 'only this machine can reach a server started as-is')
  assert.deepEqual(c.database, {
    kind: 'sqlite',
    path: './data/switchboard.db',
    synchronous: 'NORMAL',
  })
  assert.equal(c.providers[0]?.type, 'simulator')
  assert.equal(c.messages.maxSegments, 10)
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.worker))
})

test('PostgreSQL URL selects cluster mode', () => {
  const c = loadConfig({ DATABASE_URL: 'postgres://u@h/db', DATABASE_SCHEMA: 's1' })
  assert.deepEqual(c.database, { kind: 'postgres', url: 'postgres://u@h/db', schema: 's1' })
})

test('every problem is reported at once', () => {
  try {
    loadConfig({
      PORT: 'abc',
      DATABASE_URL: 'mysql://x',
      MAX_SEGMENTS: '0',
      DEFAULT_COUNTRY: 'USA',
      SIMULATOR_TRANSIENT_RATE: '2',
      WEBHOOK_SECRET: 'nope',
      WEBHOOK_ENDPOINTS: '[{"url":"ftp://x","secret":"whsec_x"}]',
      SIMULATOR_RULES: '{',
    })
    assert.fail('expected a ConfigError')
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    const joined = err.problems.join('\n')
    for (const key of [
      'PORT',
      'DATABASE_URL',
      'MAX_SEGMENTS',
      'DEFAULT_COUNTRY',
      'SIMULATOR_TRANSIENT_RATE',
      'WEBHOOK_SECRET',
      'WEBHOOK_ENDPOINTS',
      'SIMULATOR_RULES',
    ]) {
      assert.match(joined, new RegExp(key), key)
    }
    assert.equal(err.problems.length, 8)
  }
})

test('SIMULATOR_URL switches to the HTTP simulator', () => {
  const c = loadConfig({ SIMULATOR_URL: 'http://127.0.0.1:4010' })
  assert.equal(c.providers[0]?.type, 'simulator-http')
})

test('a JSON config file supplies the same keys; the environment wins', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sb-config-')), 'switchboard.json')
  writeFileSync(file, JSON.stringify({ PORT: 4000, MAX_SEGMENTS: 5, SIMULATOR_RULES: [] }))
  const c = loadConfig({ SWITCHBOARD_CONFIG: file, MAX_SEGMENTS: '7' })
  assert.equal(c.port, 4000)
  assert.equal(c.messages.maxSegments, 7)
  assert.throws(() => loadConfig({ SWITCHBOARD_CONFIG: join(file, 'missing') }), ConfigError)
})

test('a lease shorter than the provider timeout is refused', () => {
  assert.throws(
    () => loadConfig({ WORKER_LEASE_MS: '10000', PROVIDER_TIMEOUT_MS: '15000' }),
    /WORKER_LEASE_MS \(10000\) must be longer than PROVIDER_TIMEOUT_MS/,
  )
})

test('the CLI reaches the server at SWITCHBOARD_URL, an http(s) URL, by default the local one', () => {
  assert.equal(loadClientConfig({}).url, 'http://127.0.0.1:3000')
  assert.equal(
    loadClientConfig({ SWITCHBOARD_URL: 'https://sb.example/' }).url,
    'https://sb.example',
  )
  for (const bad of ['localhost:3000', '127.0.0.1:3000', 'ftp://h', 'http://', 'http://[::1']) {
    assert.throws(() => loadClientConfig({ SWITCHBOARD_URL: bad }), ConfigError, bad)
  }
})

test('a webhook endpoint on a literal internal address is refused unless WEBHOOK_ALLOW_PRIVATE', () => {
  const secret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`
  const endpoints = JSON.stringify(
    [
      'http://127.1:9000/a',
      'http://u:s3cret@[::1]/b',
      'https://10.0.0.5/c',
      'https://x.example/d',
    ].map((url) => ({ url, secret })),
  )
  try {
    loadConfig({ WEBHOOK_ENDPOINTS: endpoints })
    assert.fail('expected a ConfigError')
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    assert.equal(err.problems.length, 3, err.message)
    assert.match(err.message, /WEBHOOK_ALLOW_PRIVATE/)
    assert.doesNotMatch(err.message, /s3cret/)
  }
  const dev = loadConfig({ WEBHOOK_ENDPOINTS: endpoints, WEBHOOK_ALLOW_PRIVATE: 'true' })
  assert.equal(dev.webhooks.allowPrivate, true)
  assert.equal(dev.messages.allowPrivateCallbacks, true)
  assert.equal(loadConfig({}).webhooks.allowPrivate, false)
  // Provider base URLs are the operator's own infrastructure: not subject to the guard.
  assert.equal(loadConfig({ SIMULATOR_URL: 'http://127.0.0.1:4010' }).webhooks.allowPrivate, false)
})

const TWO_SIMULATORS = JSON.stringify([
  { name: 'sim-a', type: 'simulator' },
  { name: 'sim-b', type: 'simulator' },
])

test('without ROUTES one default route lists every instance in configured order', () => {
  const c = loadConfig({ PROVIDERS: TWO_SIMULATORS })
  assert.deepEqual(c.routing.routes, [
    { providers: ['sim-a', 'sim-b'], senders: [], failoverOnTimeout: false },
  ])
  assert.equal(c.routing.configured, false)
  assert.deepEqual(c.routing.prices, [])
  assert.deepEqual(c.routing.circuit, { failures: 5, cooldownMs: 30_000 })
})

test('ROUTES, PRICES and the circuit settings are read', () => {
  const c = loadConfig({
    PROVIDERS: TWO_SIMULATORS,
    ROUTES: JSON.stringify([
      {
        match: { countries: ['US'], type: 'marketing' },
        providers: ['sim-b', 'sim-a'],
        senders: ['+14155550100', { from: '+14155550101', mps: 1 }],
        failoverOnTimeout: true,
      },
      { providers: ['sim-a'] },
    ]),
    PRICES: JSON.stringify([{ provider: 'sim-a', country: '*', price: 0.01, currency: 'USD' }]),
    CIRCUIT_FAILURES: '3',
    CIRCUIT_COOLDOWN_MS: '500',
  })
  assert.equal(c.routing.configured, true)
  assert.deepEqual(c.routing.routes[0], {
    match: { countries: ['US'], type: 'marketing' },
    providers: ['sim-b', 'sim-a'],
    senders: [{ from: '+14155550100' }, { from: '+14155550101', mps: 1 }],
    failoverOnTimeout: true,
  })
  assert.deepEqual(c.routing.prices, [
    { provider: 'sim-a', country: '*', price: 0.01, currency: 'USD' },
  ])
  assert.deepEqual(c.routing.circuit, { failures: 3, cooldownMs: 500 })
  assert.ok(Object.isFrozen(c.routing.routes[0]?.senders))
})

test('routes and prices in the config file, under lower-case names', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sb-config-')), 'switchboard.json')
  writeFileSync(
    file,
    JSON.stringify({
      providers: [{ name: 'sim-a', type: 'simulator' }],
      routes: [{ match: { type: 'marketing' }, providers: ['sim-a'] }],
      prices: [{ provider: 'sim-a', country: 'US', price: 0.0079, currency: 'USD' }],
    }),
  )
  const c = loadConfig({ SWITCHBOARD_CONFIG: file })
  assert.equal(c.providers[0]?.name, 'sim-a')
  assert.deepEqual(c.routing.routes[0]?.match, { type: 'marketing' })
  assert.equal(c.routing.prices[0]?.price, 0.0079)
})

test('routing problems are reported at once with every other problem', () => {
  try {
    loadConfig({
      PORT: 'abc',
      PROVIDERS: TWO_SIMULATORS,
      ROUTES: JSON.stringify([
        { match: { countries: ['XYZ'] }, providers: ['sim-c'] },
        { providers: ['sim-a'], senders: [{ from: '+14155550100', mps: 1 }] },
        { providers: ['sim-b'], senders: [{ from: '+14155550100', mps: 2 }] },
      ]),
      PRICES: JSON.stringify([{ provider: 'sim-c', country: 'US', price: 1, currency: 'USD' }]),
      CIRCUIT_FAILURES: '0',
      CIRCUIT_COOLDOWN_MS: 'soon',
    })
    assert.fail('expected a ConfigError')
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    const expected = [
      /^PORT must be/,
      /^ROUTES\[0\]: "match.countries" must be ISO 3166-1 alpha-2 codes \(got XYZ\)$/,
      /^ROUTES\[0\]: "providers" names sim-c, which is not a configured instance \(sim-a, sim-b\)$/,
      /^ROUTES\[2\]: is never used: route \[1\] before it takes every message$/,
      /^ROUTES: sender \*+0100 has "mps" 1 in one route and 2 in another$/,
      /^PRICES\[0\]: "provider" must name a configured instance/,
      /^CIRCUIT_FAILURES must be an integer between 1/,
      /^CIRCUIT_COOLDOWN_MS must be an integer/,
    ]
    const problems = [...err.problems].sort(
      (a, b) => expected.findIndex((re) => re.test(a)) - expected.findIndex((re) => re.test(b)),
    )
    assert.equal(problems.length, expected.length, err.problems.join('\n'))
    expected.forEach((re, i) => assert.match(problems[i] ?? '', re))
  }
})

test('ROUTES and PRICES must be JSON', () => {
  assert.throws(
    () => loadConfig({ ROUTES: '[{', PRICES: 'x' }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.includes('ROUTES must be valid JSON') &&
      err.problems.includes('PRICES must be valid JSON'),
  )
  assert.throws(() => loadConfig({ ROUTES: '[]' }), /ROUTES must be a non-empty JSON array/)
})

test('Verify abuse protection: defaults, the environment, the config file, every problem at once', () => {
  const d = loadConfig({}).verifyAbuse
  assert.equal(d.countries, null)
  assert.deepEqual(d.limits.number, { sends: 5, windowSeconds: 600 })
  assert.equal(d.blockHours, 12)

  const c = loadConfig({
    VERIFY_COUNTRIES: 'us,ca',
    VERIFY_LIMITS: '{"ip":null,"burst":{"sends":25}}',
    VERIFY_BLOCK_HOURS: '6',
  }).verifyAbuse
  assert.deepEqual(c.countries, ['US', 'CA'])
  assert.equal(c.limits.ip, null)
  assert.equal(c.limits.burst?.sends, 25)
  assert.equal(c.blockHours, 6)
  assert.ok(Object.isFrozen(c.limits))

  const dir = mkdtempSync(join(tmpdir(), 'switchboard-config-'))
  const file = join(dir, 'config.json')
  writeFileSync(file, JSON.stringify({ verifyLimits: { number: { sends: 3 } } }))
  assert.equal(loadConfig({ SWITCHBOARD_CONFIG: file }).verifyAbuse.limits.number?.sends, 3)

  assert.throws(
    () =>
      loadConfig({
        PORT: 'abc',
        VERIFY_COUNTRIES: 'UK',
        VERIFY_LIMITS: '{"number":{"sends":0}}',
        VERIFY_BLOCK_HOURS: 'x',
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.equal(err.problems.length, 4)
      assert.ok(err.problems.some((p) => p.startsWith('VERIFY_COUNTRIES')))
      assert.ok(err.problems.some((p) => p.startsWith('VERIFY_LIMITS.number.sends')))
      assert.ok(err.problems.some((p) => p.startsWith('VERIFY_BLOCK_HOURS')))
      return true
    },
  )
  assert.throws(() => loadConfig({ VERIFY_LIMITS: '{' }), /VERIFY_LIMITS must be valid JSON/)
})

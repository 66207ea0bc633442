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

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, loadConfig } from '../../config.js'
import { describeProvider } from '../registry.js'

const ACCOUNT = `AC${'0a'.repeat(16)}`
const SERVICE = `MG${'1b'.repeat(16)}`
const TOKEN = 'c3'.repeat(16)

function providers(...entries: Record<string, unknown>[]) {
  return loadConfig({ DATABASE_URL: 'sqlite::memory:', PROVIDERS: JSON.stringify(entries) })
    .providers
}

function problems(...entries: Record<string, unknown>[]): string[] {
  try {
    providers(...entries)
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    return err.problems
  }
  return assert.fail('expected a ConfigError')
}

const entry = (o: Record<string, unknown> = {}) => ({
  name: 'twilio-us',
  type: 'twilio',
  accountSid: ACCOUNT,
  authToken: TOKEN,
  ...o,
})

test('a twilio instance: credentials, optional Messaging Service, the public API by default', () => {
  assert.deepEqual(providers(entry()), [
    {
      name: 'twilio-us',
      type: 'twilio',
      mps: undefined,
      accountSid: ACCOUNT,
      authToken: TOKEN,
      messagingServiceSid: undefined,
      baseUrl: 'https://api.twilio.com',
    },
  ])
  const [local] = providers(
    entry({ messagingServiceSid: SERVICE, baseUrl: 'http://127.0.0.1:4010/', mps: 10 }),
  )
  assert.equal(local?.type === 'twilio' && local.messagingServiceSid, SERVICE)
  assert.equal(local?.type === 'twilio' && local.baseUrl, 'http://127.0.0.1:4010')
  assert.equal(local?.mps, 10)
  // Two accounts side by side.
  assert.equal(providers(entry(), entry({ name: 'twilio-eu' })).length, 2)
})

test('every problem of a twilio entry is reported at once', () => {
  assert.deepEqual(problems({ name: 'twilio-us', type: 'twilio' }), [
    'PROVIDERS[0] "twilio-us": "accountSid" is required',
    'PROVIDERS[0] "twilio-us": "authToken" is required',
  ])
  assert.deepEqual(
    problems(
      entry({
        accountSid: 'AC123',
        messagingServiceSid: 'MG123',
        baseUrl: 'http://api.twilio.com',
        authtoken: 'typo',
      }),
    ),
    [
      'PROVIDERS[0] "twilio-us": "accountSid" must be AC followed by 32 hex digits',
      'PROVIDERS[0] "twilio-us": "messagingServiceSid" must be MG followed by 32 hex digits',
      'PROVIDERS[0] "twilio-us": "baseUrl" must be https (plain http only to a loopback address)',
      'PROVIDERS[0] "twilio-us": unknown setting "authtoken"',
    ],
  )
  assert.deepEqual(problems(entry({ authToken: 42 })), [
    'PROVIDERS[0] "twilio-us": "authToken" must be a string',
  ])
})

test('described without its auth token, not even in part', () => {
  const [settings] = providers(entry({ messagingServiceSid: SERVICE }))
  assert.ok(settings)
  const shown = describeProvider(settings)
  assert.deepEqual(shown, {
    accountSid: ACCOUNT,
    authToken: 'set',
    messagingServiceSid: SERVICE,
    baseUrl: 'https://api.twilio.com',
  })
  const text = JSON.stringify(shown)
  for (let i = 0; i + 6 <= TOKEN.length; i++) assert.ok(!text.includes(TOKEN.slice(i, i + 6)))
})

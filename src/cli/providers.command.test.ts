import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../config.js'
import { createFanout } from '../domain/webhooks/fanout.js'
import { callbackTokenSetting, providerCallbacks } from '../providers/callback-urls.js'
import { openDb } from '../store/db.js'
import { Store } from '../store/store.js'
import { CliUsageError } from './args.js'
import { runProviders } from './providers.command.js'

const PROVIDERS = [
  { name: 'vonage-tok', type: 'vonage', apiKey: 'k1', apiSecret: 's1' },
  { name: 'vonage-sig', type: 'vonage', apiKey: 'k2', apiSecret: 's2', signatureSecret: 'x' },
  { name: 'sim', type: 'simulator' },
]

test('providers urls prints the URLs Switchboard registers, the token only where it is used', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const config = loadConfig({
    DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
    PUBLIC_URL: 'https://sms.example.com',
    PROVIDERS: JSON.stringify(PROVIDERS),
  })
  const lines: string[] = []
  t.mock.method(console, 'log', (line: string) => lines.push(line))
  assert.equal(await runProviders(config, ['urls']), 0)
  const first = [...lines]
  lines.length = 0
  assert.equal(await runProviders(config, ['urls']), 0)
  assert.deepEqual(lines, first, 'the same URLs every time: the token is made once')

  const db = openDb(config.database)
  const store = new Store(db, createFanout({ endpoints: [] }))
  const token = await store.getSetting(callbackTokenSetting('vonage-tok'))
  const [tok, sig] = config.providers
  assert.ok(token && tok && sig)
  // What the server registers (src/main.ts uses the same function) is what was printed.
  const server = await providerCallbacks(config.publicUrl, tok, store)
  assert.equal(server.callbackToken, token)
  assert.equal((await providerCallbacks(config.publicUrl, sig, store)).auth, 'signature')
  await store.close()
  assert.deepEqual(first, [
    'vonage-tok (vonage, callbacks by token)',
    `  status:  https://sms.example.com/webhooks/vonage-tok/status?token=${token}`,
    `  inbound: https://sms.example.com/webhooks/vonage-tok/inbound?token=${token}`,
    'vonage-sig (vonage, callbacks by signature)',
    '  status:  https://sms.example.com/webhooks/vonage-sig/status',
    '  inbound: https://sms.example.com/webhooks/vonage-sig/inbound',
    'sim (simulator, no callbacks)',
  ])
  assert.deepEqual(server.callbackUrls, {
    status: `https://sms.example.com/webhooks/vonage-tok/status?token=${token}`,
    inbound: `https://sms.example.com/webhooks/vonage-tok/inbound?token=${token}`,
  })
})

test('providers without a known subcommand is a usage error', async () => {
  const config = loadConfig({})
  await assert.rejects(runProviders(config, []), CliUsageError)
  await assert.rejects(runProviders(config, ['tokens']), CliUsageError)
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, loadConfig } from '../config.js'
import type { Resolver } from './destination-guard.js'
import { checkWebhookEndpoints } from './webhook-endpoints.check.js'

const secret = `whsec_${Buffer.alloc(32, 2).toString('base64')}`
const config = (urls: string[], env: Record<string, string> = {}) =>
  loadConfig({ WEBHOOK_ENDPOINTS: JSON.stringify(urls.map((url) => ({ url, secret }))), ...env })

const table: Record<string, string[]> = {
  'public.example.com': ['93.184.215.14'],
  'meta.example.com': ['169.254.169.254'],
  'lan.example.com': ['8.8.8.8', '192.168.1.20'],
}
const calls: string[] = []
const resolve: Resolver = async (host) => {
  calls.push(host)
  const found = table[host]
  if (!found) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })
  return found.map((address) => ({ address }))
}

test('at boot, endpoints whose names resolve to internal addresses are all reported at once', async () => {
  const c = config([
    'https://public.example.com/a',
    'https://ops:s3cret@meta.example.com/b',
    'https://lan.example.com/c',
    'https://gone.example.com/d',
  ])
  const warnings: string[] = []
  const err = await checkWebhookEndpoints(c, { resolve, warn: (m) => warnings.push(m) }).catch(
    (e: unknown) => e,
  )
  assert.ok(err instanceof ConfigError)
  assert.equal(err.problems.length, 2)
  assert.match(err.problems.join('\n'), /meta\.example\.com.*link_local/)
  assert.match(err.problems.join('\n'), /lan\.example\.com.*private/)
  assert.doesNotMatch(err.message, /s3cret/)
  // A name that does not resolve now is not a configuration error: DNS may come back.
  assert.equal(warnings.length, 1)
  assert.match(warnings[0] ?? '', /gone\.example\.com/)
})

test('with WEBHOOK_ALLOW_PRIVATE nothing is resolved or refused at boot', async () => {
  calls.length = 0
  await checkWebhookEndpoints(
    config(['https://meta.example.com/b'], { WEBHOOK_ALLOW_PRIVATE: 'true' }),
    { resolve },
  )
  assert.deepEqual(calls, [])
  await checkWebhookEndpoints(config(['https://public.example.com/a']), { resolve })
  assert.deepEqual(calls, ['public.example.com'])
})

import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { Vonage } from '@vonage/server-sdk'
import type { SmsProvider } from '../provider.js'
import { makeSms } from '../simulator/test-helpers.js'
import { signVonageParams, type VonageSignatureMethod } from './vonage-signature.js'
import { createVonageProvider, MAX_CALLBACK_LENGTH } from './vonage.provider.js'
import { startVonageFake, type VonageFake } from './vonage.fake-server.js'

const API_KEY = 'abcd1234'
const API_SECRET = 'Secret123'
const TOKEN = 'tok_0123456789abcdefABCDEF'
const STATUS_URL = `https://sb.example.com/webhooks/vonage/status?token=${TOKEN}`

const sdkSms = new Vonage({ apiKey: API_KEY, apiSecret: API_SECRET }).sms
type Algorithm = Parameters<typeof sdkSms.verifySignature>[3]
const ALGORITHM: Record<VonageSignatureMethod, string> = {
  md5hash: 'MD5HASH',
  md5: 'MD5HMAC',
  sha1: 'SHA1HMAC',
  sha256: 'SHA256HMAC',
  sha512: 'SHA512HMAC',
}

function provider(
  fake: { url: string },
  extra: Partial<Parameters<typeof createVonageProvider>[0]> = {},
): SmsProvider {
  return createVonageProvider({
    name: 'vonage',
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    signatureMethod: 'md5hash',
    baseUrl: fake.url,
    callbackUrls: { status: STATUS_URL, inbound: STATUS_URL.replace('status', 'inbound') },
    callbackToken: TOKEN,
    now: Date.now,
    ...extra,
  })
}

const signal = (): AbortSignal => AbortSignal.timeout(5000)
const sms = (to = '+447700900001', o: Parameters<typeof makeSms>[1] = {}) =>
  makeSms(to, { from: 'AcmeInc', ...o })

describe('Vonage send: the request as sent', () => {
  let fake: VonageFake
  let vonage: SmsProvider
  before(async () => {
    fake = await startVonageFake({ apiKey: API_KEY, apiSecret: API_SECRET, receipts: 'manual' })
    vonage = provider(fake)
  })
  after(async () => {
    await vonage.stop?.()
    await fake.close()
  })

  test('form POST to /sms/json with the documented parameters', async () => {
    const m = sms('+447700900001', {
      body: 'Hello & welcome = 100%',
      validUntil: Date.now() + 3_600_000,
    })
    const result = await vonage.send(m, signal())
    assert.equal(result.outcome, 'accepted')
    const r = fake.requests.at(-1)
    assert.ok(r)
    assert.equal(r.contentType, 'application/x-www-form-urlencoded')
    assert.equal(r.auth, 'secret')
    const { ttl, ...params } = r.params
    assert.deepEqual(params, {
      api_key: API_KEY,
      api_secret: API_SECRET,
      from: 'AcmeInc',
      to: '447700900001',
      text: 'Hello & welcome = 100%',
      'client-ref': m.id,
      callback: STATUS_URL,
    })
    // The message's validity, in milliseconds, as Vonage's ttl.
    assert.ok(Math.abs(Number(ttl) - 3_600_000) < 5000, ttl)
    assert.equal(r.headers.authorization, undefined)
  })

  test('a UCS-2 message is sent with type=unicode, a GSM-7 one without type', async () => {
    await vonage.send(sms('+447700900001', { body: 'Привет 👋', encoding: 'UCS-2' }), signal())
    assert.equal(fake.requests.at(-1)?.params.type, 'unicode')
    assert.equal(fake.requests.at(-1)?.params.text, 'Привет 👋')
    await vonage.send(sms(), signal())
    assert.equal(fake.requests.at(-1)?.params.type, undefined)
  })

  test('ttl stays within what Vonage accepts', async () => {
    await vonage.send(sms('+447700900001', { validUntil: Date.now() + 1000 }), signal())
    assert.equal(fake.requests.at(-1)?.params.ttl, '20000')
    await vonage.send(sms('+447700900001', { validUntil: Date.now() + 30 * 86_400_000 }), signal())
    assert.equal(fake.requests.at(-1)?.params.ttl, '604800000')
  })

  test('a callback URL longer than Vonage takes is left out (the dashboard URL applies)', async () => {
    const long = `https://sb.example.com/${'x'.repeat(MAX_CALLBACK_LENGTH)}`
    const p = provider(fake, { callbackUrls: { status: long, inbound: long } })
    const result = await p.send(sms(), signal())
    await p.stop?.()
    assert.equal(result.outcome, 'accepted')
    assert.equal(fake.requests.at(-1)?.params.callback, undefined)
  })

  test('Vonage does not deduplicate resends: a lost answer is not resent blindly', () => {
    assert.equal(vonage.deduplicates, false)
    assert.equal(vonage.type, 'vonage')
  })

  test('a message without a sender is refused before any request', async () => {
    const before = fake.requests.length
    const result = await vonage.send(makeSms('+447700900001'), signal())
    assert.equal(result.outcome, 'rejected')
    assert.ok(result.outcome === 'rejected' && result.code === 'provider_rejected')
    assert.equal(fake.requests.length, before)
  })

  test('a long message: one id per part in part order, prices summed', async () => {
    const body = 'x'.repeat(400) // 3 GSM-7 parts of 153
    const result = await vonage.send(sms('+447700900002', { body, segments: 3 }), signal())
    assert.equal(result.outcome, 'accepted')
    assert.ok(result.outcome === 'accepted')
    const parts = fake.parts.filter((p) => p.to === '447700900002')
    assert.deepEqual(
      result.providerMessageIds,
      parts.map((p) => p.id),
    )
    assert.equal(result.providerMessageIds.length, 3)
    assert.deepEqual(result.price, { amount: 0.0999, currency: 'EUR' })
  })
})

describe('Vonage send: signed requests', () => {
  for (const method of ['md5hash', 'md5', 'sha1', 'sha256', 'sha512'] as const) {
    test(`${method}: sig and timestamp instead of api_secret, verified by the Vonage SDK`, async () => {
      const signing = { secret: 'sig-secret', method }
      const fake = await startVonageFake({ apiKey: API_KEY, apiSecret: API_SECRET, signing })
      const vonage = provider(fake, { signatureSecret: 'sig-secret', signatureMethod: method })
      try {
        const m = sms('+447700900001', { body: 'Signed & sealed = yes' })
        const result = await vonage.send(m, signal())
        assert.equal(result.outcome, 'accepted')
        const r = fake.requests.at(-1)
        assert.ok(r)
        assert.equal(r.auth, 'signed')
        assert.equal(r.params.api_secret, undefined)
        assert.match(r.params.timestamp ?? '', /^\d{10}$/)
        assert.ok(Math.abs(Number(r.params.timestamp) * 1000 - Date.now()) < 5000)
        const { sig, ...rest } = r.params
        assert.ok(sig)
        assert.equal(sig, signVonageParams(rest, 'sig-secret', method))
        assert.ok(sdkSms.verifySignature(sig, rest, 'sig-secret', ALGORITHM[method] as Algorithm))
      } finally {
        await vonage.stop?.()
        await fake.close()
      }
    })
  }

  test('a signature Vonage cannot verify is the instance fault provider_auth_failed', async () => {
    const fake = await startVonageFake({
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      signing: { secret: 'sig-secret', method: 'sha256' },
    })
    const vonage = provider(fake, { signatureSecret: 'sig-secret', signatureMethod: 'sha1' })
    try {
      const result = await vonage.send(sms(), signal())
      assert.deepEqual(
        { ...result, message: undefined },
        {
          outcome: 'retry',
          code: 'provider_auth_failed',
          fault: 'instance',
          message: undefined,
        },
      )
      assert.match(result.outcome === 'retry' ? (result.message ?? '') : '', /status 14/)
    } finally {
      await vonage.stop?.()
      await fake.close()
    }
  })
})

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

describe('Vonage send: every answer classified, never a throw', () => {
  let fake: VonageFake
  let vonage: SmsProvider
  before(async () => {
    fake = await startVonageFake({ apiKey: API_KEY, apiSecret: API_SECRET, receipts: 'manual' })
    vonage = provider(fake)
  })
  after(async () => {
    await vonage.stop?.()
    await fake.close()
  })

  const cases: [string, Parameters<VonageFake['next']>[0], Record<string, unknown>][] = [
    [
      'status 1 (throttled)',
      { status: '1', errorText: 'Throughput Rate Exceeded' },
      { outcome: 'retry', code: 'provider_rate_limited', after: 1000 },
    ],
    [
      'status 9 (quota)',
      { status: '9', errorText: 'Quota Exceeded - rejected' },
      { outcome: 'retry', code: 'provider_account_error', fault: 'instance' },
    ],
    [
      'status 29 (non-whitelisted)',
      { status: '29', errorText: 'Non White-listed Destination - rejected' },
      { outcome: 'rejected', code: 'unreachable_destination' },
    ],
    ['status 33 (deactivated)', { status: '33' }, { outcome: 'rejected', code: 'invalid_number' }],
    [
      'part 2 of 3 throttled',
      { status: '1', atPart: 2 },
      { outcome: 'retry', code: 'provider_rate_limited', after: 1000 },
    ],
    [
      'HTTP 401',
      { http: 401, body: '' },
      { outcome: 'retry', code: 'provider_auth_failed', fault: 'instance' },
    ],
    [
      'HTTP 403 HTML page',
      { http: 403, body: '<html>Forbidden</html>' },
      { outcome: 'retry', code: 'provider_auth_failed', fault: 'instance' },
    ],
    [
      'HTTP 429 with Retry-After',
      { http: 429, headers: { 'retry-after': '7' } },
      { outcome: 'retry', code: 'provider_rate_limited', after: 7000 },
    ],
    [
      'HTTP 429 without Retry-After',
      { http: 429 },
      { outcome: 'retry', code: 'provider_rate_limited', after: 1000 },
    ],
    [
      'HTTP 503 HTML page',
      { http: 503, body: '<html><body>Service Unavailable</body></html>' },
      { outcome: 'retry', code: 'provider_unavailable' },
    ],
    ['HTTP 408', { http: 408 }, { outcome: 'retry', code: 'provider_timeout' }],
    ['HTTP 404', { http: 404 }, { outcome: 'rejected', code: 'provider_rejected' }],
    [
      'HTTP 200 HTML page',
      { http: 200, body: '<html>maintenance</html>' },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      'HTTP 200 empty body',
      { http: 200, body: '', contentType: 'application/json' },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      'HTTP 200 JSON without messages',
      { http: 200, body: '{"message-count":"0"}', contentType: 'application/json' },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      'HTTP 200 with an empty messages list',
      {
        http: 200,
        body: '{"message-count":"0","messages":[]}',
        contentType: 'application/json',
      },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      'HTTP 200 whose message-count disagrees with its messages',
      {
        http: 200,
        body: '{"message-count":"2","messages":[{"status":"0","message-id":"A1","message-price":"0.03"}]}',
        contentType: 'application/json',
      },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      'HTTP 500 JSON',
      { http: 500, body: '{"error":"boom"}', contentType: 'application/json' },
      { outcome: 'retry', code: 'provider_unavailable' },
    ],
    [
      'HTTP 200 accepted without a message-id',
      {
        http: 200,
        body: '{"message-count":"1","messages":[{"status":"0"}]}',
        contentType: 'application/json',
      },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      'truncated JSON',
      { truncated: true },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      'no answer after the request was written',
      { hang: true },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      'connection reset after the request was written',
      { reset: true },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      'a body that drips and stops',
      { drip: true },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
  ]
  for (const [title, answer, expected] of cases) {
    test(title, async () => {
      fake.next(answer)
      // The worker's time limit for a send: 1 s here.
      const limit = AbortSignal.timeout(1000)
      const result = await vonage.send(sms('+447700900003', { body: 'y'.repeat(400) }), limit)
      const picked = Object.fromEntries(
        Object.keys(expected).map((k) => [k, result[k as keyof typeof result]]),
      )
      assert.deepEqual(picked, expected)
      if (result.outcome === 'accepted') assert.fail('accepted')
      if (title.startsWith('part 2'))
        assert.match(result.message ?? '', /\(1 of 3 parts accepted\)/)
    })
  }

  test('connection refused is a retry before anything was sent', async () => {
    const p = provider({ url: `http://127.0.0.1:${await closedPort()}` })
    const result = await p.send(sms(), signal())
    await p.stop?.()
    assert.equal(result.outcome, 'retry')
    assert.ok(result.outcome === 'retry' && result.code === 'provider_connection_error')
  })

  test("the worker's deadline already passed: a retry, nothing sent", async () => {
    const before = fake.requests.length
    const result = await vonage.send(sms(), AbortSignal.abort())
    assert.deepEqual(result, { outcome: 'retry', code: 'provider_timeout' })
    assert.equal(fake.requests.length, before)
  })

  test("the worker's deadline during the request: unknown, it had been written", async () => {
    const p = provider(fake)
    fake.next({ hang: true })
    const result = await p.send(sms(), AbortSignal.timeout(300))
    await p.stop?.()
    assert.equal(result.outcome, 'unknown')
  })

  test('keep-alive: consecutive sends reuse one connection', async () => {
    const p = provider(fake)
    const seen = fake.requests.length
    for (let i = 0; i < 6; i++) await p.send(sms(), signal())
    await p.stop?.()
    const ports = new Set(fake.requests.slice(seen).map((r) => r.remotePort))
    assert.equal(ports.size, 1, `${ports.size} connections for 6 sequential sends`)
  })
})

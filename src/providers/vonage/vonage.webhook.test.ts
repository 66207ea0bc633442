import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Vonage } from '@vonage/server-sdk'
import { MalformedWebhook, type SmsProvider, type WebhookRequest } from '../provider.js'
import { makeSms, startReceiver, type Receiver } from '../simulator/test-helpers.js'
import type { VonageWebhookFormat } from './vonage-fake-callbacks.js'
import { VONAGE_SIGNATURE_METHODS, type VonageSignatureMethod } from './vonage-signature.js'
import { createVonageProvider } from './vonage.provider.js'
import { startVonageFake, type VonageFake, type VonageFakeOptions } from './vonage.fake-server.js'

const API_KEY = 'abcd1234'
const API_SECRET = 'Secret123'
const TOKEN = 'tok_0123456789abcdefABCDEF'
const FORMATS: VonageWebhookFormat[] = ['GET', 'POST', 'POST-JSON']

const sdkSms = new Vonage({ apiKey: API_KEY, apiSecret: API_SECRET }).sms
type Algorithm = Parameters<typeof sdkSms.verifySignature>[3]
const ALGORITHM: Record<VonageSignatureMethod, string> = {
  md5hash: 'MD5HASH',
  md5: 'MD5HMAC',
  sha1: 'SHA1HMAC',
  sha256: 'SHA256HMAC',
  sha512: 'SHA512HMAC',
}

/** Every parameter of a received callback (query and form or JSON body), as Vonage sent it. */
function paramsOf(req: WebhookRequest): Record<string, string> {
  const url = new URL(req.url)
  const out = Object.fromEntries(url.searchParams)
  delete out.token
  if (req.rawBody.length === 0) return out
  const text = req.rawBody.toString('utf8')
  return text.startsWith('{')
    ? { ...out, ...(JSON.parse(text) as Record<string, string>) }
    : { ...out, ...Object.fromEntries(new URLSearchParams(text)) }
}

interface Rig {
  fake: VonageFake
  vonage: SmsProvider
  receiver: Receiver
  statusUrl: string
  inboundUrl: string
  /** Runs `action` and resolves with the callback it caused, `kind` set from its path. */
  capture(action: () => Promise<unknown>): Promise<WebhookRequest>
  close(): Promise<void>
}

async function rig(
  fakeOptions: Partial<VonageFakeOptions>,
  adapter: {
    signatureSecret?: string
    signatureMethod?: VonageSignatureMethod
    now?: () => number
  } = {},
): Promise<Rig> {
  const receiver = await startReceiver()
  const query = adapter.signatureSecret ? '' : `?token=${TOKEN}`
  const statusUrl = `${receiver.url}/status${query}`
  const inboundUrl = `${receiver.url}/inbound${query}`
  const fake = await startVonageFake({
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    receipts: 'manual',
    ...fakeOptions,
  })
  const vonage = createVonageProvider({
    name: 'vonage',
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    signatureSecret: adapter.signatureSecret,
    signatureMethod: adapter.signatureMethod ?? 'md5hash',
    baseUrl: fake.url,
    callbackUrls: { status: statusUrl, inbound: inboundUrl },
    callbackToken: TOKEN,
    now: adapter.now ?? Date.now,
  })
  return {
    fake,
    vonage,
    receiver,
    statusUrl,
    inboundUrl,
    async capture(action) {
      const seen = receiver.requests.length
      await action()
      const req = receiver.requests[seen]
      assert.ok(req, 'no callback arrived')
      const kind = new URL(req.url).pathname.split('/').at(-1) ?? ''
      return { ...req, kind }
    },
    async close() {
      await vonage.stop?.()
      await fake.close()
      await receiver.close()
    },
  }
}

/** Sends a message of `parts` parts and returns it with its part ids. */
async function sent(r: Rig, parts = 1, to = '+447700900001') {
  const body = parts === 1 ? 'hello' : 'z'.repeat(153 * parts)
  const sms = makeSms(to, { from: 'AcmeInc', body, segments: parts })
  const result = await r.vonage.send(sms, AbortSignal.timeout(5000))
  assert.ok(result.outcome === 'accepted', JSON.stringify(result))
  return { sms, ids: result.providerMessageIds }
}

describe('Vonage callbacks with the URL token (no signature secret)', () => {
  for (const format of FORMATS) {
    describe(`webhook format ${format}`, () => {
      let r: Rig
      before(async () => {
        r = await rig({ webhookFormat: format })
      })
      after(() => r.close())

      test('a delivery receipt becomes one status event for its part', async () => {
        const { sms, ids } = await sent(r)
        const req = await r.capture(() => r.fake.sendReceipt(ids[0], { status: 'delivered' }))
        assert.equal(req.method, format === 'GET' ? 'GET' : 'POST')
        const outcome = r.vonage.handleWebhook?.(req)
        assert.ok(outcome?.verified)
        assert.equal(outcome.answer, undefined)
        assert.equal(outcome.events.length, 1)
        const [event] = outcome.events
        assert.ok(event?.type === 'status')
        const ts = paramsOf(req)['message-timestamp'] ?? ''
        assert.deepEqual(event, {
          type: 'status',
          providerMessageId: ids[0],
          messageId: sms.id,
          status: 'delivered',
          providerCode: 'delivered',
          price: { amount: 0.0333, currency: 'EUR' },
          at: Date.parse(`${ts.replace(' ', 'T')}Z`),
        })
      })

      test('a negative receipt is undelivered with the code of its err-code', async () => {
        const { ids } = await sent(r)
        const req = await r.capture(() =>
          r.fake.sendReceipt(ids[0], { status: 'rejected', errCode: '6' }),
        )
        const outcome = r.vonage.handleWebhook?.(req)
        assert.ok(outcome?.verified)
        assert.deepEqual(
          outcome.events.map((e) => e.type === 'status' && [e.status, e.errorCode, e.providerCode]),
          [['undelivered', 'blocked_by_carrier', 'rejected/6']],
        )
      })

      test('an inbound SMS: E.164 numbers, the text, Vonage id', async () => {
        const req = await r.capture(() =>
          r.fake.sendInbound(r.inboundUrl, {
            msisdn: '447700900123',
            to: '447700900001',
            text: 'Hi there & welcome = ok',
          }),
        )
        const outcome = r.vonage.handleWebhook?.(req)
        assert.ok(outcome?.verified)
        const [event] = outcome.events
        assert.ok(event?.type === 'inbound')
        assert.equal(event.from, '+447700900123')
        assert.equal(event.to, '+447700900001')
        assert.equal(event.body, 'Hi there & welcome = ok')
        assert.equal(event.providerMessageId, paramsOf(req).messageId)
        assert.equal(event.concat, undefined)
      })

      test('the same callback at another path, host or kind is refused', async () => {
        const { ids } = await sent(r)
        const req = await r.capture(() => r.fake.sendReceipt(ids[0]))
        assert.ok(r.vonage.handleWebhook?.(req).verified)
        const url = new URL(req.url)
        const elsewhere = [
          { ...req, url: req.url.replace(url.host, 'elsewhere.example.net') },
          { ...req, url: req.url.replace('/status', '/other/status') },
          { ...req, url: req.url.replace('/status', '/inbound') },
          { ...req, kind: 'inbound' },
          { ...req, kind: 'other' },
          { ...req, url: 'not a url' },
        ]
        for (const bad of elsewhere) {
          assert.deepEqual(r.vonage.handleWebhook?.(bad), { verified: false }, bad.url)
        }
      })

      test('a wrong, missing or repeated token is refused', async () => {
        const { ids } = await sent(r)
        const req = await r.capture(() => r.fake.sendReceipt(ids[0]))
        const url = new URL(req.url)
        const variants = [
          url.href.replace(TOKEN, `${TOKEN.slice(0, -1)}x`),
          url.href.replace(`token=${TOKEN}`, 'token='),
          url.href.replace(`token=${TOKEN}`, 'tok=1'),
          url.href.replace(`token=${TOKEN}`, `token=${TOKEN}&token=${TOKEN}`),
        ]
        for (const href of variants) {
          assert.deepEqual(
            r.vonage.handleWebhook?.({ ...req, url: href }),
            { verified: false },
            href,
          )
        }
      })
    })
  }

  test('concatenated inbound parts carry ref, part and total', async () => {
    const r = await rig({})
    try {
      const req = await r.capture(() =>
        r.fake.sendInbound(r.inboundUrl, {
          msisdn: '447700900123',
          to: '447700900001',
          text: 'second half',
          concat: 'true',
          'concat-ref': '42',
          'concat-part': '2',
          'concat-total': '3',
        }),
      )
      const outcome = r.vonage.handleWebhook?.(req)
      assert.ok(outcome?.verified)
      const [event] = outcome.events
      assert.ok(event?.type === 'inbound')
      assert.deepEqual(event.concat, { ref: '42', part: 2, total: 3 })
    } finally {
      await r.close()
    }
  })

  test('a verified callback that cannot be read is malformed (400), not ignored', async () => {
    const r = await rig({})
    try {
      const base = {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }
      const form = (kind: string, body: string): WebhookRequest => ({
        ...base,
        kind,
        url: kind === 'status' ? r.statusUrl : r.inboundUrl,
        rawBody: Buffer.from(body),
      })
      const malformed = [
        form('status', 'status=delivered'), // no messageId
        form('status', 'messageId=ABC'), // no status
        form('status', 'messageId=&status=delivered'), // empty id
        form('status', 'messageId=A&messageId=B&status=delivered'), // repeated
        form('inbound', 'messageId=A&to=447700900001&text=x'), // no msisdn
        form('inbound', 'messageId=A&msisdn=447700900123&to=447700900001'), // no text
        form(
          'inbound',
          'messageId=A&msisdn=1&to=2&text=x&concat=true&concat-ref=1&concat-part=4&concat-total=3',
        ),
        form('inbound', 'messageId=A&msisdn=1&to=2&text=x&concat=true&concat-ref=1&concat-part=1'),
        { ...form('status', '{"messageId":'), headers: { 'content-type': 'application/json' } },
        {
          ...form('status', '{"messageId":"A","status":"delivered","price":{"x":1}}'),
          headers: { 'content-type': 'application/json' },
        },
      ]
      // A name both in the query and in the body is ambiguous.
      malformed.push({
        ...form('status', 'messageId=A&status=delivered'),
        url: `${r.statusUrl}&status=failed`,
      })
      for (const req of malformed) {
        assert.throws(() => r.vonage.handleWebhook?.(req), MalformedWebhook, req.rawBody.toString())
      }
      // A binary SMS has no text to keep: acknowledged without an event.
      const binary = form(
        'inbound',
        'messageId=A&msisdn=447700900123&to=447700900001&type=binary&data=00',
      )
      assert.deepEqual(r.vonage.handleWebhook?.(binary), { verified: true, events: [] })
    } finally {
      await r.close()
    }
  })
})

describe('Vonage signed callbacks (signature secret set)', () => {
  VONAGE_SIGNATURE_METHODS.forEach((method, i) => {
    const format = FORMATS[i % FORMATS.length] ?? 'POST'
    test(`${method} (${format}): verified, and the Vonage SDK agrees; tampered, refused`, async () => {
      const signing = { secret: 'sig-secret', method }
      const r = await rig(
        { signing, webhookFormat: format },
        { signatureSecret: 'sig-secret', signatureMethod: method },
      )
      try {
        const { sms, ids } = await sent(r)
        const req = await r.capture(() => r.fake.sendReceipt(ids[0]))
        assert.equal(new URL(req.url).searchParams.has('token'), false)
        const params = paramsOf(req)
        assert.ok(params.sig && params.timestamp && params.nonce)
        assert.ok(
          sdkSms.verifySignature(params.sig, params, 'sig-secret', ALGORITHM[method] as Algorithm),
        )
        const outcome = r.vonage.handleWebhook?.(req)
        assert.ok(outcome?.verified)
        assert.equal(outcome.events[0]?.type === 'status' && outcome.events[0].messageId, sms.id)

        // Tampered: another status word in place, signature unchanged.
        const tampered =
          format === 'GET'
            ? { ...req, url: req.url.replace('status=delivered', 'status=failed') }
            : {
                ...req,
                rawBody: Buffer.from(req.rawBody.toString().replace('delivered', 'failed')),
              }
        assert.notDeepEqual(tampered, req)
        assert.deepEqual(r.vonage.handleWebhook?.(tampered), { verified: false })
        // Another method than the account's does not verify.
        const other = method === 'sha256' ? 'sha512' : 'sha256'
        const wrong = createVonageProvider({
          name: 'vonage',
          apiKey: API_KEY,
          apiSecret: API_SECRET,
          signatureSecret: 'sig-secret',
          signatureMethod: other,
          baseUrl: r.fake.url,
          callbackUrls: { status: r.statusUrl, inbound: r.inboundUrl },
          callbackToken: TOKEN,
          now: Date.now,
        })
        assert.deepEqual(wrong.handleWebhook?.(req), { verified: false })
      } finally {
        await r.close()
      }
    })
  })

  test('an unsigned receipt is refused even with the right URL token', async () => {
    // The fake does not sign; the adapter has a secret. The token is ours, and does not help.
    const signing = { secret: 'sig-secret', method: 'md5hash' } as const
    const r = await rig({ signing, signCallbacks: false }, { signatureSecret: 'sig-secret' })
    try {
      const { ids } = await sent(r)
      const req = await r.capture(() => r.fake.sendReceipt(ids[0]))
      const withToken = { ...req, url: `${req.url}?token=${TOKEN}` }
      assert.deepEqual(r.vonage.handleWebhook?.(withToken), { verified: false })
      assert.deepEqual(r.vonage.handleWebhook?.(req), { verified: false })
    } finally {
      await r.close()
    }
  })

  test('a signed receipt replayed more than five minutes later is refused', async () => {
    let now = Date.now()
    const signing = { secret: 'sig-secret', method: 'sha256' } as const
    const r = await rig(
      { signing },
      { signatureSecret: 'sig-secret', signatureMethod: 'sha256', now: () => now },
    )
    try {
      const { ids } = await sent(r)
      const req = await r.capture(() => r.fake.sendReceipt(ids[0]))
      assert.ok(r.vonage.handleWebhook?.(req).verified)
      now += 6 * 60_000
      assert.deepEqual(r.vonage.handleWebhook?.(req), { verified: false })
    } finally {
      await r.close()
    }
  })

  test('signed inbound parts of a long SMS, JSON', async () => {
    const signing = { secret: 'sig-secret', method: 'sha512' } as const
    const r = await rig(
      { signing, webhookFormat: 'POST-JSON' },
      { signatureSecret: 'sig-secret', signatureMethod: 'sha512' },
    )
    try {
      const req = await r.capture(() =>
        r.fake.sendInbound(r.inboundUrl, {
          msisdn: '447700900123',
          to: '447700900001',
          text: 'Привет, part one',
          type: 'unicode',
          concat: 'true',
          'concat-ref': '7',
          'concat-part': '1',
          'concat-total': '2',
        }),
      )
      const outcome = r.vonage.handleWebhook?.(req)
      assert.ok(outcome?.verified)
      const [event] = outcome.events
      assert.ok(event?.type === 'inbound')
      assert.equal(event.body, 'Привет, part one')
      assert.deepEqual(event.concat, { ref: '7', part: 1, total: 2 })
    } finally {
      await r.close()
    }
  })
})

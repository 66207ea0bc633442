import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import twilio from 'twilio'
import type RequestClient from 'twilio/lib/base/RequestClient.js'
import { Agent } from 'undici'
import {
  createMessageProblems,
  messageResourceProblems,
} from '../../../test/support/fakes/twilio-openapi.js'
import { TwilioFake, twilioError } from '../../../test/support/fakes/twilio.server.js'
import type { OutboundSms, SendResult, SmsProvider, WebhookRequest } from '../provider.js'
import { createTwilioProvider, twilioSendForm } from './twilio.provider.js'

const ACCOUNT = `AC${'12ab'.repeat(8)}`
const TOKEN = 'b'.repeat(32)
const SERVICE = `MG${'9f'.repeat(16)}`
const STATUS_URL = 'https://sb.example.com/webhooks/twilio-us/status'
const NOW = Date.parse('2026-12-01T12:00:00Z')

let n = 0
function sms(to: string, o: Partial<OutboundSms> = {}): OutboundSms {
  return {
    id: `msg_${++n}`,
    to,
    from: '+15017122661',
    body: 'Your code is 123456',
    encoding: 'GSM-7',
    segments: 1,
    validUntil: NOW + 86_400_000,
    attempt: 1,
    ...o,
  }
}

const signal = (ms = 5000) => AbortSignal.timeout(ms)

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('Twilio adapter against a local Twilio-speaking server', () => {
  let fake: TwilioFake
  let adapter: SmsProvider

  before(async () => {
    fake = await TwilioFake.start({ accountSid: ACCOUNT, authToken: TOKEN })
    adapter = createTwilioProvider({
      name: 'twilio-us',
      accountSid: ACCOUNT,
      authToken: TOKEN,
      messagingServiceSid: SERVICE,
      baseUrl: fake.url,
      statusCallbackUrl: STATUS_URL,
      now: () => NOW,
    })
  })
  after(async () => {
    await adapter.stop?.()
    await fake.close()
  })

  const lastSend = () => {
    const s = fake.sends.at(-1)
    assert.ok(s, 'the fake received no request')
    return s
  }

  test('the request as sent: path, basic auth, form, our reference on the callback URL', async () => {
    const m = sms('+15558675310', { body: 'Hello & welcome: 100% = “ok” ✓ 😀' })
    const result = await adapter.send(m, signal())
    assert.equal(result.outcome, 'accepted')
    const s = lastSend()
    assert.equal(s.path, `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`)
    assert.equal(
      s.headers.authorization,
      `Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`,
    )
    assert.equal(s.headers['content-type'], 'application/x-www-form-urlencoded')
    assert.deepEqual(Object.fromEntries(s.form), {
      To: '+15558675310',
      From: '+15017122661',
      Body: 'Hello & welcome: 100% = “ok” ✓ 😀',
      StatusCallback: `${STATUS_URL}?ref=${m.id}`,
    })
    assert.deepEqual(createMessageProblems(s.form), [])
  })

  test('a message without from goes through the Messaging Service', async () => {
    const result = await adapter.send(sms('+15558675311', { from: null }), signal())
    assert.equal(result.outcome, 'accepted')
    const form = lastSend().form
    assert.equal(form.get('MessagingServiceSid'), SERVICE)
    assert.equal(form.has('From'), false)
    assert.deepEqual(createMessageProblems(form), [])
  })

  test('without from or a Messaging Service: rejected without asking Twilio', async () => {
    const bare = createTwilioProvider({
      name: 'bare',
      accountSid: ACCOUNT,
      authToken: TOKEN,
      baseUrl: fake.url,
      statusCallbackUrl: STATUS_URL,
      now: () => NOW,
    })
    const before = fake.sends.length
    assert.deepEqual(await bare.send(sms('+15558675312', { from: null }), signal()), {
      outcome: 'rejected',
      code: 'provider_rejected',
      message: 'no sender: the message has no from and the instance no messagingServiceSid',
    })
    assert.equal(fake.sends.length, before)
    await bare.stop?.()
  })

  test('ValidityPeriod only when the message must leave sooner than Twilio would hold it', () => {
    const o = { messagingServiceSid: undefined, statusCallbackUrl: STATUS_URL }
    const vp = (validForMs: number) =>
      twilioSendForm(sms('+15558675313', { validUntil: NOW + validForMs }), o, NOW)?.get(
        'ValidityPeriod',
      )
    assert.equal(vp(36_000_000), null) // Twilio's default and maximum: nothing to say
    assert.equal(vp(86_400_000), null)
    assert.equal(vp(35_999_999), '35999') // rounded down: never past our validity
    assert.equal(vp(600_000), '600')
    assert.equal(vp(1_500), '1')
    assert.equal(vp(200), '1') // Twilio's minimum
    for (const ms of [35_999_999, 600_000, 200]) {
      const form = twilioSendForm(sms('+15558675313', { validUntil: NOW + ms }), o, NOW)
      assert.ok(form)
      assert.deepEqual(createMessageProblems(form), [])
    }
    const withQuery = twilioSendForm(
      sms('+15558675313'),
      { statusCallbackUrl: `${STATUS_URL}?token=abc` },
      NOW,
    )
    assert.match(withQuery?.get('StatusCallback') ?? '', /\?token=abc&ref=msg_\d+$/)
  })

  test('the sent ValidityPeriod reaches Twilio', async () => {
    await adapter.send(sms('+15558675314', { validUntil: NOW + 300_000 }), signal())
    assert.equal(lastSend().form.get('ValidityPeriod'), '300')
    assert.deepEqual(createMessageProblems(lastSend().form), [])
  })

  test("the fake answers with the spec's message resource", async () => {
    const res = await fetch(`${fake.url}/2010-04-01/Accounts/${ACCOUNT}/Messages.json`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ To: '+15558675315', MessagingServiceSid: SERVICE, Body: 'x' }),
    })
    assert.equal(res.status, 201)
    assert.deepEqual(messageResourceProblems(await res.json()), [])
  })

  test("the twilio SDK's own client sends what the adapter sends, and reads the fake's answers", async () => {
    // The SDK's documented extension point: a RequestClient that sends to another origin.
    class LocalRequestClient extends twilio.RequestClient {
      override request<TData>(opts: RequestClient.RequestOptions<TData>) {
        const u = new URL(opts.uri)
        const base = new URL(fake.url)
        u.protocol = base.protocol
        u.host = base.host
        return super.request<TData>({ ...opts, uri: u.toString() })
      }
    }
    const client = twilio(ACCOUNT, TOKEN, {
      httpClient: new LocalRequestClient(),
      autoRetry: false,
    })
    const m = sms('+15558675323', { body: 'Same text & same = signs ✓' })
    const created = await client.messages.create({
      to: m.to,
      from: m.from ?? '',
      body: m.body,
      statusCallback: `${STATUS_URL}?ref=${m.id}`,
    })
    assert.match(created.sid, /^SM[0-9a-f]{32}$/)
    assert.equal(created.status, 'queued')
    assert.ok(created.dateCreated instanceof Date && !Number.isNaN(created.dateCreated.getTime()))
    const bySdk = lastSend()
    assert.equal((await adapter.send(m, signal())).outcome, 'accepted')
    const byAdapter = lastSend()
    assert.equal(byAdapter.path, bySdk.path)
    assert.equal(byAdapter.headers.authorization, bySdk.headers.authorization)
    assert.equal(byAdapter.headers['content-type'], bySdk.headers['content-type'])
    const decoded = (f: URLSearchParams) =>
      Object.fromEntries([...f].sort(([a], [b]) => (a < b ? -1 : 1)))
    assert.deepEqual(decoded(byAdapter.form), decoded(bySdk.form))
    // Twilio's error body becomes the SDK's RestException, as from the real API.
    fake.answerFor('+15558675324', twilioError(400, 21211, "The 'To' number is not valid."))
    await assert.rejects(
      client.messages.create({ to: '+15558675324', from: m.from ?? '', body: 'x' }),
      (err: { status?: number; code?: number; moreInfo?: string }) =>
        err.status === 400 &&
        err.code === 21211 &&
        err.moreInfo === 'https://www.twilio.com/docs/errors/21211',
    )
    fake.answerFor('+15558675324', undefined)
  })

  test("Twilio's error answers over HTTP, classified", async () => {
    const cases: [string, Parameters<typeof fake.answerFor>[1], Partial<SendResult>][] = [
      [
        '+15550000001',
        twilioError(400, 21211, 'invalid'),
        { outcome: 'rejected', code: 'invalid_number' },
      ],
      [
        '+15550000002',
        twilioError(400, 21614, 'not mobile'),
        { outcome: 'rejected', code: 'invalid_number' },
      ],
      [
        '+15550000003',
        twilioError(400, 21610, 'unsubscribed'),
        { outcome: 'rejected', code: 'recipient_opted_out', suppress: true },
      ],
      [
        '+15550000004',
        { kind: 'error', status: 429, code: 20429, message: 'Too Many Requests', retryAfter: '2' },
        { outcome: 'retry', code: 'provider_rate_limited', after: 2000 },
      ],
      [
        '+15550000005',
        twilioError(503, 20503, 'Service unavailable'),
        { outcome: 'retry', code: 'provider_unavailable' },
      ],
      [
        '+15550000006',
        twilioError(403, 20003, 'Permission denied'),
        { outcome: 'retry', code: 'provider_auth_failed', fault: 'instance' },
      ],
    ]
    for (const [to, answer, expected] of cases) {
      fake.answerFor(to, answer)
      const result = await adapter.send(sms(to), signal())
      for (const [k, v] of Object.entries(expected)) {
        assert.deepEqual(result[k as keyof SendResult], v, `${to} ${k}`)
      }
      fake.answerFor(to, undefined)
    }
    // The fake's own checks are the real API's: an invalid To is 21211.
    assert.equal((await adapter.send(sms('+1234'), signal())).outcome, 'rejected')
  })

  test('wrong credentials are a fault of the instance', async () => {
    const wrong = createTwilioProvider({
      name: 'wrong',
      accountSid: ACCOUNT,
      authToken: 'not-the-token',
      baseUrl: fake.url,
      statusCallbackUrl: STATUS_URL,
      now: () => NOW,
    })
    assert.deepEqual(await wrong.send(sms('+15558675316'), signal()), {
      outcome: 'retry',
      code: 'provider_auth_failed',
      fault: 'instance',
      message: 'twilio 20003 (HTTP 401)',
    })
    await wrong.stop?.()
  })

  test('HTML pages, empty and truncated bodies are classified, never thrown', async () => {
    const html = '<html><body><h1>502 Bad Gateway</h1></body></html>'
    const rows: [Parameters<typeof fake.answerNext>[0], SendResult][] = [
      [
        { kind: 'raw', status: 502, body: html },
        { outcome: 'retry', code: 'provider_unavailable', message: 'HTTP 502' },
      ],
      [
        { kind: 'raw', status: 400, body: html },
        { outcome: 'rejected', code: 'provider_rejected', message: 'HTTP 400' },
      ],
      [
        { kind: 'raw', status: 201, body: '', contentType: 'application/json' },
        { outcome: 'unknown', code: 'provider_outcome_unknown', message: 'HTTP 201 without a SID' },
      ],
      [
        { kind: 'raw', status: 201, body: '{"sid": "SM0123', contentType: 'application/json' },
        { outcome: 'unknown', code: 'provider_outcome_unknown', message: 'HTTP 201 without a SID' },
      ],
      [
        { kind: 'truncate', status: 201, body: '{"sid": "SM0123' },
        {
          outcome: 'unknown',
          code: 'provider_outcome_unknown',
          message: 'HTTP 201, UND_ERR_SOCKET',
        },
      ],
      [
        { kind: 'truncate', status: 503, body: '{"code": 20' },
        { outcome: 'retry', code: 'provider_unavailable', message: 'HTTP 503' },
      ],
      // The request was read, then the connection dropped: Twilio may have the message.
      [
        { kind: 'reset' },
        { outcome: 'unknown', code: 'provider_outcome_unknown', message: 'UND_ERR_SOCKET' },
      ],
    ]
    for (const [answer, expected] of rows) {
      fake.answerNext(answer)
      assert.deepEqual(await adapter.send(sms('+15558675317'), signal()), expected, answer.kind)
    }
  })

  test('no answer in time after the request was written: the outcome is unknown', async () => {
    fake.answerNext({ kind: 'hang' })
    assert.deepEqual(await adapter.send(sms('+15558675318'), signal(200)), {
      outcome: 'unknown',
      code: 'provider_outcome_unknown',
      message: 'timeout',
    })
    // A body that drips past the deadline after a 201: the message is Twilio's, untracked.
    fake.answerNext({
      kind: 'drip',
      status: 201,
      body: '{"sid":"SM00000000000000000000000000000000"}',
      intervalMs: 50,
    })
    assert.deepEqual(await adapter.send(sms('+15558675318'), signal(300)), {
      outcome: 'unknown',
      code: 'provider_outcome_unknown',
      message: 'HTTP 201, timeout',
    })
  })

  test('a request that never left (aborted before, or queued behind a busy pool) is a plain timeout', async () => {
    const aborted = AbortSignal.abort()
    assert.deepEqual(await adapter.send(sms('+15558675319'), aborted), {
      outcome: 'retry',
      code: 'provider_timeout',
    })
    // One connection, held by a hanging request: the second waits in the pool, unwritten.
    const pool = new Agent({ connections: 1, pipelining: 1 })
    const narrow = createTwilioProvider({
      name: 'narrow',
      accountSid: ACCOUNT,
      authToken: TOKEN,
      baseUrl: fake.url,
      statusCallbackUrl: STATUS_URL,
      now: () => NOW,
      dispatcher: pool,
    })
    fake.answerNext({ kind: 'hang' })
    const first = narrow.send(sms('+15558675319'), signal(600))
    await new Promise((r) => setTimeout(r, 100))
    assert.deepEqual(await narrow.send(sms('+15558675319'), signal(200)), {
      outcome: 'retry',
      code: 'provider_timeout',
    })
    assert.equal((await first).outcome, 'unknown')
    await pool.destroy()
  })

  test('connection refused is a retry that never reached Twilio', async () => {
    const port = await closedPort()
    const nowhere = createTwilioProvider({
      name: 'nowhere',
      accountSid: ACCOUNT,
      authToken: TOKEN,
      baseUrl: `http://127.0.0.1:${port}`,
      statusCallbackUrl: STATUS_URL,
      now: () => NOW,
    })
    assert.deepEqual(await nowhere.send(sms('+15558675320'), signal()), {
      outcome: 'retry',
      code: 'provider_connection_error',
      message: 'ECONNREFUSED',
    })
    await nowhere.stop?.()
  })

  test('sends share keep-alive connections', async () => {
    const fresh = await TwilioFake.start({ accountSid: ACCOUNT, authToken: TOKEN, callbacks: [] })
    const p = createTwilioProvider({
      name: 'keepalive',
      accountSid: ACCOUNT,
      authToken: TOKEN,
      baseUrl: fresh.url,
      statusCallbackUrl: STATUS_URL,
      now: () => NOW,
    })
    try {
      for (let i = 0; i < 20; i++)
        assert.equal((await p.send(sms('+15558675321'), signal())).outcome, 'accepted')
      // One, or two when a send starts before the previous answer's socket is free again.
      assert.ok(fresh.connections <= 2, `${fresh.connections} connections for 20 sends`)
    } finally {
      await p.stop?.()
      await fresh.close()
    }
  })

  test("the fake's signed status callbacks verify and report our message", async () => {
    const receiver = await TwilioFake.start({ accountSid: ACCOUNT, authToken: TOKEN })
    // Callbacks go to a local URL standing for PUBLIC_URL; the fake's own 404 answer is fine.
    const url = `${receiver.url}/webhooks/twilio-us/status`
    const p = createTwilioProvider({
      name: 'twilio-us',
      accountSid: ACCOUNT,
      authToken: TOKEN,
      baseUrl: receiver.url,
      statusCallbackUrl: url,
      now: () => NOW,
    })
    try {
      receiver.reportFor('+15558675322', [
        { status: 'sent' },
        { status: 'undelivered', errorCode: '30006' },
      ])
      const m = sms('+15558675322')
      const sent = await p.send(m, signal())
      assert.equal(sent.outcome, 'accepted')
      await receiver.callbacksSettled()
      const events = receiver.callbacks.map((cb) => {
        const req: WebhookRequest = {
          kind: 'status',
          url: cb.url,
          method: 'POST',
          headers: { 'x-twilio-signature': cb.signature },
          rawBody: Buffer.from(new URLSearchParams(cb.params).toString()),
        }
        const o = p.handleWebhook?.(req)
        assert.ok(o?.verified)
        return o.events
      })
      assert.deepEqual(
        events
          .flat()
          .map(
            (e) => e.type === 'status' && [e.messageId, e.providerMessageId, e.status, e.errorCode],
          ),
        [
          [m.id, sent.outcome === 'accepted' && sent.providerMessageIds[0], 'sent', undefined],
          [
            m.id,
            sent.outcome === 'accepted' && sent.providerMessageIds[0],
            'undelivered',
            'unreachable_destination',
          ],
        ],
      )
    } finally {
      await p.stop?.()
      await receiver.close()
    }
  })
})

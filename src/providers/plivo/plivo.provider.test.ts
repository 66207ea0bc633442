/**
 * The Plivo adapter's sends against a local server that speaks Plivo's Message API: the
 * request exactly as documented (and as Plivo's own SDK sends it), keep-alive, and every bad
 * answer or network fault ending as a classified outcome.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after, before, test } from 'node:test'
import plivo from 'plivo'
import type { SendResult, SmsProvider } from '../provider.js'
import { startPlivoFake, type PlivoFake } from './plivo.fake-server.js'
import { createPlivoProvider, type PlivoProviderOptions } from './plivo.provider.js'
import { AUTH_ID, AUTH_TOKEN, makeSms } from './plivo.test-helpers.js'

const CALLBACKS = {
  status: 'https://sb.example.com/webhooks/plivo/status',
  inbound: 'https://sb.example.com/webhooks/plivo/inbound',
}
const POWERPACK = '5ec4c8c9-cd74-42b5-9e41-0d7670d6bb46'

let fake: PlivoFake
let provider: SmsProvider
const providers: SmsProvider[] = []
const make = (o: Partial<PlivoProviderOptions> = {}): SmsProvider => {
  const p = createPlivoProvider({
    name: 'plivo',
    authId: AUTH_ID,
    authToken: AUTH_TOKEN,
    baseUrl: fake.url,
    callbackUrls: CALLBACKS,
    ...o,
  })
  providers.push(p)
  return p
}
const signal = (ms = 5000) => AbortSignal.timeout(ms)
const lastRequest = () => fake.requests.at(-1)

before(async () => {
  fake = await startPlivoFake({ authId: AUTH_ID, authToken: AUTH_TOKEN })
  provider = make()
})
after(async () => {
  for (const p of providers) await p.stop?.()
  await fake.close()
})

test('the request is the documented one: JSON POST to /v1/Account/{auth_id}/Message/ with basic auth', async () => {
  const sms = makeSms('+14155556789', { body: 'Grüße € 😀', encoding: 'UCS-2' })
  const result = await provider.send(sms, signal())
  assert.equal(result.outcome, 'accepted')
  const req = lastRequest()
  assert.ok(req)
  assert.equal(req.method, 'POST')
  assert.equal(req.path, `/v1/Account/${AUTH_ID}/Message/`)
  assert.equal(
    req.headers.authorization,
    `Basic ${Buffer.from(`${AUTH_ID}:${AUTH_TOKEN}`).toString('base64')}`,
  )
  assert.match(req.headers['content-type'] ?? '', /^application\/json/)
  const { message_expiry: expiry, ...rest } = req.json ?? {}
  assert.deepEqual(rest, {
    src: '+14155550100',
    dst: '+14155556789',
    text: 'Grüße € 😀',
    type: 'sms',
    url: CALLBACKS.status,
    method: 'POST',
  })
  assert.ok(typeof expiry === 'number' && expiry > 3590 && expiry <= 3600, String(expiry))
  assert.equal(req.status, 202)
})

test("the adapter's request matches what Plivo's own SDK sends for the same message", async () => {
  const sms = makeSms('+14155556789', { validUntil: Date.now() + 86_400_000 })
  await provider.send(sms, signal())
  const ours = lastRequest()
  const client = new plivo.Client(AUTH_ID, AUTH_TOKEN, { url: `${fake.url}/v1/Account/${AUTH_ID}` })
  const answer = (await client.messages.create(sms.from, sms.to, sms.body, {
    type: 'sms',
    url: CALLBACKS.status,
    method: 'POST',
  })) as { messageUuid?: unknown }
  assert.ok(Array.isArray(answer.messageUuid), 'the SDK read the fake answer as Plivo`s')
  const sdk = lastRequest()
  assert.ok(ours && sdk && ours !== sdk)
  assert.equal(ours.path, sdk.path)
  assert.equal(ours.headers.authorization, sdk.headers.authorization)
  assert.deepEqual(ours.json, sdk.json)
})

test('message_expiry carries what is left of the validity, within Plivo bounds', async () => {
  const expiryFor = async (leftMs: number) => {
    await provider.send(makeSms('+14155556789', { validUntil: Date.now() + leftMs }), signal())
    return lastRequest()?.json?.message_expiry
  }
  const minute = await expiryFor(60_000)
  assert.ok(minute === 60 || minute === 59, String(minute))
  assert.equal(await expiryFor(1500), 5)
  assert.equal(await expiryFor(-5000), 5)
  assert.equal(await expiryFor(10_799_000 + 900), 10_799)
  assert.equal(await expiryFor(3 * 3_600_000 + 60_000), undefined, "Plivo's default covers it")
})

test('without a sender: powerpack_uuid when configured, else rejected before any request', async () => {
  const withPowerpack = make({ powerpackUuid: POWERPACK })
  const r = await withPowerpack.send(makeSms('+14155556789', { from: null }), signal())
  assert.equal(r.outcome, 'accepted')
  assert.equal(lastRequest()?.json?.powerpack_uuid, POWERPACK)
  assert.equal(lastRequest()?.json?.src, undefined)
  // A message's own sender wins: Plivo takes src or powerpack_uuid, never both.
  await withPowerpack.send(makeSms('+14155556789'), signal())
  assert.equal(lastRequest()?.json?.src, '+14155550100')
  assert.equal(lastRequest()?.json?.powerpack_uuid, undefined)

  const before = fake.requests.length
  const none = await provider.send(makeSms('+14155556789', { from: null }), signal())
  assert.deepEqual(
    { outcome: none.outcome, code: none.outcome === 'rejected' ? none.code : '' },
    { outcome: 'rejected', code: 'provider_rejected' },
  )
  assert.equal(fake.requests.length, before)
})

test('sends reuse one keep-alive connection', async () => {
  const p = make()
  const before = fake.connections()
  for (let i = 0; i < 20; i++) {
    assert.equal((await p.send(makeSms('+14155556789'), signal())).outcome, 'accepted')
  }
  assert.equal(fake.connections() - before, 1)
})

const brief = (r: SendResult) =>
  r.outcome === 'accepted'
    ? { outcome: r.outcome }
    : {
        outcome: r.outcome,
        code: r.code,
        ...(r.outcome === 'retry' && r.fault ? { fault: r.fault } : {}),
        ...(r.outcome === 'retry' && r.after !== undefined ? { after: r.after } : {}),
      }

test('refused credentials and an unknown Auth ID are a fault of the instance', async () => {
  const wrongToken = make({ authToken: 'wrong' })
  assert.deepEqual(brief(await wrongToken.send(makeSms('+14155556789'), signal())), {
    outcome: 'retry',
    code: 'provider_auth_failed',
    fault: 'instance',
  })
  assert.equal(lastRequest()?.status, 401)
  const unknownAccount = make({ authId: 'MAYYYYYYYYYYYYYYYYYY' })
  assert.deepEqual(brief(await unknownAccount.send(makeSms('+14155556789'), signal())), {
    outcome: 'retry',
    code: 'provider_auth_failed',
    fault: 'instance',
  })
  assert.equal(lastRequest()?.status, 404)
})

test('documented error answers of the fake are classified', async () => {
  const cases: [Parameters<PlivoFake['next']>[0], ReturnType<typeof brief>][] = [
    [
      {
        answer: {
          kind: 'http',
          status: 429,
          headers: { 'retry-after': '2' },
          body: '{"error":"too many requests"}',
        },
      },
      { outcome: 'retry', code: 'provider_rate_limited', after: 2000 },
    ],
    [
      {
        answer: {
          kind: 'http',
          status: 500,
          contentType: 'text/html',
          body: '<html>Internal Server Error</html>',
        },
      },
      { outcome: 'retry', code: 'provider_unavailable' },
    ],
    [
      { answer: { kind: 'http', status: 503, body: '' } },
      { outcome: 'retry', code: 'provider_unavailable' },
    ],
    [
      {
        answer: {
          kind: 'http',
          status: 202,
          contentType: 'text/html',
          body: '<html>queued</html>',
        },
      },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      { answer: { kind: 'http', status: 202, body: '' } },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      { answer: { kind: 'http', status: 202, body: '{"api_id":"x","message_uuid":["db3c' } },
      { outcome: 'unknown', code: 'provider_outcome_unknown' },
    ],
    [
      {
        answer: { kind: 'http', status: 400, body: '{"api_id":"x","error":"Insufficient credit"}' },
      },
      { outcome: 'retry', code: 'provider_account_error', fault: 'instance' },
    ],
  ]
  for (const [rule, expected] of cases) {
    fake.next(rule)
    assert.deepEqual(
      brief(await provider.send(makeSms('+14155556789'), signal())),
      expected,
      JSON.stringify(rule),
    )
  }
})

test("the fake's own 400 for a bad destination is invalid_number", async () => {
  const r = await provider.send(makeSms('+1234'), signal())
  assert.deepEqual(brief(r), { outcome: 'rejected', code: 'invalid_number' })
  assert.equal(lastRequest()?.status, 400)
})

test('a hang after the request was written is an unknown outcome, not a retry', async () => {
  fake.next({ answer: { kind: 'hang' } })
  assert.deepEqual(brief(await provider.send(makeSms('+14155556789'), signal(300))), {
    outcome: 'unknown',
    code: 'provider_outcome_unknown',
  })
})

test('a connection closed without an answer is an unknown outcome', async () => {
  fake.next({ answer: { kind: 'destroy' } })
  assert.deepEqual(brief(await provider.send(makeSms('+14155556789'), signal())), {
    outcome: 'unknown',
    code: 'provider_outcome_unknown',
  })
})

test('a slow drip: a 202 body that never finishes is unknown, a 503 stays a retry', async () => {
  const body = JSON.stringify({ api_id: 'x', message: 'message(s) queued', message_uuid: ['u'] })
  fake.next({ answer: { kind: 'drip', status: 202, body, everyMs: 50 } })
  assert.deepEqual(brief(await provider.send(makeSms('+14155556789'), signal(400))), {
    outcome: 'unknown',
    code: 'provider_outcome_unknown',
  })
  fake.next({
    answer: { kind: 'drip', status: 503, body: '<html>unavailable</html>', everyMs: 50 },
  })
  assert.deepEqual(brief(await provider.send(makeSms('+14155556789'), signal(400))), {
    outcome: 'retry',
    code: 'provider_unavailable',
  })
})

test('connection refused is a retry: nothing reached Plivo', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
  const refused = make({ baseUrl: `http://127.0.0.1:${port}` })
  assert.deepEqual(brief(await refused.send(makeSms('+14155556789'), signal())), {
    outcome: 'retry',
    code: 'provider_connection_error',
  })
})

test('a signal already aborted sends nothing and is a timeout retry', async () => {
  const before = fake.requests.length
  const controller = new AbortController()
  controller.abort()
  assert.deepEqual(brief(await provider.send(makeSms('+14155556789'), controller.signal)), {
    outcome: 'retry',
    code: 'provider_timeout',
  })
  assert.equal(fake.requests.length, before)
})

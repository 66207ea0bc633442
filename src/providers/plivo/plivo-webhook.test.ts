/**
 * Plivo callbacks through the adapter: status callbacks per part of a long message (under the
 * id recorded at send), prices, error codes, inbound SMS, GET callbacks, tampering and
 * malformed callbacks, as the local Plivo-speaking server sends them, signed V2 and V3.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import plivo from 'plivo'
import {
  MalformedWebhook,
  type ProviderEvent,
  type SmsProvider,
  type WebhookRequest,
} from '../provider.js'
import { signCallback, startPlivoFake, type PlivoFake } from './plivo.fake-server.js'
import { createPlivoProvider } from './plivo.provider.js'
import { parsePartInfo, parsePlivoTime, toE164 } from './plivo-webhook.js'
import {
  AUTH_ID,
  AUTH_TOKEN,
  makeSms,
  startCallbackReceiver,
  type CallbackReceiver,
} from './plivo.test-helpers.js'

let receiver: CallbackReceiver
let fake: PlivoFake
let provider: SmsProvider
let status: string

type Status = Extract<ProviderEvent, { type: 'status' }>

before(async () => {
  receiver = await startCallbackReceiver()
  fake = await startPlivoFake({ authId: AUTH_ID, authToken: AUTH_TOKEN, rate: '0.00650' })
  status = `${receiver.url}/webhooks/plivo/status`
  provider = createPlivoProvider({
    name: 'plivo',
    authId: AUTH_ID,
    authToken: AUTH_TOKEN,
    baseUrl: fake.url,
    callbackUrls: { status, inbound: `${receiver.url}/webhooks/plivo/inbound` },
  })
})
after(async () => {
  await provider.stop?.()
  await fake.close()
  await receiver.close()
})

const handle = (req: WebhookRequest) => {
  const outcome = provider.handleWebhook?.(req)
  assert.ok(outcome?.verified, 'callback refused')
  return outcome.events
}

/** Sends `body` to `to`, waits for its callbacks and returns them with the uuid answered. */
async function sendAndReport(to: string, body: string) {
  const from = receiver.requests.length
  const result = await provider.send(makeSms(to, { body }), AbortSignal.timeout(5000))
  assert.equal(result.outcome, 'accepted')
  await fake.settled()
  const requests = receiver.requests.slice(from)
  return {
    uuid: result.providerMessageIds[0],
    requests,
    events: requests.flatMap(handle) as Status[],
  }
}

const LONG = 'Plivo reports each part of a long message on its own. '.repeat(6) // 324 chars: 3 parts

test('a long message: each part reported under the uuid answered at send, with its own id and place', async () => {
  const { uuid, requests, events } = await sendAndReport('+14155550001', LONG)
  assert.equal(requests.length, 6, 'sent and delivered for each of 3 parts')
  assert.ok(events.every((e) => e.type === 'status' && e.providerMessageId === uuid))
  const finals = events.filter((e) => e.status === 'delivered')
  assert.deepEqual(
    finals.map((e) => [e.part?.number, e.part?.total]),
    [
      [1, 3],
      [2, 3],
      [3, 3],
    ],
  )
  assert.equal(new Set(finals.map((e) => e.part?.id)).size, 3)
  assert.equal(finals[0]?.part?.id, uuid, 'the first part is the message itself')
  // Each part's price: Plivo's TotalAmount for that part, in USD.
  assert.deepEqual(
    finals.map((e) => e.price),
    Array.from({ length: 3 }, () => ({ amount: 0.0065, currency: 'USD' })),
  )
  assert.ok(events.filter((e) => e.status === 'sent').length === 3)
  for (const e of events) assert.ok(Math.abs(e.at - Date.now()) < 60_000, 'time from the callback')
})

test('one part undelivered: that part reports undelivered with its mapped error code', async () => {
  fake.steer('+14155550002', { delivery: { status: 'undelivered', errorCode: '30', part: 2 } })
  const { events } = await sendAndReport('+14155550002', LONG)
  const finals = events.filter((e) => e.status !== 'sent')
  assert.deepEqual(
    finals.map((e) => [e.part?.number, e.status, e.errorCode, e.providerCode]),
    [
      [1, 'delivered', undefined, 'delivered'],
      [2, 'undelivered', 'blocked_by_carrier', 'undelivered:30'],
      [3, 'delivered', undefined, 'delivered'],
    ],
  )
})

test('a failed message (Plivo never sent it) reports failed, price 0, its code mapped', async () => {
  fake.steer('+14155550003', { delivery: { status: 'failed', errorCode: '420' } })
  const { events } = await sendAndReport('+14155550003', 'short')
  assert.deepEqual(
    events.map((e) => [e.status, e.errorCode, e.part, e.price]),
    [
      ['sent', undefined, undefined, undefined],
      ['failed', 'validity_expired', undefined, { amount: 0, currency: 'USD' }],
    ],
  )
  assert.equal(events[0]?.providerCode, 'queued')
})

test('a long message reported as one (Plivo today: ParentMessageUUID = MessageUUID) is one event with the whole price', async () => {
  const whole = await startPlivoFake({ authId: AUTH_ID, authToken: AUTH_TOKEN, reports: 'whole' })
  const p = createPlivoProvider({
    name: 'plivo',
    authId: AUTH_ID,
    authToken: AUTH_TOKEN,
    baseUrl: whole.url,
    callbackUrls: { status, inbound: status },
  })
  try {
    const from = receiver.requests.length
    const r = await p.send(makeSms('+14155550004', { body: LONG }), AbortSignal.timeout(5000))
    assert.equal(r.outcome, 'accepted')
    await whole.settled()
    const events = receiver.requests.slice(from).flatMap(handle) as Status[]
    const final = events.at(-1)
    assert.equal(final?.status, 'delivered')
    assert.equal(final?.providerMessageId, r.providerMessageIds[0])
    assert.equal(final?.part, undefined)
    assert.deepEqual(final?.price, { amount: 0.015, currency: 'USD' })
  } finally {
    await p.stop?.()
    await whole.close()
  }
})

test('inbound SMS: E.164 numbers with +, the text exactly, the uuid as provider id', async () => {
  const cb = await fake.sendInbound(`${receiver.url}/webhooks/plivo/inbound`, {
    from: '+4915123456789',
    to: '+14155550100',
    text: 'Grüße 😀 a+b&c=d',
  })
  const req = receiver.requests.at(-1)
  assert.ok(req && req.kind === 'inbound')
  const events = handle(req)
  assert.equal(events.length, 1)
  const e = events[0]
  assert.ok(e?.type === 'inbound')
  assert.deepEqual(
    { id: e.providerMessageId, from: e.from, to: e.to, body: e.body },
    {
      id: cb.params.MessageUUID,
      from: '+4915123456789',
      to: '+14155550100',
      body: 'Grüße 😀 a+b&c=d',
    },
  )
  // The SDK accepts the fake's signatures of what it sent.
  assert.ok(
    plivo.validateV3Signature(
      'POST',
      req.url,
      cb.headers['X-Plivo-Signature-V3-Nonce'] ?? '',
      AUTH_TOKEN,
      cb.headers['X-Plivo-Signature-V3'] ?? '',
      cb.params,
    ),
  )
})

test('inbound MMS or WhatsApp is acknowledged without an event; an SMS without Text is malformed', async () => {
  await fake.sendInbound(`${receiver.url}/webhooks/plivo/inbound`, {
    from: '+4915123456789',
    to: '+14155550100',
    text: 'pic',
    type: 'mms',
  })
  assert.deepEqual(handle(receiver.requests.at(-1) as WebhookRequest), [])
  const params = { From: '4915123456789', To: '14155550100', MessageUUID: 'u-1', Type: 'sms' }
  assert.throws(() => provider.handleWebhook?.(signed('inbound', 'POST', params)), MalformedWebhook)
})

/** A callback as the route hands it over, signed for `params`. */
function signed(
  kind: string,
  method: 'GET' | 'POST',
  params: Record<string, string>,
  sign?: 'v2' | 'v3',
): WebhookRequest {
  const base = `${receiver.url}/webhooks/plivo/${kind}`
  const url = method === 'GET' ? `${base}?${new URLSearchParams(params).toString()}` : base
  return {
    kind,
    url,
    method,
    headers: signCallback(AUTH_TOKEN, method, url, method === 'POST' ? params : {}, sign),
    rawBody: Buffer.from(method === 'POST' ? new URLSearchParams(params).toString() : ''),
  }
}

const DELIVERED = {
  MessageUUID: 'aa3ce55a-7f1d-11e1-8ea7-1231380bc196',
  Status: 'delivered',
  TotalAmount: '0.00650',
  DeliveryReportTime: '2026-03-01 10:20:30.123456',
}

test('GET callbacks are read from the query and verified over it', () => {
  const events = handle(signed('status', 'GET', DELIVERED))
  assert.deepEqual(events, [
    {
      type: 'status',
      providerMessageId: DELIVERED.MessageUUID,
      status: 'delivered',
      providerCode: 'delivered',
      at: Date.parse('2026-03-01T10:20:30.123Z'),
      price: { amount: 0.0065, currency: 'USD' },
    },
  ])
  const req = signed('status', 'GET', DELIVERED)
  const tampered = { ...req, url: req.url.replace('delivered', 'undelivered') }
  assert.equal(provider.handleWebhook?.(tampered).verified, false)
})

test('tampered, unsigned, wrongly signed or foreign callbacks are refused and change nothing', async () => {
  const { requests } = await sendAndReport('+14155550005', 'short')
  const req = requests.at(-1) as WebhookRequest
  const body = req.rawBody.toString().replace('Status=delivered', 'Status=undelivered')
  assert.notEqual(body, req.rawBody.toString())
  assert.equal(provider.handleWebhook?.({ ...req, rawBody: Buffer.from(body) }).verified, false)
  assert.equal(
    provider.handleWebhook?.({ ...req, url: req.url.replace('/status', '/inbound') }).verified,
    false,
  )
  assert.equal(provider.handleWebhook?.({ ...req, headers: {} }).verified, false)
  // Another instance (another account's token) refuses this account's callbacks.
  const other = createPlivoProvider({
    name: 'plivo-eu',
    authId: 'MAZZZZZZZZZZZZZZZZZZ',
    authToken: 'another-token',
    callbackUrls: { status, inbound: status },
  })
  assert.equal(other.handleWebhook?.(req).verified, false)
  assert.equal(provider.handleWebhook?.(req).verified, true, 'the original still verifies')
})

test('V2-only and V3-only signed callbacks are both accepted', () => {
  assert.equal(handle(signed('status', 'POST', DELIVERED, 'v2')).length, 1)
  assert.equal(handle(signed('status', 'POST', DELIVERED, 'v3')).length, 1)
})

test('verified but unreadable callbacks are malformed (answered 400), never guessed', () => {
  const cases: [string, Record<string, string>][] = [
    ['status', { Status: 'delivered' }],
    ['status', { MessageUUID: 'x' }],
    ['status', { MessageUUID: 'part-2', ParentMessageUUID: 'parent', Status: 'delivered' }],
    [
      'status',
      {
        MessageUUID: 'part-2',
        ParentMessageUUID: 'parent',
        Status: 'delivered',
        PartInfo: '4 of 3',
      },
    ],
    ['inbound', { From: '4915123456789', Text: 'x' }],
    ['other', DELIVERED],
  ]
  for (const [kind, params] of cases) {
    assert.throws(
      () => provider.handleWebhook?.(signed(kind, 'POST', params)),
      MalformedWebhook,
      JSON.stringify(params),
    )
  }
})

test('an undocumented Status is kept as sent, never final', () => {
  const [e] = handle(signed('status', 'POST', { ...DELIVERED, Status: 'smoke-signal' })) as Status[]
  assert.equal(e?.status, 'sent')
  assert.equal(e?.providerCode, 'smoke-signal')
})

test('PartInfo, times and numbers are read as Plivo writes them', () => {
  assert.deepEqual(parsePartInfo('2 of 3'), { number: 2, total: 3 })
  assert.deepEqual(parsePartInfo(' 1 OF 1 '), { number: 1, total: 1 })
  for (const bad of [undefined, '', '0 of 3', '3 of 2', 'two of three', '1/3'])
    assert.equal(parsePartInfo(bad), undefined)
  assert.equal(parsePlivoTime('2026-03-01 10:20:30.123456'), Date.parse('2026-03-01T10:20:30.123Z'))
  assert.equal(parsePlivoTime('2026-03-01 10:20:30+05:30'), Date.parse('2026-03-01T04:50:30Z'))
  assert.equal(parsePlivoTime('yesterday'), undefined)
  assert.equal(toE164('14155550100'), '+14155550100')
  assert.equal(toE164('+14155550100'), '+14155550100')
  assert.equal(toE164('72345'), '72345', 'a short code stays as it is')
  assert.equal(toE164('ACME'), 'ACME')
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js'
import { TWILIO_MESSAGES_OPENAPI } from '../../../test/support/fakes/twilio-openapi.js'
import { MalformedWebhook, type ReportedStatus, type WebhookRequest } from '../provider.js'
import { EMPTY_TWIML, handleTwilioWebhook, mapTwilioStatus } from './twilio-webhook.js'

const TOKEN = 'f'.repeat(32)
const NOW = Date.parse('2026-12-01T12:00:00Z')
const BASE = 'https://sb.example.com/webhooks/twilio-us'
const SID = `SM${'a1'.repeat(16)}`

/** A form POST as Twilio sends it, signed by the SDK (or tampered with afterwards). */
function post(
  kind: string,
  url: string,
  params: Record<string, string>,
  token = TOKEN,
): WebhookRequest {
  return {
    kind,
    url,
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': getExpectedTwilioSignature(token, url, params),
    },
    rawBody: Buffer.from(new URLSearchParams(params).toString()),
  }
}

const status = (word: string, extra: Record<string, string> = {}) => ({
  AccountSid: `AC${'0'.repeat(32)}`,
  ApiVersion: '2010-04-01',
  From: '+15017122661',
  MessageSid: SID,
  MessageStatus: word,
  SmsSid: SID,
  SmsStatus: word,
  To: '+15558675310',
  ...extra,
})

const handle = (req: WebhookRequest) => handleTwilioWebhook(TOKEN, req, NOW)

/** What each documented word becomes: only delivered/undelivered/failed are final. */
const WORDS: Record<string, ReportedStatus | null> = {
  queued: null,
  sending: null,
  sent: 'sent',
  failed: 'failed',
  delivered: 'delivered',
  undelivered: 'undelivered',
  receiving: null,
  received: null,
  accepted: null,
  scheduled: null,
  read: 'delivered',
  partially_delivered: null,
  canceled: 'failed',
}

test("every word of Twilio's message_enum_status is mapped; unknown words are not", () => {
  const documented = (
    TWILIO_MESSAGES_OPENAPI.components.schemas.message_enum_status as { enum: string[] }
  ).enum
  assert.deepEqual([...documented].sort(), Object.keys(WORDS).sort())
  for (const [word, expected] of Object.entries(WORDS))
    assert.equal(mapTwilioStatus(word), expected, word)
  for (const word of [
    'DELIVERED',
    'expired',
    'rejected',
    '',
    'constructor',
    'toString',
    'delivered ',
  ]) {
    assert.equal(mapTwilioStatus(word), null, word)
  }
})

test('a signed status callback becomes a status event with our id from the URL', () => {
  const url = `${BASE}/status?ref=msg_01TEST`
  const outcome = handle(post('status', url, status('delivered', { RawDlrDoneDate: '2612011200' })))
  assert.deepEqual(outcome, {
    verified: true,
    events: [
      {
        type: 'status',
        providerMessageId: SID,
        messageId: 'msg_01TEST',
        status: 'delivered',
        providerCode: 'delivered',
        at: NOW,
      },
    ],
  })
})

test("undelivered and failed carry the mapped ErrorCode and keep Twilio's code", () => {
  const url = `${BASE}/status?ref=m1`
  const events = (word: string, extra: Record<string, string>) => {
    const o = handle(post('status', url, status(word, extra)))
    return o.verified ? o.events : []
  }
  assert.deepEqual(
    events('undelivered', { ErrorCode: '30003' }).map(
      (e) => e.type === 'status' && [e.status, e.errorCode, e.providerCode],
    ),
    [['undelivered', 'unreachable_destination', '30003']],
  )
  assert.deepEqual(
    events('failed', { ErrorCode: '30007' }).map(
      (e) => e.type === 'status' && [e.status, e.errorCode],
    ),
    [['failed', 'blocked_by_carrier']],
  )
  assert.deepEqual(
    events('undelivered', {}).map(
      (e) => e.type === 'status' && [e.status, e.errorCode, e.providerCode],
    ),
    [['undelivered', 'undeliverable', 'undelivered']],
  )
  assert.deepEqual(
    events('canceled', {}).map((e) => e.type === 'status' && [e.status, e.errorCode]),
    [['failed', 'provider_rejected']],
  )
  // Non-final and unknown words: verified, answered 2xx, nothing recorded.
  assert.deepEqual(events('sending', {}), [])
  assert.deepEqual(events('teleported', { ErrorCode: '30003' }), [])
  // sent carries no error code
  assert.deepEqual(
    events('sent', {}).map((e) => e.type === 'status' && [e.status, e.errorCode]),
    [['sent', undefined]],
  )
})

test('a callback without our reference still reports by the Twilio SID', () => {
  const o = handle(post('status', `${BASE}/status`, status('delivered')))
  assert.ok(o.verified)
  assert.equal(o.events[0]?.type === 'status' && o.events[0].messageId, undefined)
  assert.equal(o.events[0]?.providerMessageId, SID)
})

test('tampered, unsigned, wrongly keyed or misaddressed callbacks are refused', () => {
  const url = `${BASE}/status?ref=m1`
  const good = post('status', url, status('undelivered', { ErrorCode: '30003' }))
  assert.equal(handle(good).verified, true)
  const body = good.rawBody.toString().replace('undelivered', 'delivered')
  assert.equal(handle({ ...good, rawBody: Buffer.from(body) }).verified, false)
  assert.equal(
    handle({ ...good, rawBody: Buffer.concat([good.rawBody, Buffer.from('&x=1')]) }).verified,
    false,
  )
  assert.equal(handle({ ...good, url: `${BASE}/status?ref=m2` }).verified, false)
  assert.equal(handle({ ...good, url: url.replace('https', 'http') }).verified, false)
  assert.equal(handle({ ...good, headers: {} }).verified, false)
  assert.equal(handle(post('status', url, status('delivered'), 'another-token')).verified, false)
  assert.equal(handle({ ...good, method: 'PUT' }).verified, false)
})

test('a signed callback that cannot be read is malformed, not ignored', () => {
  const url = `${BASE}/status`
  const { MessageSid: _m, SmsSid: _s, ...noSid } = status('delivered')
  assert.throws(() => handle(post('status', url, noSid)), MalformedWebhook)
  const { MessageStatus: _a, SmsStatus: _b, ...noStatus } = status('delivered')
  assert.throws(() => handle(post('status', url, noStatus)), MalformedWebhook)
  assert.throws(
    () => handle(post('elsewhere', `${BASE}/elsewhere`, status('delivered'))),
    MalformedWebhook,
  )
  // SmsSid and SmsStatus alone (older callbacks) are enough.
  const { MessageSid: _c, MessageStatus: _d, ...older } = status('delivered')
  const o = handle(post('status', url, older))
  assert.ok(o.verified)
  assert.equal(o.events[0]?.providerMessageId, SID)
})

const inbound = {
  AccountSid: `AC${'0'.repeat(32)}`,
  ApiVersion: '2010-04-01',
  Body: 'Hi & bye = 😀 ünïcode',
  From: '+15558675310',
  MessageSid: SID,
  NumMedia: '0',
  NumSegments: '1',
  SmsMessageSid: SID,
  SmsSid: SID,
  SmsStatus: 'received',
  To: '+15017122661',
}

test('inbound POST: an inbound event, answered with empty TwiML so Twilio sends no reply', () => {
  const o = handle(post('inbound', `${BASE}/inbound`, inbound))
  assert.deepEqual(o, {
    verified: true,
    events: [
      {
        type: 'inbound',
        providerMessageId: SID,
        from: '+15558675310',
        to: '+15017122661',
        body: inbound.Body,
        at: NOW,
      },
    ],
    answer: { status: 200, contentType: 'text/xml', body: EMPTY_TWIML },
  })
  assert.match(EMPTY_TWIML, /<Response\/>$/)
})

test('inbound GET: parameters in the query, signed over the URL alone', () => {
  const url = `${BASE}/inbound?${new URLSearchParams(inbound).toString()}`
  const req: WebhookRequest = {
    kind: 'inbound',
    url,
    method: 'GET',
    headers: { 'x-twilio-signature': getExpectedTwilioSignature(TOKEN, url, {}) },
    rawBody: Buffer.alloc(0),
  }
  const o = handle(req)
  assert.ok(o.verified)
  assert.equal(o.events[0]?.type === 'inbound' && o.events[0].body, inbound.Body)
  assert.equal(handle({ ...req, url: url.replace('bye', 'bee') }).verified, false)
  const { From: _f, ...noFrom } = inbound
  const bad = `${BASE}/inbound?${new URLSearchParams(noFrom).toString()}`
  assert.throws(
    () =>
      handle({
        ...req,
        url: bad,
        headers: { 'x-twilio-signature': getExpectedTwilioSignature(TOKEN, bad, {}) },
      }),
    MalformedWebhook,
  )
})

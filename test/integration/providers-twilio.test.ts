// Risk covered: Switchboard configured with a Twilio instance could send a request Twilio's
// Messages API does not take, miss or misread Twilio's signed status callbacks, apply one
// twice or a forged one at all, make Twilio auto-reply to an inbound SMS, or lose one; here it
// runs against a local Twilio-speaking server whose SDK-signed callbacks reach it over HTTP at
// its own PUBLIC_URL.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { closedPort } from '../../src/providers/test-upstream.js'
import { createMessageProblems } from '../support/fakes/twilio-openapi.js'
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js'
import { TwilioFake, twilioError, type SentCallback } from '../support/fakes/twilio.server.js'
import { startTestSwitchboard, TEST_DB, waitFor, type TestSwitchboard } from '../support/harness.js'

const ACCOUNT = { accountSid: `AC${'5e'.repeat(16)}`, authToken: 'integration-twilio-token' }
const SERVICE = `MG${'7d'.repeat(16)}`
const FROM = '+15017122661'

interface MessageView {
  id: string
  status: string
  errorCode: string | null
  provider: string | null
  providerMessageId: string | null
  from: string | null
  events: { status: string; errorCode: string | null }[]
}

describe(`Twilio end to end through a Twilio-speaking server (${TEST_DB})`, () => {
  let fake: TwilioFake
  let ts: TestSwitchboard
  let publicUrl: string

  before(async () => {
    fake = await TwilioFake.start({ ...ACCOUNT })
    const port = await closedPort()
    publicUrl = `http://127.0.0.1:${port}`
    ts = await startTestSwitchboard({
      PROVIDERS: JSON.stringify([
        {
          name: 'twilio-us',
          type: 'twilio',
          ...ACCOUNT,
          messagingServiceSid: SERVICE,
          baseUrl: fake.url,
        },
      ]),
      PUBLIC_URL: publicUrl,
    })
    await ts.sb.app?.listen({ port, host: '127.0.0.1' })
  })
  after(async () => {
    await ts.close()
    await fake.close()
  })

  const send = async (payload: Record<string, string>): Promise<string> => {
    const res = await ts.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: ts.auth(),
      payload,
    })
    assert.equal(res.statusCode, 202, res.body)
    return res.json<{ id: string }>().id
  }
  const get = async (id: string): Promise<MessageView> => {
    const res = await ts.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: ts.auth() })
    assert.equal(res.statusCode, 200)
    return res.json()
  }
  const untilStatus = (id: string, status: string) =>
    waitFor(
      async () => {
        const m = await get(id)
        return m.status === status ? m : undefined
      },
      30_000,
      `${id} ${status}`,
    )
  const callbacksOf = async (sid: string | null, count: number): Promise<SentCallback[]> => {
    await fake.callbacksSettled()
    const list = fake.callbacks.filter((cb) => cb.params.MessageSid === sid)
    assert.equal(list.length, count)
    return list
  }

  test('send: the documented request; signed callbacks at PUBLIC_URL; delivered, provider twilio-us', async () => {
    const to = '+14155550101'
    const id = await send({ to, from: FROM, body: 'Grüße 👋 a&b=c' })
    const m = await untilStatus(id, 'delivered')
    assert.equal(m.provider, 'twilio-us')
    assert.match(m.providerMessageId ?? '', /^SM[0-9a-f]{32}$/)

    const request = fake.sends.find((s) => s.form.get('To') === to)
    assert.ok(request)
    assert.equal(request.path, `/2010-04-01/Accounts/${ACCOUNT.accountSid}/Messages.json`)
    assert.deepEqual(createMessageProblems(request.form), [])
    assert.deepEqual([...request.form.keys()].sort(), [
      'Body',
      'From',
      'StatusCallback',
      'To',
      'ValidityPeriod',
    ])
    assert.equal(request.form.get('From'), FROM)
    assert.equal(request.form.get('Body'), 'Grüße 👋 a&b=c')
    assert.equal(
      request.form.get('StatusCallback'),
      `${publicUrl}/webhooks/twilio-us/status?ref=${id}`,
    )
    // The default validity (DEFAULT_VALIDITY_PERIOD) is shorter than Twilio's 10 hours.
    assert.ok(Number(request.form.get('ValidityPeriod')) <= 36_000)

    const cbs = await callbacksOf(m.providerMessageId, 2)
    assert.deepEqual(
      cbs.map((cb) => [cb.params.MessageStatus, cb.answer]),
      [
        ['sent', 204],
        ['delivered', 204],
      ],
    )
    assert.deepEqual(
      m.events.map((e) => e.status),
      ['queued', 'sending', 'sent', 'delivered'],
    )
  })

  test('GET /v1/providers shows the instance and its callback URLs, never the auth token', async () => {
    const res = await ts.inject({ method: 'GET', url: '/v1/providers', headers: ts.auth() })
    assert.equal(res.statusCode, 200)
    assert.ok(!res.body.includes(ACCOUNT.authToken), 'the auth token is not shown')
    const [twilio] = res.json<{ data: Record<string, unknown>[] }>().data
    assert.deepEqual(
      {
        name: twilio?.name,
        type: twilio?.type,
        settings: twilio?.settings,
        urls: twilio?.callbackUrls,
      },
      {
        name: 'twilio-us',
        type: 'twilio',
        settings: {
          accountSid: ACCOUNT.accountSid,
          authToken: 'set',
          messagingServiceSid: SERVICE,
          baseUrl: fake.url,
        },
        urls: {
          status: `${publicUrl}/webhooks/twilio-us/status`,
          inbound: `${publicUrl}/webhooks/twilio-us/inbound`,
        },
      },
    )
  })

  test('a message without from goes out through the Messaging Service', async () => {
    const to = '+14155550102'
    const id = await send({ to, body: 'no sender given' })
    await untilStatus(id, 'delivered')
    const request = fake.sends.find((s) => s.form.get('To') === to)
    assert.equal(request?.form.get('MessagingServiceSid'), SERVICE)
    assert.equal(request?.form.has('From'), false)
  })

  test('undelivered with ErrorCode 30003 is undelivered, unreachable_destination', async () => {
    const to = '+14155550103'
    fake.reportFor(to, [{ status: 'sent' }, { status: 'undelivered', errorCode: '30003' }])
    const id = await send({ to, from: FROM, body: 'will not arrive' })
    const m = await untilStatus(id, 'undelivered')
    assert.equal(m.errorCode, 'unreachable_destination')
  })

  test("Twilio's refusals: 21211 fails invalid_number; 21610 fails recipient_opted_out and suppresses the pair", async () => {
    fake.answerFor('+14155550104', twilioError(400, 21211, "The 'To' number is not valid."))
    fake.answerFor(
      '+14155550105',
      twilioError(400, 21610, 'Attempt to send to unsubscribed recipient'),
    )
    const invalid = await untilStatus(
      await send({ to: '+14155550104', from: FROM, body: 'x' }),
      'failed',
    )
    const optedOut = await untilStatus(
      await send({ to: '+14155550105', from: FROM, body: 'x' }),
      'failed',
    )
    assert.deepEqual(
      [invalid.errorCode, optedOut.errorCode],
      ['invalid_number', 'recipient_opted_out'],
    )
    // The recipient replied STOP to this sender: the opt-out is in the consent ledger (source
    // provider), so the next message to them from it is refused at intake and not sent.
    const asked = fake.sends.filter((s) => s.form.get('To') === '+14155550105').length
    fake.answerFor('+14155550105', undefined)
    const again = await ts.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: ts.auth(),
      payload: { to: '+14155550105', from: FROM, body: 'again' },
    })
    assert.equal(again.statusCode, 422, again.body)
    assert.equal(again.json<{ error: { code: string } }>().error.code, 'recipient_opted_out')
    assert.equal(fake.sends.filter((s) => s.form.get('To') === '+14155550105').length, asked)
  })

  test('20429 is retried after its Retry-After, then sent', async () => {
    const to = '+14155550106'
    fake.answerFor(to, {
      kind: 'error',
      status: 429,
      code: 20429,
      message: 'Too Many Requests',
      retryAfter: '1',
    })
    const id = await send({ to, from: FROM, body: 'slow down' })
    await waitFor(
      async () => {
        const m = await get(id)
        return m.status === 'queued' && m.errorCode === 'provider_rate_limited' ? m : undefined
      },
      30_000,
      'the rate-limited send recorded',
    )
    fake.answerFor(to, undefined)
    await untilStatus(id, 'delivered')
    const tries = fake.sends.filter((s) => s.form.get('To') === to)
    assert.ok(tries.length >= 2)
    const [first, second] = tries
    assert.ok(first && second)
    // Retry-After: 1 is honoured: the next try came no sooner than a second later.
    assert.ok(second.at - first.at >= 1000, `retried after ${second.at - first.at} ms`)
  })

  test('a replayed callback is acknowledged and changes state once; a tampered one is 403', async () => {
    const id = await send({ to: '+14155550107', from: FROM, body: 'replay me' })
    const m = await untilStatus(id, 'delivered')
    const [sent, delivered] = await callbacksOf(m.providerMessageId, 2)
    assert.ok(sent && delivered)
    assert.equal(await fake.resend(delivered), 204)
    assert.equal(await fake.resend(sent), 204)
    assert.equal(
      await fake.resend(delivered, { MessageStatus: 'undelivered', ErrorCode: '30007' }),
      403,
    )
    assert.equal(
      await fake.resend({ ...delivered, url: delivered.url.replace(`ref=${id}`, 'ref=msg_other') }),
      403,
    )
    const after = await get(id)
    assert.deepEqual([after.status, after.errorCode], ['delivered', null])
    assert.deepEqual(
      after.events.map((e) => e.status),
      ['queued', 'sending', 'sent', 'delivered'],
    )
  })

  test('callbacks that arrive together are each verified and applied', async () => {
    // Sixty messages whose callbacks the fake holds back; then all their callbacks at once,
    // as Twilio sends them under load: the HTTP thread hands them on together.
    const tos = Array.from({ length: 60 }, (_, i) => `+1415555${String(2000 + i)}`)
    for (const to of tos) fake.reportFor(to, [])
    const ids = await Promise.all(tos.map((to) => send({ to, from: FROM, body: `n ${to}` })))
    const sent = await Promise.all(ids.map((id) => untilStatus(id, 'sent')))
    const answers = await Promise.all(
      sent.map(async (m) => {
        const url = `${publicUrl}/webhooks/twilio-us/status?ref=${m.id}`
        const params = {
          AccountSid: ACCOUNT.accountSid,
          ApiVersion: '2010-04-01',
          MessageSid: m.providerMessageId ?? '',
          MessageStatus: 'delivered',
          SmsSid: m.providerMessageId ?? '',
          SmsStatus: 'delivered',
        }
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': getExpectedTwilioSignature(ACCOUNT.authToken, url, params),
          },
          body: new URLSearchParams(params),
        })
        return res.status
      }),
    )
    assert.deepEqual(new Set(answers), new Set([204]))
    const after = await Promise.all(ids.map(get))
    assert.deepEqual(new Set(after.map((m) => m.status)), new Set(['delivered']))
  })

  const inboundUrl = () => `${publicUrl}/webhooks/twilio-us/inbound`
  const stored = async (providerMessageId: string | undefined) => {
    const res = await ts.inject({
      method: 'GET',
      url: '/v1/messages?direction=inbound',
      headers: ts.auth(),
    })
    assert.equal(res.statusCode, 200)
    return res
      .json<{ data: Record<string, unknown>[] }>()
      .data.filter((m) => m.providerMessageId === providerMessageId)
  }

  test('inbound SMS: answered with empty TwiML, stored as received; by GET too', async () => {
    for (const method of ['POST', 'GET'] as const) {
      const body = `Grüße 👋 STOP & more (${method})`
      const answer = await fake.inbound(
        inboundUrl(),
        { From: '+4915123456789', To: FROM, Body: body },
        method,
      )
      assert.equal(answer.status, 200)
      assert.equal(answer.contentType.split(';')[0], 'text/xml')
      assert.match(answer.body, /^<\?xml version="1\.0" encoding="UTF-8"\?><Response\/>$/)
      const list = await stored(answer.params.MessageSid)
      assert.deepEqual(
        list.map((m) => [m.from, m.to, m.body, m.status, m.provider]),
        [['+4915123456789', FROM, body, 'received', 'twilio-us']],
      )
    }
  })

  test('a forged inbound SMS is 403 and stores nothing', async () => {
    const res = await fetch(inboundUrl(), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      },
      body: new URLSearchParams({
        MessageSid: `SM${'0'.repeat(32)}`,
        From: '+4915123456789',
        To: FROM,
        Body: 'forged',
      }),
    })
    assert.equal(res.status, 403)
    assert.equal(
      ((await res.json()) as { error: { code: string } }).error.code,
      'invalid_signature',
    )
    assert.deepEqual(await stored(`SM${'0'.repeat(32)}`), [])
  })

  test('an inbound SMS Twilio sends again is acknowledged and stored once', async () => {
    const message = {
      From: '+4915123456780',
      To: FROM,
      Body: 'sent twice',
      MessageSid: `SM${'1'.repeat(32)}`,
    }
    assert.equal((await fake.inbound(inboundUrl(), message)).status, 200)
    assert.equal((await fake.inbound(inboundUrl(), message)).status, 200)
    assert.equal((await stored(message.MessageSid)).length, 1)
  })
})

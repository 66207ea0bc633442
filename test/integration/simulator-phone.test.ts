// Risk: a newcomer cannot hold a two-way conversation with curl alone: a message sent without
// `from` never shows up on the simulated phone, or a reply from the phone takes another path
// than a gateway's inbound (no stored message, no message.received event).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestSwitchboard, TEST_DB, waitFor, type TestSwitchboard } from '../support/harness.js'
import { openSse } from '../support/sse.js'

interface PhoneMessage {
  id: string
  from: string
  to: string
  body: string
  at: string
}

describe(`the simulator as a phone (${TEST_DB})`, () => {
  let t: TestSwitchboard
  let base = ''
  before(async () => {
    t = await startTestSwitchboard({ SIMULATOR_NUMBERS: '+15005550006,+15005550007' })
    const app = t.sb.app
    assert.ok(app)
    base = await app.listen({ port: 0, host: '127.0.0.1' })
  })
  after(() => t.close())

  const inbox = async (phone: string) => {
    const res = await t.inject({
      method: 'GET',
      url: `/v1/simulator/phones/${encodeURIComponent(phone)}/messages`,
      headers: t.auth(t.keys.read),
    })
    assert.equal(res.statusCode, 200, res.body)
    return res.json<{ data: PhoneMessage[] }>().data
  }
  const reply = (payload: Record<string, unknown>) =>
    t.inject({ method: 'POST', url: '/v1/simulator/inbound', headers: t.auth(), payload })

  test('send, read it on the phone, reply: stored inbound and message.received on the stream', async () => {
    const phone = '+14155550123'
    assert.deepEqual(await inbox(phone), [], 'a phone that received nothing')
    const stream = await openSse(`${base}/v1/events/stream`, t.auth(t.keys.read))
    try {
      const sent = await t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(t.keys.write),
        payload: { to: phone, body: 'Your table is ready. Reply YES to confirm.' },
      })
      assert.equal(sent.statusCode, 202, sent.body)
      const { id } = sent.json<{ id: string }>()
      const [got] = await waitFor(async () => {
        const d = await inbox(phone)
        return d.length > 0 ? d : undefined
      })
      assert.ok(got)
      assert.deepEqual(
        [got.id, got.from, got.to, got.body],
        [id, '+15005550006', phone, 'Your table is ready. Reply YES to confirm.'],
        'from the first of SIMULATOR_NUMBERS',
      )
      assert.ok(!Number.isNaN(Date.parse(got.at)))

      const res = await reply({ from: phone, body: 'Yes, on my way' })
      assert.equal(res.statusCode, 201, res.body)
      const m = res.json<{
        id: string
        direction: string
        from: string
        to: string
        body: string
        status: string
      }>()
      assert.deepEqual(
        [m.direction, m.from, m.to, m.body, m.status],
        ['inbound', phone, '+15005550006', 'Yes, on my way', 'received'],
      )
      // Stored before the answer, through the inbound path (listed with inbound messages).
      const listed = await t.inject({
        method: 'GET',
        url: `/v1/messages?direction=inbound&from=${encodeURIComponent(phone)}`,
        headers: t.auth(t.keys.read),
      })
      assert.deepEqual(
        listed.json<{ data: { id: string }[] }>().data.map((x) => x.id),
        [m.id],
      )
      const [event] = await stream.waitFrames(1)
      assert.equal(event?.event, 'message.received')
      assert.equal((JSON.parse(event?.data ?? '{}') as { data: { id: string } }).data.id, m.id)
      // The phone's own inbox holds what it received, not what it sent.
      assert.deepEqual(
        (await inbox(phone)).map((x) => x.id),
        [id],
      )
    } finally {
      await stream.close()
    }
  })

  test('newest first; a sender set by the message is the one shown', async () => {
    const phone = '+14155550124'
    for (const [body, from] of [
      ['first', undefined],
      ['second', '+15005550007'],
    ] as const) {
      const res = await t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(t.keys.write),
        payload: { to: phone, body, ...(from ? { from } : {}) },
      })
      assert.equal(res.statusCode, 202)
      await waitFor(async () =>
        (await inbox(phone)).some((x) => x.body === body) ? true : undefined,
      )
    }
    const got = await inbox(phone)
    assert.deepEqual(
      got.map((x) => [x.body, x.from]),
      [
        ['second', '+15005550007'],
        ['first', '+15005550006'],
      ],
    )
  })

  test('to: another of SIMULATOR_NUMBERS; not one of them, or a bad number, is 422', async () => {
    const ok = await reply({ from: '+14155550125', to: '+15005550007', body: 'hi' })
    assert.equal(ok.statusCode, 201, ok.body)
    assert.equal(ok.json<{ to: string }>().to, '+15005550007')
    const notOurs = await reply({ from: '+14155550125', to: '+15005550099', body: 'hi' })
    assert.equal(notOurs.statusCode, 422)
    assert.equal(notOurs.json<{ error: { code: string } }>().error.code, 'validation_failed')
    const badFrom = await reply({ from: '12', body: 'hi' })
    assert.equal(badFrom.statusCode, 422)
    assert.equal(badFrom.json<{ error: { code: string } }>().error.code, 'invalid_phone_number')
    const extra = await reply({ from: '+14155550125', body: 'hi', nope: 1 })
    assert.equal(extra.statusCode, 422)
    const badPhone = await t.inject({
      method: 'GET',
      url: '/v1/simulator/phones/12345/messages',
      headers: t.auth(t.keys.read),
    })
    assert.equal(badPhone.statusCode, 422)
  })

  test('scopes: replying needs admin, reading the phone messages:read', async () => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/simulator/inbound',
      headers: t.auth(t.keys.write),
      payload: { from: '+14155550126', body: 'hi' },
    })
    assert.equal(res.statusCode, 403)
    const read = await t.inject({
      method: 'GET',
      url: '/v1/simulator/phones/+14155550126/messages',
      headers: t.auth(t.keys.write),
    })
    assert.equal(read.statusCode, 403)
  })
  test('STOP to the simulator number stops sends without `from` (they go out from it), START resumes', async () => {
    const phone = '+14155550199'
    const send = (extra: Record<string, unknown> = {}) =>
      t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(t.keys.write),
        payload: { to: phone, body: 'Order 42 has shipped', ...extra },
      })
    // Queued before the STOP, due after it: it must not go out.
    const early = await send({ sendAt: new Date(Date.now() + 1500).toISOString() })
    assert.equal(early.statusCode, 202, early.body)
    const stop = await reply({ from: phone, body: 'stop' })
    assert.equal(stop.statusCode, 201, stop.body)
    const refused = await send()
    assert.equal(refused.statusCode, 422, refused.body)
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'recipient_opted_out')
    const { id } = early.json<{ id: string }>()
    const final = await waitFor(async () => {
      const res = await t.inject({
        method: 'GET',
        url: `/v1/messages/${id}`,
        headers: t.auth(t.keys.read),
      })
      const m = res.json<{ status: string; errorCode: string | null }>()
      return m.status === 'queued' || m.status === 'scheduled' || m.status === 'sending'
        ? undefined
        : m
    })
    assert.deepEqual([final.status, final.errorCode], ['rejected', 'recipient_opted_out'])
    // The confirmation is the one message the phone gets after STOP.
    const got = await waitFor(async () => {
      const d = await inbox(phone)
      return d.length > 0 ? d : undefined
    })
    assert.equal(got.length, 1, JSON.stringify(got))
    assert.match(got[0]?.body ?? '', /unsubscribed/i)

    const start = await reply({ from: phone, body: 'START' })
    assert.equal(start.statusCode, 201, start.body)
    assert.equal((await send()).statusCode, 202)
  })

  test('the phones: every number delivered to or heard from, counts, most recently active first', async () => {
    const list = async () => {
      const res = await t.inject({
        method: 'GET',
        url: '/v1/simulator/phones',
        headers: t.auth(t.keys.read),
      })
      assert.equal(res.statusCode, 200, res.body)
      return res.json<{
        simulatorNumbers: string[]
        data: { number: string; received: number; sent: number; lastAt: string }[]
      }>()
    }
    const before = await list()
    assert.deepEqual(before.simulatorNumbers, ['+15005550006', '+15005550007'])
    // Earlier tests: +14155550123 received 1 and sent 1, +14155550124 received 2, ...
    const seen = new Map(before.data.map((p) => [p.number, p]))
    assert.deepEqual([seen.get('+14155550123')?.received, seen.get('+14155550123')?.sent], [1, 1])
    assert.deepEqual([seen.get('+14155550124')?.received, seen.get('+14155550124')?.sent], [2, 0])
    // A phone that only texted is listed too.
    assert.deepEqual([seen.get('+14155550125')?.received, seen.get('+14155550125')?.sent], [0, 1])
    const times = before.data.map((p) => Date.parse(p.lastAt))
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'most recently active first',
    )

    // A new delivery puts its phone first; a message not yet delivered lists nothing.
    const phone = '+14155550177'
    const sent = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(t.keys.write),
      payload: { to: phone, body: 'Your parcel is out for delivery' },
    })
    assert.equal(sent.statusCode, 202, sent.body)
    const after = await waitFor(async () => {
      const l = await list()
      return l.data[0]?.number === phone ? l : undefined
    })
    assert.deepEqual([after.data[0]?.received, after.data[0]?.sent], [1, 0])
    const limited = await t.inject({
      method: 'GET',
      url: '/v1/simulator/phones?limit=1',
      headers: t.auth(t.keys.read),
    })
    assert.deepEqual(
      limited.json<{ data: { number: string }[] }>().data.map((p) => p.number),
      [phone],
    )
    const noScope = await t.inject({
      method: 'GET',
      url: '/v1/simulator/phones',
      headers: t.auth(t.keys.write),
    })
    assert.equal(noScope.statusCode, 403)
  })
})

describe(`without an in-process simulator (${TEST_DB})`, () => {
  test('every simulator route answers 404', async () => {
    const t = await startTestSwitchboard({ SIMULATOR_URL: 'http://127.0.0.1:9' })
    try {
      const inbound = await t.inject({
        method: 'POST',
        url: '/v1/simulator/inbound',
        headers: t.auth(),
        payload: { from: '+14155550127', body: 'hi' },
      })
      assert.equal(inbound.statusCode, 404)
      assert.equal(inbound.json<{ error: { code: string } }>().error.code, 'not_found')
      const phone = await t.inject({
        method: 'GET',
        url: '/v1/simulator/phones/+14155550127/messages',
        headers: t.auth(),
      })
      assert.equal(phone.statusCode, 404)
      const phones = await t.inject({
        method: 'GET',
        url: '/v1/simulator/phones',
        headers: t.auth(),
      })
      assert.equal(phones.statusCode, 404)
      assert.equal(phones.json<{ error: { code: string } }>().error.code, 'not_found')
    } finally {
      await t.close()
    }
  })
})

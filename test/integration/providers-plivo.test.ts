// Risk covered: Switchboard configured with a Plivo instance could send a request Plivo does not
// accept, call a long message delivered before all its parts are, let one undelivered part be
// overwritten by a later delivered one, lose Plivo's price, store an inbound SMS twice, or act
// on a callback it cannot verify; here it runs against a local Plivo-speaking server whose
// signed callbacks reach it over HTTP at its own PUBLIC_URL.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  checkMessageRequest,
  startPlivoFake,
  type PlivoFake,
  type SignedCallback,
} from '../../src/providers/plivo/plivo.fake-server.js'
import { closedPort } from '../../src/providers/test-upstream.js'
import { startTestSwitchboard, TEST_DB, waitFor, type TestSwitchboard } from '../support/harness.js'

const ACCOUNT = { authId: 'MAXXXXXXXXXXXXXXXXXX', authToken: 'integration-plivo-token' }
const FROM = '+14155550100'
const RATE = 0.0065
/** 160+ characters: three GSM-7 segments, so Plivo reports three parts. */
const LONG = 'Your Switchboard order 4417 has shipped and will arrive on Tuesday. '.repeat(6).trim()

interface MessageView {
  id: string
  status: string
  errorCode: string | null
  provider: string | null
  providerMessageId: string | null
  segments: number
  events: { status: string; errorCode: string | null }[]
}

describe(`Plivo end to end through a Plivo-speaking server (${TEST_DB})`, () => {
  let fake: PlivoFake
  let ts: TestSwitchboard
  let publicUrl: string

  before(async () => {
    fake = await startPlivoFake({ ...ACCOUNT, rate: String(RATE) })
    const port = await closedPort()
    publicUrl = `http://127.0.0.1:${port}`
    ts = await startTestSwitchboard({
      PROVIDERS: JSON.stringify([{ name: 'plivo', type: 'plivo', ...ACCOUNT, baseUrl: fake.url }]),
      PUBLIC_URL: publicUrl,
    })
    await ts.sb.app?.listen({ port, host: '127.0.0.1' })
  })
  after(async () => {
    await ts.close()
    await fake.close()
  })

  const send = async (to: string, body: string): Promise<string> => {
    const res = await ts.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: ts.auth(),
      payload: { to, from: FROM, body },
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
      10_000,
      `${id} ${status}`,
    )
  const price = async (id: string) => {
    const row = await ts.sb.store.db.kysely
      .selectFrom('messages')
      .select(['price', 'price_currency'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
    return { amount: row.price === null ? null : Number(row.price), currency: row.price_currency }
  }
  /** Delivers held callbacks in order, each answered 2xx. */
  const deliver = async (cbs: SignedCallback[]) => {
    for (const cb of cbs) {
      const done = await fake.resend(cb)
      assert.equal(done.answer, 204, `${cb.params.Status} ${cb.params.PartInfo}`)
    }
  }

  test('send: Plivo receives the documented request; each part reports; delivered after the last; the price is Plivo`s', async () => {
    fake.steer('+14155550011', { hold: true })
    const id = await send('+14155550011', LONG)
    const sent = await untilStatus(id, 'sent')
    assert.equal(sent.segments, 3)
    assert.equal(sent.provider, 'plivo')

    const request = fake.requests.find((r) => r.json?.dst === '+14155550011')
    assert.ok(request?.json)
    assert.equal(request.path, `/v1/Account/${ACCOUNT.authId}/Message/`)
    assert.equal(checkMessageRequest(request.json), undefined)
    assert.equal(request.json.url, `${publicUrl}/webhooks/plivo/status`)
    assert.equal(request.json.method, 'POST')
    assert.equal(request.json.src, FROM)
    assert.equal(request.json.text, LONG)
    const uuid = sent.providerMessageId
    assert.ok(uuid)

    await waitFor(() => (fake.held.length >= 6 ? true : undefined), 5000, 'callbacks built')
    const mine = fake.held.filter((cb) => cb.params.ParentMessageUUID === uuid)
    assert.deepEqual(
      mine.map((cb) => [cb.params.PartInfo, cb.params.Status]),
      [
        ['1 of 3', 'sent'],
        ['1 of 3', 'delivered'],
        ['2 of 3', 'sent'],
        ['2 of 3', 'delivered'],
        ['3 of 3', 'sent'],
        ['3 of 3', 'delivered'],
      ],
    )
    await deliver(mine.slice(0, 5))
    const partly = await get(id)
    assert.equal(partly.status, 'sent', 'two of three parts delivered is not delivered')

    await deliver(mine.slice(5))
    const done = await untilStatus(id, 'delivered')
    assert.equal(done.providerMessageId, uuid)
    assert.deepEqual(await price(id), { amount: 3 * RATE, currency: 'USD' })

    // Replayed: acknowledged, changes nothing.
    await deliver(mine.slice(5))
    await deliver(mine.slice(1, 2))
    const again = await get(id)
    assert.equal(again.events.filter((e) => e.status === 'delivered').length, 1)
    assert.deepEqual(await price(id), { amount: 3 * RATE, currency: 'USD' })
  })

  test('one part undelivered: the message is undelivered with the mapped code and stays so', async () => {
    fake.steer('+14155550012', { delivery: { status: 'undelivered', errorCode: '30', part: 2 } })
    const id = await send('+14155550012', LONG)
    const m = await untilStatus(id, 'undelivered')
    assert.equal(m.errorCode, 'blocked_by_carrier')
    await fake.settled()
    // Part 3's delivered report came after part 2's; replay it too: still undelivered.
    const last = fake.callbacks.filter(
      (cb) =>
        cb.params.ParentMessageUUID === m.providerMessageId && cb.params.Status === 'delivered',
    )
    assert.ok(last.length >= 1)
    for (const cb of last) assert.equal((await fake.resend(cb)).answer, 204)
    const after = await get(id)
    assert.equal(after.status, 'undelivered')
    assert.equal(after.errorCode, 'blocked_by_carrier')
  })

  test('tampered callbacks are 403 and change nothing', async () => {
    fake.steer('+14155550013', { hold: true })
    const id = await send('+14155550013', 'one part')
    const { providerMessageId } = await untilStatus(id, 'sent')
    const cbs = await waitFor(
      () => {
        const list = fake.held.filter((cb) => cb.params.MessageUUID === providerMessageId)
        return list.length === 2 ? list : undefined
      },
      5000,
      'held callbacks',
    )
    const final = cbs[1]
    assert.ok(final)
    const tampered = await fake.resend(final, { Status: 'undelivered', ErrorCode: '50' })
    assert.equal(tampered.answer, 403)
    const other = await fake.resend({ ...final, url: final.url.replace('/status', '/inbound') })
    assert.equal(other.answer, 403, 'signed for another URL')
    assert.equal((await get(id)).status, 'sent')
    await deliver([final])
    assert.equal((await untilStatus(id, 'delivered')).errorCode, null)
  })

  const inbound = async (text: string) => {
    const cb = await fake.sendInbound(`${publicUrl}/webhooks/plivo/inbound`, {
      from: '+4915123456789',
      to: FROM,
      text,
    })
    assert.equal(cb.answer, 204)
    return cb
  }
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

  test('inbound SMS is stored as received, E.164 and text intact; a forged one is 403', async () => {
    const cb = await inbound('Grüße 👋 STOP & more')
    const list = await stored(cb.params.MessageUUID)
    assert.equal(list.length, 1)
    const [m] = list
    assert.deepEqual(
      { from: m?.from, to: m?.to, body: m?.body, status: m?.status, provider: m?.provider },
      {
        from: '+4915123456789',
        to: FROM,
        body: 'Grüße 👋 STOP & more',
        status: 'received',
        provider: 'plivo',
      },
    )
    assert.equal((await fake.resend(cb, { Text: 'forged' })).answer, 403)
    assert.equal((await stored(cb.params.MessageUUID)).length, 1)
  })

  test('an inbound SMS Plivo sends again is acknowledged and stored once', async () => {
    const cb = await inbound('sent twice')
    assert.equal((await fake.resend(cb)).answer, 204)
    assert.equal((await stored(cb.params.MessageUUID)).length, 1)
  })
})

// Risk covered: a real Vonage account sends one receipt per part, by GET or POST, signed or
// token-authenticated, and inbound long SMS in parts; Switchboard must end a long message
// right (delivered only when every part is, undelivered at the first negative part and never
// back), refuse every callback it cannot authenticate, and store each inbound message once.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { deliverCallback } from '../../src/providers/vonage/vonage-fake-callbacks.js'
import { startVonageFake, type VonageFake } from '../../src/providers/vonage/vonage.fake-server.js'
import { freePort } from '../support/processes.js'
import { startTestSwitchboard, TEST_DB, waitFor, type TestSwitchboard } from '../support/harness.js'

const SIGNED = 'vonage-eu'
const TOKENED = 'vonage-tok'
const SIGNATURE = { secret: 'integration-signature-secret', method: 'sha256' } as const
const FROM = '+14155550100'
const THREE_PARTS = 'Switchboard end to end over Vonage. '.repeat(11).trim() // 3 GSM-7 parts

interface Msg {
  id: string
  status: string
  provider: string | null
  errorCode: string | null
  segments: number
  from: string | null
  to: string
  body: string
  direction?: string
}

describe(`Vonage end to end (${TEST_DB})`, () => {
  let t: TestSwitchboard
  /** The account of the signed instance: checks signed requests, signs its callbacks. */
  let fake: VonageFake
  /** The account of the token instance: no signature secret, unsigned callbacks. */
  let plain: VonageFake
  let url = ''
  let seq = 0

  before(async () => {
    fake = await startVonageFake({
      apiKey: 'abcd1234',
      apiSecret: 'ApiSecret1',
      signing: SIGNATURE,
      receipts: 'manual',
    })
    plain = await startVonageFake({
      apiKey: 'efgh5678',
      apiSecret: 'ApiSecret2',
      receipts: 'manual',
    })
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    t = await startTestSwitchboard({
      PUBLIC_URL: url,
      PROVIDERS: JSON.stringify([
        {
          name: SIGNED,
          type: 'vonage',
          apiKey: 'abcd1234',
          apiSecret: 'ApiSecret1',
          signatureSecret: SIGNATURE.secret,
          signatureMethod: SIGNATURE.method,
          baseUrl: fake.url,
        },
        {
          name: TOKENED,
          type: 'vonage',
          apiKey: 'efgh5678',
          apiSecret: 'ApiSecret2',
          baseUrl: plain.url,
        },
      ]),
    })
    assert.ok(t.sb.app)
    await t.sb.app.listen({ port, host: '127.0.0.1' })
  })
  after(async () => {
    await t.close()
    await fake.close()
    await plain.close()
  })

  const newTo = () => `+1415555${String(2000 + ++seq)}`

  async function message(id: string): Promise<Msg> {
    const res = await t.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: t.auth() })
    assert.equal(res.statusCode, 200)
    return res.json<Msg>()
  }

  /** Submits a message and waits until Vonage has accepted it: its parts, in order. */
  async function sent(body: string, to = newTo()) {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(t.keys.write),
      payload: { to, from: FROM, body },
    })
    assert.equal(res.statusCode, 202, res.body)
    const { id } = res.json<{ id: string }>()
    await waitFor(async () => ((await message(id)).status === 'sent' ? true : undefined))
    const parts = fake.parts.filter((p) => p.clientRef === id)
    return { id, parts }
  }

  const token = (name: string) => t.sb.store.initSetting(`provider_callback_token:${name}`, '')

  test('a 3-part message: three Vonage ids, delivered only when the last part is', async () => {
    const { id, parts } = await sent(THREE_PARTS)
    assert.deepEqual(
      parts.map((p) => [p.part, p.total]),
      [
        [1, 3],
        [2, 3],
        [3, 3],
      ],
    )
    const m = await message(id)
    assert.deepEqual([m.provider, m.segments, m.from], [SIGNED, 3, FROM])
    // Vonage was given our status URL (signed instance: without a token).
    assert.equal(parts[0]?.callback, `${url}/webhooks/${SIGNED}/status`)
    const [p1, p2, p3] = parts
    assert.ok(p1 && p2 && p3)
    // Out of order: 3, then 1; the message stays sent until part 2 arrives.
    assert.equal((await fake.sendReceipt(p3.id, { status: 'delivered' })).status, 204)
    assert.equal((await message(id)).status, 'sent')
    assert.equal((await fake.sendReceipt(p1.id, { status: 'delivered' })).status, 204)
    assert.equal((await message(id)).status, 'sent')
    const last = await fake.sendReceipt(p2.id, { status: 'delivered' })
    assert.equal(last.status, 204)
    assert.equal((await message(id)).status, 'delivered')
    // A replayed receipt is acknowledged and changes nothing.
    const again = await deliverCallback(last.url, last.params, 'POST')
    assert.equal(again.status, 204)
    assert.equal((await message(id)).status, 'delivered')
  })

  test('one negative part makes it undelivered; a later positive part does not undo it', async () => {
    const { id, parts } = await sent(THREE_PARTS)
    const [p1, p2, p3] = parts
    assert.ok(p1 && p2 && p3)
    await fake.sendReceipt(p1.id, { status: 'delivered' })
    assert.equal((await message(id)).status, 'sent')
    await fake.sendReceipt(p2.id, { status: 'failed', errCode: '6' })
    const failed = await message(id)
    assert.deepEqual([failed.status, failed.errorCode], ['undelivered', 'blocked_by_carrier'])
    await fake.sendReceipt(p3.id, { status: 'delivered' })
    const still = await message(id)
    assert.deepEqual([still.status, still.errorCode], ['undelivered', 'blocked_by_carrier'])
  })

  test('receipts by GET and by JSON POST are applied like form POSTs', async () => {
    for (const format of ['GET', 'POST-JSON'] as const) {
      const { id, parts } = await sent(`by ${format}`)
      assert.equal(parts.length, 1)
      const answer = await fake.sendReceipt(parts[0]?.id ?? '', { status: 'delivered' }, format)
      assert.equal(answer.status, 204, format)
      assert.equal((await message(id)).status, 'delivered', format)
    }
  })

  test('with a signature secret, an unsigned receipt is refused even with the URL token', async () => {
    const { id, parts } = await sent('unsigned attempt')
    const part = parts[0]
    assert.ok(part)
    const params = {
      msisdn: part.to,
      to: part.from,
      messageId: part.id,
      status: 'delivered',
      'err-code': '0',
      'client-ref': id,
    }
    const withToken = `${url}/webhooks/${SIGNED}/status?token=${await token(SIGNED)}`
    for (const format of ['GET', 'POST', 'POST-JSON'] as const) {
      assert.equal((await deliverCallback(withToken, params, format)).status, 403, format)
    }
    assert.equal((await message(id)).status, 'sent')
    // The same receipt, signed by the account, goes through.
    assert.equal((await fake.sendReceipt(part.id, { status: 'delivered' })).status, 204)
    assert.equal((await message(id)).status, 'delivered')
  })

  test('without a signature secret the URL token authenticates; a wrong one is 403', async () => {
    const inboundUrl = `${url}/webhooks/${TOKENED}/inbound`
    const good = `${inboundUrl}?token=${await token(TOKENED)}`
    const fields = (text: string) => ({ msisdn: '447700900777', to: '447700900100', text })
    const refused = [
      `${inboundUrl}?token=${(await token(TOKENED)).slice(0, -2)}xx`,
      inboundUrl,
      // Another instance's token is not this one's.
      `${inboundUrl}?token=${await token(SIGNED)}`,
    ]
    for (const bad of refused) {
      assert.equal((await plain.sendInbound(bad, fields('forged'))).status, 403)
    }
    assert.equal((await plain.sendInbound(good, fields('hello by token'), 'GET')).status, 204)
    const res = await t.inject({
      method: 'GET',
      url: '/v1/messages?direction=inbound&limit=200',
      headers: t.auth(),
    })
    const inbound = res.json<{ data: Msg[] }>().data.filter((m) => m.from === '+447700900777')
    assert.deepEqual(
      inbound.map((m) => [m.body, m.provider, m.to]),
      [['hello by token', TOKENED, '+447700900100']],
    )
  })

  test('a long inbound SMS in parts, out of order and one twice, is one message', async () => {
    const inboundUrl = `${url}/webhooks/${SIGNED}/inbound`
    const text = ['Part one of a long reply, ', 'part two of it, ', 'and the end.']
    const part = (n: number) => ({
      msisdn: '447700900888',
      to: '447700900100',
      text: text[n - 1] ?? '',
      concat: 'true',
      'concat-ref': '77',
      'concat-part': String(n),
      'concat-total': '3',
    })
    for (const n of [3, 1, 3, 2]) {
      assert.equal((await fake.sendInbound(inboundUrl, part(n))).status, 204, `part ${n}`)
    }
    const stored = await waitFor(async () => {
      const res = await t.inject({
        method: 'GET',
        url: '/v1/messages?direction=inbound&limit=200',
        headers: t.auth(),
      })
      const mine = res.json<{ data: Msg[] }>().data.filter((m) => m.from === '+447700900888')
      return mine.length > 0 ? mine : undefined
    })
    assert.deepEqual(
      stored.map((m) => [m.body, m.status, m.provider]),
      [[text.join(''), 'received', SIGNED]],
    )
  })
})

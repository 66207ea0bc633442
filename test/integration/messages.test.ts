// Risk: the send API accepts, stores and reports messages wrongly (statuses, timelines,
// filters, pagination, idempotency, auth) or its webhooks are unsigned or lost.
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { verifyWebhook } from '../../src/domain/webhooks/signing.js'
import {
  optInToMarketing,
  startTestSwitchboard,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'

interface Msg {
  id: string
  status: string
  to: string
  encoding: string
  segments: number
  events?: { status: string }[]
  errorCode: string | null
  from: string | null
  provider: string | null
  providerMessageId: string | null
  sender: string | null
  cost: { estimated: unknown; actual: unknown }
}

const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`

describe('messages API', () => {
  let t: TestSwitchboard
  let receiver: Server
  let receiverUrl = ''
  const received: { headers: IncomingMessage['headers']; body: string }[] = []
  let failFirst = 0

  before(async () => {
    receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        if (failFirst > 0) {
          failFirst--
          res.writeHead(500).end()
          return
        }
        received.push({ headers: req.headers, body })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
    const addr = receiver.address()
    receiverUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`
    t = await startTestSwitchboard({
      DEFAULT_COUNTRY: 'US',
      WEBHOOK_SECRET,
      WEBHOOK_RETRY_SCHEDULE: '0.05,0.05,0.05',
      // The receiver is on loopback, which webhooks may only reach with this opt-in.
      WEBHOOK_ALLOW_PRIVATE: 'true',
    })
    await optInToMarketing(t, '+14155550112')
  })
  after(async () => {
    await t.close()
    await new Promise((r) => receiver.close(r))
  })

  const send = (payload: unknown, key?: string, headers: Record<string, string> = {}) =>
    t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...t.auth(key), ...headers },
      payload: payload as Record<string, unknown>,
    })
  const get = async (id: string) =>
    (await t.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: t.auth() })).json<Msg>()

  test('a message is accepted with 202, normalised, and reaches delivered with a timeline', async () => {
    const res = await send({ to: '(415) 555-0100', body: 'Your code is ready' })
    assert.equal(res.statusCode, 202)
    const m = res.json<Msg>()
    assert.match(m.id, /^msg_[0-9A-Z]{26}$/)
    assert.equal(m.to, '+14155550100')
    assert.equal(m.status, 'queued')
    assert.equal(m.encoding, 'GSM-7')
    assert.equal(m.segments, 1)
    const done = await waitFor(async () => {
      const x = await get(m.id)
      return x.status === 'delivered' ? x : undefined
    })
    assert.deepEqual(
      done.events?.map((e) => e.status),
      ['queued', 'sending', 'sent', 'delivered'],
    )
    assert.equal(m.sender, null, 'not sent yet')
    assert.deepEqual(m.cost, { estimated: null, actual: null })
    assert.equal(done.provider, 'simulator')
    assert.equal(
      done.sender,
      '+15005550006',
      "no from, no route sender: the provider's default, the simulator's first number",
    )
    assert.deepEqual(done.cost, { estimated: null, actual: null }, 'no price table, no price')
  })

  test("a message's attempts: each try with its provider, sender, outcome and timing", async () => {
    const res = await send({ to: '+14155550101', from: '+14155550199', body: 'tries' })
    const { id } = res.json<Msg>()
    const done = await waitFor(async () => {
      const x = await get(id)
      return x.status === 'delivered' ? x : undefined
    })
    assert.equal(done.sender, '+14155550199')
    const attempts = await t.inject({
      method: 'GET',
      url: `/v1/messages/${id}/attempts`,
      headers: t.auth(t.keys.read),
    })
    assert.equal(attempts.statusCode, 200)
    const [a, ...more] = attempts.json<{ data: Record<string, unknown>[] }>().data
    assert.deepEqual(more, [])
    assert.ok(a)
    assert.deepEqual(
      [a.attempt, a.provider, a.sender, a.outcome, a.errorCode, a.cost],
      [1, 'simulator', '+14155550199', 'accepted', null, null],
    )
    assert.ok(typeof a.latencyMs === 'number' && a.latencyMs >= 0)
    assert.ok(Date.parse(String(a.endedAt)) >= Date.parse(String(a.startedAt)))
    const missing = await t.inject({
      method: 'GET',
      url: '/v1/messages/msg_00000000000000000000000000/attempts',
      headers: t.auth(t.keys.read),
    })
    assert.equal(missing.statusCode, 404)
  })

  test('encoding and segments are computed; too many segments is 422', async () => {
    const ucs = (await send({ to: '+14155550101', body: 'Привет' })).json<Msg>()
    assert.equal(ucs.encoding, 'UCS-2')
    const long = (await send({ to: '+14155550101', body: 'a'.repeat(161) })).json<Msg>()
    assert.equal(long.segments, 2)
    const tooLong = await send({ to: '+14155550101', body: 'a'.repeat(153 * 10 + 1) })
    assert.equal(tooLong.statusCode, 422)
    assert.equal(tooLong.json<{ error: { code: string } }>().error.code, 'segment_limit_exceeded')
  })

  test('invalid numbers get 422 invalid_phone_number', async () => {
    for (const to of ['+1415555', '12', '+999123456', 'call me']) {
      const res = await send({ to, body: 'x' })
      assert.equal(res.statusCode, 422, to)
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'invalid_phone_number')
    }
  })

  test('statusCallback must be a usable http(s) URL; lone surrogates are stored as U+FFFD', async () => {
    for (const statusCallback of ['http://example.com:99999/x', 'http://', 'ftp://x.example/']) {
      const res = await send({ to: '+14155550102', body: 'x', statusCallback })
      assert.equal(res.statusCode, 422, statusCallback)
    }
    const res = await send({ to: '+14155550102', body: 'a\ud800b' })
    assert.equal(res.statusCode, 202)
    const m = res.json<Msg & { body: string }>()
    assert.equal(m.body, 'a\ufffdb')
    const stored = (await get(m.id)) as Msg & { body: string }
    assert.equal(stored.body, m.body)
  })

  test('API keys: 401 without a key, 403 without the scope', async () => {
    const none = await t.inject({ method: 'GET', url: '/v1/messages' })
    assert.equal(none.statusCode, 401)
    assert.equal(none.json<{ error: { code: string } }>().error.code, 'unauthorized')
    const wrongScope = await send({ to: '+14155550100', body: 'x' }, t.keys.read)
    assert.equal(wrongScope.statusCode, 403)
    assert.equal(wrongScope.json<{ error: { code: string } }>().error.code, 'insufficient_scope')
    const cannotRead = await t.inject({
      method: 'GET',
      url: '/v1/messages',
      headers: t.auth(t.keys.write),
    })
    assert.equal(cannotRead.statusCode, 403)
  })

  test('a revoked key stops working', async () => {
    const created = await t.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: t.auth(),
      payload: { name: 'temp', scopes: ['messages:read'] },
    })
    assert.equal(created.statusCode, 201)
    const { id, key } = created.json<{ id: string; key: string }>()
    assert.equal(
      (await t.inject({ method: 'GET', url: '/v1/messages', headers: t.auth(key) })).statusCode,
      200,
    )
    const listed = await t.inject({ method: 'GET', url: '/v1/keys', headers: t.auth() })
    assert.ok(!listed.body.includes(key), 'the secret is never listed')
    await t.inject({ method: 'POST', url: `/v1/keys/${id}/revoke`, headers: t.auth() })
    assert.equal(
      (await t.inject({ method: 'GET', url: '/v1/messages', headers: t.auth(key) })).statusCode,
      401,
    )
  })

  test('batch: each message validated on its own', async () => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: t.auth(),
      payload: {
        messages: [
          { to: '+14155550110', body: 'one' },
          { to: 'nope', body: 'two' },
          { to: '+14155550112', body: 'three', type: 'marketing' },
        ],
      },
    })
    assert.equal(res.statusCode, 202)
    const b = res.json<{
      accepted: number
      failed: number
      data: { index: number; message?: Msg; error?: { code: string } }[]
    }>()
    assert.equal(b.accepted, 2)
    assert.equal(b.failed, 1)
    assert.equal(b.data[1]?.error?.code, 'invalid_phone_number')
    assert.ok(b.data[0]?.message && b.data[2]?.message)
    for (const d of [b.data[0], b.data[2]]) {
      const stored = await get(d?.message?.id ?? '')
      assert.ok(stored.id)
    }
  })

  test('idempotency: same key and payload replays, different payload is 422', async () => {
    const headers = { 'idempotency-key': 'order-1234' }
    const a = await send({ to: '+14155550120', body: 'hello' }, undefined, headers)
    const b = await send({ body: 'hello', to: '+14155550120' }, undefined, headers)
    assert.equal(a.statusCode, 202)
    assert.equal(b.statusCode, 202)
    assert.equal(b.headers['idempotent-replayed'], 'true')
    assert.equal(a.json<Msg>().id, b.json<Msg>().id)
    const c = await send({ to: '+14155550120', body: 'different' }, undefined, headers)
    assert.equal(c.statusCode, 422)
    assert.equal(c.json<{ error: { code: string } }>().error.code, 'idempotency_key_reused')
    // Keys are scoped to the API key: another key may use the same value.
    const other = await send({ to: '+14155550120', body: 'hello' }, t.keys.write, headers)
    assert.notEqual(other.json<Msg>().id, a.json<Msg>().id)
  })

  test('list: filters and cursor pagination', async () => {
    const to = '+14155550130'
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await send({ to, body: `n${i}` })).json<Msg>().id)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const q: string = `/v1/messages?to=${encodeURIComponent(to)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`
      const page = (await t.inject({ method: 'GET', url: q, headers: t.auth() })).json<{
        data: Msg[]
        nextCursor: string | null
      }>()
      assert.ok(page.data.length <= 2)
      seen.push(...page.data.map((m) => m.id))
      cursor = page.nextCursor
    } while (cursor)
    assert.deepEqual(seen, [...ids].reverse())
    const marketing = (
      await t.inject({ method: 'GET', url: '/v1/messages?type=marketing', headers: t.auth() })
    ).json<{ data: Msg[] }>()
    assert.ok(marketing.data.length >= 1)
    const future = new Date(Date.now() + 3_600_000).toISOString()
    const none = (
      await t.inject({
        method: 'GET',
        url: `/v1/messages?createdAfter=${encodeURIComponent(future)}`,
        headers: t.auth(),
      })
    ).json<{ data: Msg[] }>()
    assert.equal(none.data.length, 0)
    const bad = await t.inject({ method: 'GET', url: '/v1/messages?cursor=zzz', headers: t.auth() })
    assert.equal(bad.statusCode, 422)
  })

  test('scheduled messages can be canceled and are never sent', async () => {
    const sendAt = new Date(Date.now() + 60_000).toISOString()
    const m = (await send({ to: '+14155550140', body: 'later', sendAt })).json<Msg>()
    assert.equal(m.status, 'scheduled')
    const res = await t.inject({
      method: 'POST',
      url: `/v1/messages/${m.id}/cancel`,
      headers: t.auth(),
    })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json<Msg>().status, 'canceled')
    const again = await t.inject({
      method: 'POST',
      url: `/v1/messages/${m.id}/cancel`,
      headers: t.auth(),
    })
    assert.equal(again.statusCode, 409)
    const missing = await t.inject({
      method: 'POST',
      url: '/v1/messages/msg_00000000000000000000000000/cancel',
      headers: t.auth(),
    })
    assert.equal(missing.statusCode, 404)
  })

  test('status callbacks are Standard Webhooks, signed, retried and logged', async () => {
    failFirst = 1
    const m = (
      await send({ to: '+14155550150', body: 'hook me', statusCallback: receiverUrl })
    ).json<Msg>()
    const delivered = await waitFor(() => {
      const hits = received.filter((r) => r.body.includes(m.id))
      const types = new Set(hits.map((h) => (JSON.parse(h.body) as { type: string }).type))
      return types.size === 3 ? hits : undefined
    })
    for (const h of delivered) {
      const id = String(h.headers['webhook-id'])
      const signature = String(h.headers['webhook-signature'])
      assert.match(signature, /^v1,/)
      assert.ok(
        verifyWebhook(
          WEBHOOK_SECRET,
          { id, timestamp: String(h.headers['webhook-timestamp']), signature },
          h.body,
        ),
      )
      const payload = JSON.parse(h.body) as { type: string; data: { id: string; body?: string } }
      assert.equal(payload.data.id, m.id)
      assert.equal(payload.data.body, undefined, 'webhooks never carry the message body')
    }
    assert.deepEqual(
      [...new Set(delivered.map((h) => (JSON.parse(h.body) as { type: string }).type))].sort(),
      ['message.delivered', 'message.sending', 'message.sent'],
    )
    type Log = { data: { status: string; attemptLog: { statusCode: number | null }[] }[] }
    const log = await waitFor(async () => {
      const l = (
        await t.inject({ method: 'GET', url: `/v1/messages/${m.id}/webhooks`, headers: t.auth() })
      ).json<Log>()
      return l.data.length === 3 && l.data.every((d) => d.status === 'succeeded') ? l : undefined
    })
    const retried = log.data.find((d) => d.attemptLog.length > 1)
    assert.ok(retried, 'the first failing attempt was retried')
    assert.equal(retried.attemptLog[0]?.statusCode, 500)
    assert.equal(retried.attemptLog[1]?.statusCode, 204)
  })

  test('health, readiness and the OpenAPI document', async () => {
    assert.equal((await t.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
    assert.equal((await t.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
    const doc = (await t.inject({ method: 'GET', url: '/openapi.json' })).json<{
      openapi: string
      paths: Record<string, unknown>
    }>()
    assert.match(doc.openapi, /^3\./)
    for (const p of ['/v1/messages', '/v1/messages/batch', '/v1/messages/{id}', '/v1/keys']) {
      assert.ok(doc.paths[p], p)
    }
    const docs = await t.inject({ method: 'GET', url: '/docs/' })
    assert.equal(docs.statusCode, 200)
  })
})

// Risk: an inbox fed by GET /v1/events/stream misses an event or shows one twice (a resume
// racing new events, a wake-up lost between the background thread and the HTTP thread), or
// a stream outlives the server's stop.
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { openDb } from '../../src/store/db.js'
import { generateWebhookSecret, verifyWebhook } from '../../src/domain/webhooks/signing.js'
import { startTestSwitchboard, TEST_DB, waitFor, type TestSwitchboard } from '../support/harness.js'
import { openSse } from '../support/sse.js'

interface Payload {
  type: string
  timestamp: string
  data: { id: string; from: string; to: string; body: string; status: string }
}

const codeOf = (body: string | undefined) =>
  (JSON.parse(body ?? '{}') as { error?: { code: string } }).error?.code

async function listening(t: TestSwitchboard): Promise<string> {
  const app = t.sb.app
  assert.ok(app)
  return app.listen({ port: 0, host: '127.0.0.1' })
}

describe(`GET /v1/events/stream (${TEST_DB})`, () => {
  let t: TestSwitchboard
  let base = ''
  before(async () => {
    // No fallback poll in these tests: every event must come by its wake-up (a commit on this
    // thread, or the background thread's message after its commit).
    t = await startTestSwitchboard({ EVENT_STREAM_POLL_MS: '600000' })
    base = await listening(t)
  })
  after(() => t.close())

  const text = async (from: string, body: string) => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/simulator/inbound',
      headers: t.auth(),
      payload: { from, body },
    })
    assert.equal(res.statusCode, 201, res.body)
    return res.json<{ id: string }>().id
  }
  const stream = (headers: Record<string, string> = {}, query = '') =>
    openSse(`${base}/v1/events/stream${query}`, { ...t.auth(t.keys.read), ...headers })

  test('an inbound SMS reaches an open stream as message.received, with the webhook payload', async () => {
    const s = await stream()
    try {
      assert.equal(s.status, 200)
      assert.match(String(s.headers['content-type']), /^text\/event-stream/)
      assert.equal(s.headers['cache-control'], 'no-cache, no-transform')
      const id = await text('+14155550301', 'Is my order on its way?')
      const [f] = await s.waitFrames(1)
      assert.ok(f)
      assert.equal(f.event, 'message.received')
      assert.match(f.id ?? '', /^[0-9]+$/)
      const p = JSON.parse(f.data) as Payload
      assert.equal(p.type, 'message.received')
      assert.ok(!Number.isNaN(Date.parse(p.timestamp)))
      assert.deepEqual(
        [p.data.id, p.data.from, p.data.to, p.data.body, p.data.status],
        [id, '+14155550301', '+15005550006', 'Is my order on its way?', 'received'],
      )
    } finally {
      await s.close()
    }
  })

  test('Last-Event-ID replays what came after it, then goes on live: each event once, none missed', async () => {
    const first = await stream()
    await text('+14155550302', 'one')
    const [mark] = await first.waitFrames(1)
    await first.close()
    assert.ok(mark?.id)
    const raise = (n: number, tag: string) =>
      t.sb.store.tx(() =>
        t.sb.store.events.raise(
          Array.from({ length: n }, (_, i) => ({
            type: 'test.event',
            data: { tag, i },
            at: Date.now(),
          })),
        ),
      )
    // More than one page (200) waits to be replayed, and more comes while the stream replays.
    await raise(450, 'before')
    const resumed = await stream({ 'last-event-id': mark.id })
    try {
      const racing = Promise.all(Array.from({ length: 20 }, (_, i) => raise(5, `during-${i}`)))
      await racing
      await text('+14155550302', 'two') // through the background thread
      const frames = await resumed.waitFrames(450 + 100 + 1)
      const ids = frames.map((f) => Number(f.id))
      assert.equal(new Set(ids).size, ids.length, 'nothing twice')
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'in log order',
      )
      assert.ok(ids.every((id) => id > Number(mark.id)))
      const rows = await t.sb.store.readEventsAfter(Number(mark.id), 10_000)
      assert.deepEqual(
        ids,
        rows.map((r) => r.id),
        'every event after the mark, none missed',
      )
      assert.equal(frames.at(-1)?.event, 'message.received')
      await new Promise((r) => setTimeout(r, 200))
      assert.equal(resumed.frames.length, 551, 'nothing more')
    } finally {
      await resumed.close()
    }
  })

  test('the lastEventId query resumes like the header; types= filters', async () => {
    const last = (await t.sb.store.eventBounds()).last ?? 0
    await t.sb.store.tx(() =>
      t.sb.store.events.raise([{ type: 'test.other', data: {}, at: Date.now() }]),
    )
    await text('+14155550303', 'filtered')
    const s = await stream({}, `?lastEventId=${last}&types=message.received`)
    try {
      const [f] = await s.waitFrames(1)
      assert.equal(f?.event, 'message.received')
      assert.equal((JSON.parse(f?.data ?? '{}') as Payload).data.body, 'filtered')
      await new Promise((r) => setTimeout(r, 200))
      assert.equal(s.frames.length, 1, 'the other type is left out')
    } finally {
      await s.close()
    }
  })

  test('a Last-Event-ID older than the retained window gets event: reset, then what remains', async () => {
    const { first, last } = await t.sb.store.eventBounds()
    assert.ok(first !== null && last !== null)
    // Purge everything but the newest event, as EVENT_RETENTION_HOURS would.
    await t.sb.store.purgeEvents(Date.now() + 1, 100_000)
    assert.deepEqual(await t.sb.store.eventBounds(), { first: last, last })
    const s = await stream({ 'last-event-id': String(first) })
    try {
      const [reset, kept] = await s.waitFrames(2)
      assert.equal(reset?.event, 'reset')
      assert.equal(reset?.id, undefined)
      assert.deepEqual(JSON.parse(reset?.data ?? '{}'), {
        type: 'reset',
        lastEventId: String(first),
        firstEventId: last,
      })
      assert.equal(kept?.id, String(last))
    } finally {
      await s.close()
    }
    // An id the log never reached: reset, then only new events.
    const ahead = await stream({ 'last-event-id': String(last + 1000) })
    try {
      const [reset] = await ahead.waitFrames(1)
      assert.equal(reset?.event, 'reset')
      await text('+14155550304', 'after the reset')
      const [, next] = await ahead.waitFrames(2)
      assert.equal((JSON.parse(next?.data ?? '{}') as Payload).data.body, 'after the reset')
    } finally {
      await ahead.close()
    }
  })

  test('a bad Last-Event-ID or query is refused; the scope is messages:read', async () => {
    const bad = await stream({ 'last-event-id': 'abc' })
    assert.equal(bad.status, 422)
    assert.equal(codeOf(bad.body), 'validation_failed')
    const badTypes = await stream({}, '?types=NOT%20A%20TYPE')
    assert.equal(badTypes.status, 422)
    const noKey = await openSse(`${base}/v1/events/stream`, {})
    assert.equal(noKey.status, 401)
    const writeOnly = await openSse(`${base}/v1/events/stream`, t.auth(t.keys.write))
    assert.equal(writeOnly.status, 403)
  })
})

describe(`event streams are bounded and end with the server (${TEST_DB})`, () => {
  test('EVENT_STREAM_MAX streams at most (503 beyond); stop ends open streams', async () => {
    const t = await startTestSwitchboard({ EVENT_STREAM_MAX: '2' })
    let closed = false
    try {
      const base = await listening(t)
      const open = () =>
        openSse(`${base}/v1/events/stream`, { authorization: `Bearer ${t.keys.read}` })
      const a = await open()
      const b = await open()
      const c = await open()
      assert.deepEqual([a.status, b.status, c.status], [200, 200, 503])
      assert.equal(codeOf(c.body), 'service_unavailable')
      await a.close()
      const d = await waitFor(async () => {
        const s = await open()
        return s.status === 200 ? s : undefined
      })
      // A graceful stop does not wait for the streams' clients to hang up.
      await t.close()
      closed = true
      await assert.rejects(b.waitFrames(1), /stream ended/)
      await assert.rejects(d.waitFrames(1), /stream ended/)
    } finally {
      if (!closed) await t.close()
    }
  })
})

describe(`the fallback poll (${TEST_DB})`, () => {
  test('an event committed without any wake-up still reaches open streams', async () => {
    const t = await startTestSwitchboard({ EVENT_STREAM_POLL_MS: '100' })
    const db = openDb(t.config.database)
    try {
      const base = await listening(t)
      const s = await openSse(`${base}/v1/events/stream`, t.auth(t.keys.read))
      try {
        // Written by another connection with plain SQL: no NOTIFY, no message between threads.
        await db.kysely
          .insertInto('events')
          .values({ type: 'test.unannounced', data: '{}', at: Date.now() })
          .execute()
        const [f] = await s.waitFrames(1)
        assert.equal(f?.event, 'test.unannounced')
      } finally {
        await s.close()
      }
    } finally {
      await db.close()
      await t.close()
    }
  })
})

describe(`message.received reaches webhook endpoints, signed (${TEST_DB})`, () => {
  let receiver: Server
  const received: { headers: IncomingMessage['headers']; body: string }[] = []
  before(async () => {
    receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        received.push({ headers: req.headers, body })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  })
  after(() => new Promise((r) => receiver.close(r)))

  test('a simulated inbound SMS is delivered to a configured endpoint with a Standard Webhooks signature', async () => {
    const secret = generateWebhookSecret()
    const port = (receiver.address() as AddressInfo).port
    const t = await startTestSwitchboard({
      WEBHOOK_ENDPOINTS: JSON.stringify([{ url: `http://127.0.0.1:${port}/hooks`, secret }]),
      WEBHOOK_ALLOW_PRIVATE: 'true',
    })
    try {
      const res = await t.inject({
        method: 'POST',
        url: '/v1/simulator/inbound',
        headers: t.auth(),
        payload: { from: '+14155550305', body: 'Webhook me' },
      })
      assert.equal(res.statusCode, 201)
      const hook = await waitFor(() => received.find((r) => r.body.includes('"message.received"')))
      const p = JSON.parse(hook.body) as Payload
      assert.deepEqual([p.data.id, p.data.body], [res.json<{ id: string }>().id, 'Webhook me'])
      const h = hook.headers
      assert.ok(
        verifyWebhook(
          secret,
          {
            id: String(h['webhook-id']),
            timestamp: String(h['webhook-timestamp']),
            signature: String(h['webhook-signature']),
          },
          hook.body,
        ),
      )
    } finally {
      await t.close()
    }
  })
})

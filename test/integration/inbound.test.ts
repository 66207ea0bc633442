// Risk covered: a replayed inbound webhook stores the SMS twice; the parts of a concatenated
// SMS are lost, joined out of order, doubled by a repeated part, or (two webhooks carrying the
// last parts at once) joined twice or never; inbound messages cannot be listed apart.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import type { ProviderEvent } from '../../src/providers/provider.js'
import { JobWorker } from '../../src/queue/job.worker.js'
import { INBOUND_PARTS_WAIT_MS } from '../../src/queue/job.worker.js'
import { jobCatalog } from '../../src/queue/jobs/catalog.js'
import { ReportIngestor } from '../../src/queue/report.ingestor.js'
import { Store } from '../../src/store/store.js'
import { createFanout } from '../../src/domain/webhooks/fanout.js'
import { inboundEffects } from '../../src/usecases/inbound.js'
import {
  openTestStore,
  startTestSwitchboard,
  TEST_DB,
  type TestSwitchboard,
} from '../support/harness.js'

const NOW = 1_800_000_000_000
const silent = pino({ level: 'silent' })
type Inbound = Extract<ProviderEvent, { type: 'inbound' }>

const sms = (providerMessageId: string, body: string, extra: Partial<Inbound> = {}): Inbound => ({
  type: 'inbound',
  providerMessageId,
  from: '+14155550777',
  to: '+14155550100',
  body,
  at: NOW - 1000,
  ...extra,
})
const part = (ref: string, n: number, total: number, body: string, from = '+14155550777') =>
  sms(`${from.slice(-4)}-${ref}-p${n}`, body, { from, concat: { ref, part: n, total } })

describe(`inbound SMS (${TEST_DB})`, () => {
  let store: Store
  let close: () => Promise<void>
  let clock = NOW
  let ingestor: ReportIngestor

  before(async () => {
    ;({ store, close } = await openTestStore())
    ingestor = new ReportIngestor(store, silent, () => clock)
  })
  after(async () => {
    await close()
  })

  const inbound = (from: string) =>
    store.db.kysely
      .selectFrom('messages')
      .selectAll()
      .where('direction', '=', 'inbound')
      .where('from_number', '=', from)
      .orderBy('id')
      .execute()
  const waiting = async () =>
    Number(
      (
        await store.db.kysely
          .selectFrom('inbound_parts')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )

  test('an inbound SMS is stored once as received, however often its webhook comes', async () => {
    const from = '+14155550701'
    await ingestor.ingest('twilio-us', [sms('SM1', 'Hello ☺', { from })])
    await ingestor.ingest('twilio-us', [sms('SM1', 'Hello ☺', { from })])
    await ingestor.ingest('twilio-us', [
      sms('SM1', 'Hello ☺', { from }),
      sms('SM1', 'Hello ☺', { from }),
    ])
    const [m, ...more] = await inbound(from)
    assert.ok(m)
    assert.deepEqual(more, [], 'stored once')
    assert.deepEqual(
      [m.status, m.direction, m.from_number, m.to_number, m.body, m.encoding, m.segments],
      ['received', 'inbound', from, '+14155550100', 'Hello ☺', 'UCS-2', 1],
    )
    assert.deepEqual(
      [m.provider, m.provider_message_id, m.completed_at],
      ['twilio-us', 'SM1', NOW - 1000],
    )
    assert.deepEqual(
      (await store.listEvents(m.id)).map((e) => e.status),
      ['received'],
    )
    // The same id from another instance is another message.
    await ingestor.ingest('twilio-eu', [sms('SM1', 'Hello ☺', { from })])
    assert.equal((await inbound(from)).length, 2)
  })

  test('the parts of a concatenated SMS become one message, in order, out of order and twice', async () => {
    const from = '+14155550702'
    // Received in the order 3, 1, 2 (their times say so too).
    await ingestor.ingest('vonage', [{ ...part('R1', 3, 3, 'three.', from), at: NOW - 3000 }])
    await ingestor.ingest('vonage', [
      part('R1', 1, 3, 'one, ', from),
      part('R1', 1, 3, 'one, ', from),
    ])
    assert.deepEqual(await inbound(from), [], 'nothing until the last part')
    assert.equal(await waiting(), 2)
    await ingestor.ingest('vonage', [part('R1', 2, 3, 'two, ', from)])
    const [m, ...more] = await inbound(from)
    assert.ok(m)
    assert.deepEqual(more, [])
    assert.equal(m.body, 'one, two, three.')
    assert.equal(m.provider_message_id, '0702-R1-p1')
    assert.equal(await waiting(), 0, 'the parts are gone once joined')
    // A part replayed after the join is that message's, not the start of another.
    await ingestor.ingest('vonage', [part('R1', 2, 3, 'two, ', from)])
    assert.equal((await inbound(from)).length, 1)
    assert.equal(await waiting(), 0)
    // The same reference from another sender is another message.
    await ingestor.ingest('vonage', [
      part('R1', 1, 2, 'a', '+14155550703'),
      part('R1', 2, 2, 'b', '+14155550703'),
    ])
    assert.equal((await inbound('+14155550703'))[0]?.body, 'ab')
  })

  test('two webhooks carrying the last parts at once make exactly one message', async () => {
    const groups = 12
    const from = (g: number) => `+1415555${String(1000 + g)}`
    // Half the groups have their first part already; in the others both parts come at once.
    for (let g = 0; g < groups / 2; g++) {
      await ingestor.ingest('vonage', [part(`C${g}`, 1, 3, 'x', from(g))])
    }
    await Promise.all(
      Array.from({ length: groups }, (_, g) =>
        g < groups / 2
          ? [
              ingestor.ingest('vonage', [part(`C${g}`, 2, 3, 'y', from(g))]),
              ingestor.ingest('vonage', [part(`C${g}`, 3, 3, 'z', from(g))]),
            ]
          : [
              ingestor.ingest('vonage', [part(`C${g}`, 1, 2, 'x', from(g))]),
              ingestor.ingest('vonage', [part(`C${g}`, 2, 2, 'y', from(g))]),
            ],
      ).flat(),
    )
    for (let g = 0; g < groups; g++) {
      const got = (await inbound(from(g))).map((m) => m.body)
      assert.deepEqual(got, [g < groups / 2 ? 'xyz' : 'xy'], from(g))
    }
    assert.equal(await waiting(), 0)
  })

  test('a concatenated SMS whose last part never comes is stored with the parts that came', async () => {
    const from = '+14155550704'
    await ingestor.ingest('vonage', [
      part('L1', 1, 3, 'first ', from),
      part('L1', 3, 3, 'last', from),
    ])
    const worker = new JobWorker(store, jobCatalog(ingestor), silent, 20, () => clock)
    await worker.tick()
    assert.deepEqual(await inbound(from), [], 'not while the part may still come')
    clock += INBOUND_PARTS_WAIT_MS + 120_000
    await worker.tick()
    assert.deepEqual(
      (await inbound(from)).map((m) => m.body),
      ['first last'],
    )
    assert.equal(await waiting(), 0)
  })

  test('malformed parts are dropped, not kept waiting', async () => {
    const from = '+14155550705'
    await ingestor.ingest('vonage', [
      part('M1', 3, 2, 'beyond total', from),
      part('M1', 0, 2, 'part zero', from),
      part('M1', 1, 256, 'too many', from),
    ])
    assert.equal(await waiting(), 0)
  })
})

describe(`GET /v1/messages?direction=inbound (${TEST_DB})`, () => {
  let t: TestSwitchboard
  before(async () => {
    t = await startTestSwitchboard({ WORKER_THREAD: 'false' })
  })
  after(async () => {
    await t.close()
  })

  test('lists received messages only, with their fields', async () => {
    const send = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(),
      payload: { to: '+14155550100', body: 'outbound' },
    })
    assert.equal(send.statusCode, 202)
    const ingestor = new ReportIngestor(t.sb.store, silent)
    await ingestor.ingest('simulator', [sms('IN-9', 'STOP', { at: Date.now() - 1000 })])
    const list = await t.inject({
      method: 'GET',
      url: '/v1/messages?direction=inbound',
      headers: t.auth(t.keys.read),
    })
    assert.equal(list.statusCode, 200)
    const body = list.json<{ data: Record<string, unknown>[] }>()
    assert.equal(body.data.length, 1)
    assert.deepEqual(
      [body.data[0]?.direction, body.data[0]?.status, body.data[0]?.from, body.data[0]?.to],
      ['inbound', 'received', '+14155550777', '+14155550100'],
    )
    assert.deepEqual(
      [body.data[0]?.body, body.data[0]?.provider, body.data[0]?.providerMessageId],
      ['STOP', 'simulator', 'IN-9'],
    )
    const outbound = await t.inject({
      method: 'GET',
      url: '/v1/messages?direction=outbound',
      headers: t.auth(t.keys.read),
    })
    assert.deepEqual(
      outbound.json<{ data: { direction: string }[] }>().data.map((m) => m.direction),
      ['outbound'],
    )
    const bad = await t.inject({
      method: 'GET',
      url: '/v1/messages?direction=sideways',
      headers: t.auth(t.keys.read),
    })
    assert.equal(bad.statusCode, 422)
  })
})

describe(`inbound SMS raise message.received (${TEST_DB})`, () => {
  test('once per stored SMS, logged for the stream and queued for every endpoint, in the same transaction', async (t) => {
    const { store: plain, close } = await openTestStore()
    t.after(close)
    const store = new Store(
      plain.db,
      createFanout({ endpoints: [{ id: 'whe_app', url: 'https://app.example.com/hooks' }] }),
    )
    const ingestor = new ReportIngestor(store, silent, () => NOW, inboundEffects(store))
    const from = '+14155550702'
    await ingestor.ingest('twilio-us', [sms('SM-ev-1', 'Where is my order?', { from })])
    await ingestor.ingest('twilio-us', [sms('SM-ev-1', 'Where is my order?', { from })]) // replay
    const events = await store.db.kysely.selectFrom('events').selectAll().orderBy('id').execute()
    assert.equal(events.length, 1, 'a replayed webhook raises nothing')
    const [e] = events
    assert.ok(e)
    assert.equal(e.type, 'message.received')
    const data = JSON.parse(e.data) as {
      id: string
      from: string
      body: string
      status: string
      conversationId: string
    }
    assert.deepEqual([data.from, data.body, data.status], [from, 'Where is my order?', 'received'])
    const conversation = await store.db.kysely
      .selectFrom('conversations')
      .select('id')
      .where('number', '=', '+14155550100')
      .executeTakeFirstOrThrow()
    assert.equal(data.conversationId, conversation.id, 'the event names its conversation')
    const deliveries = await store.db.kysely
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('event_type', '=', 'message.received')
      .execute()
    assert.equal(deliveries.length, 1)
    const [d] = deliveries
    assert.ok(d)
    assert.equal(d.message_id, data.id)
    assert.equal(d.url, 'https://app.example.com/hooks')
    const payload = JSON.parse(d.payload) as { type: string; data: { id: string } }
    assert.deepEqual([payload.type, payload.data.id], ['message.received', data.id])
  })
})

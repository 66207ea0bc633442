// Risk covered: the embedded default (`start --role all`) commits intake in a background
// thread and dispatches there on a second connection. A message acknowledged by the HTTP
// thread could be lost or sent twice across the threads, idempotency could break when the
// commit happens elsewhere, a stop could leave claimed messages behind, and dispatch could
// stall entirely while intake stays busy (it is paced, never stopped).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { openDb } from '../../src/store/db.js'
import {
  startTestSwitchboard,
  statusCounts,
  TEST_DB,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'

interface Msg {
  id: string
  status: string
  events: { status: string }[]
}

function to(i: number): string {
  return `+1415555${String(i % 10_000).padStart(4, '0')}`
}

describe(`background thread, role all (${TEST_DB})`, () => {
  let t: TestSwitchboard
  before(async () => {
    t = await startTestSwitchboard({ WORKER_THREAD: 'true' })
  })
  after(async () => {
    await t.close()
  })

  test('the thread runs the workers, not the HTTP thread', () => {
    assert.equal(t.sb.sendWorker, undefined)
  })

  test('single and batch submissions are committed by the thread and delivered', async () => {
    const single = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(),
      payload: { to: to(1), body: 'thread single' },
    })
    assert.equal(single.statusCode, 202, single.body)
    const id = single.json<Msg>().id
    const batch = await t.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: t.auth(),
      payload: {
        messages: [
          ...Array.from({ length: 300 }, (_, i) => ({ to: to(i + 2), body: `thread ${i}` })),
          { to: 'not a number', body: 'rejected alone' },
        ],
      },
    })
    assert.equal(batch.statusCode, 202, batch.body)
    const result = batch.json<{ accepted: number; failed: number }>()
    assert.equal(result.accepted, 300)
    assert.equal(result.failed, 1)

    const counts = await waitFor(
      async () => {
        const c = await statusCounts(t)
        return c.delivered === 301 ? c : undefined
      },
      20_000,
      '301 messages delivered',
    )
    assert.deepEqual(counts, { delivered: 301 })
    const shown = await t.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: t.auth() })
    const statuses = shown.json<Msg>().events.map((e) => e.status)
    assert.deepEqual(statuses, ['queued', 'sending', 'sent', 'delivered'])
  })

  test('idempotency holds when the commit happens in the thread', async () => {
    const send = (body: string) =>
      t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { ...t.auth(), 'idempotency-key': 'thread-key-1' },
        payload: { to: to(9000), body },
      })
    const [a, b] = await Promise.all([send('same'), send('same')])
    const codes = [a.statusCode, b.statusCode].sort()
    // Either the second waited for the first (replay) or ran into it in flight (409).
    assert.ok(
      JSON.stringify(codes) === '[202,202]' || JSON.stringify(codes) === '[202,409]',
      `codes ${codes.join(',')}`,
    )
    const replay = await send('same')
    assert.equal(replay.statusCode, 202)
    assert.equal(replay.headers['idempotent-replayed'], 'true')
    assert.equal(replay.json<Msg>().id, a.statusCode === 202 ? a.json<Msg>().id : b.json<Msg>().id)
    const reused = await send('different')
    assert.equal(reused.statusCode, 422)
  })
})

describe(`dispatch while intake stays busy (${TEST_DB})`, () => {
  let t: TestSwitchboard
  before(async () => {
    // A low pace makes the limit visible; 0 would lift it.
    t = await startTestSwitchboard({ WORKER_THREAD: 'true', WORKER_RATE_DURING_INTAKE: '50' })
  })
  after(async () => {
    await t.close()
  })

  test('messages keep going out during a continuous stream of submissions', async () => {
    const ids: string[] = []
    let deliveredDuringIntake = 0
    // Submissions every few milliseconds keep intake busy the whole time.
    for (let i = 0; i < 400 && deliveredDuringIntake === 0; i++) {
      const res = await t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(),
        payload: { to: to(i), body: `stream ${i}` },
      })
      assert.equal(res.statusCode, 202, res.body)
      ids.push(res.json<Msg>().id)
      if (i % 20 === 19) deliveredDuringIntake = (await statusCounts(t)).delivered ?? 0
      await new Promise((r) => setTimeout(r, 5))
    }
    assert.ok(deliveredDuringIntake > 0, 'some messages were delivered while intake was busy')
    await waitFor(
      async () => ((await statusCounts(t)).delivered === ids.length ? true : undefined),
      20_000,
      'every streamed message delivered after intake ended',
    )
  })
})

describe(`stopping the background thread (${TEST_DB})`, () => {
  test('a stop finishes the claimed sends: none is left in sending', async () => {
    const t = await startTestSwitchboard({
      WORKER_THREAD: 'true',
      // Sends stay in flight long enough to be seen, and to be running at the stop.
      SIMULATOR_LATENCY_MS: '200',
    })
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: t.auth(),
      payload: { messages: Array.from({ length: 500 }, (_, i) => ({ to: to(i), body: `s ${i}` })) },
    })
    assert.equal(res.statusCode, 202, res.body)
    await waitFor(async () => ((await statusCounts(t)).sending ? true : undefined), 10_000, 'sends')
    await t.sb.stop()
    // The server's store is closed now: count through a fresh connection.
    const db = openDb(t.config.database)
    const counts = await statusCounts(db).finally(() => db.close())
    assert.equal(
      counts.sending ?? 0,
      0,
      `nothing left claimed after stop: ${JSON.stringify(counts)}`,
    )
    const total = Object.values(counts).reduce((a, b) => a + b, 0)
    assert.equal(total, 500)
    await t.close().catch(() => undefined)
  })
})

// Risk covered: provider faults (transient 5xx/429/timeouts, permanent rejections, a validity
// period running out) or scheduling and cancellation leave messages in the wrong final state,
// retried too often, or sent when they should not be.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { SimulatorCore } from '../../src/providers/simulator/simulator-core.js'
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
  errorCode: string | null
  attempts: number
  sendAt: string | null
  sentAt: string | null
  events: { status: string; at: string; errorCode: string | null; detail: string | null }[]
}

const RETRY_CODES = ['provider_unavailable', 'provider_rate_limited', 'provider_timeout']
const RETRY_AFTER_MS = 50

function simulatorOf(t: TestSwitchboard): SimulatorCore {
  const provider = t.sb.providers.get('simulator') as unknown as { core?: SimulatorCore }
  assert.ok(provider.core, 'the in-process simulator')
  return provider.core
}

function client(t: TestSwitchboard) {
  return {
    async send(payload: Record<string, unknown>): Promise<Msg> {
      const res = await t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(),
        payload,
      })
      assert.equal(res.statusCode, 202, res.body)
      return res.json<Msg>()
    },
    async get(id: string): Promise<Msg> {
      const res = await t.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: t.auth() })
      assert.equal(res.statusCode, 200, res.body)
      return res.json<Msg>()
    },
    cancel: (id: string) =>
      t.inject({ method: 'POST', url: `/v1/messages/${id}/cancel`, headers: t.auth() }),
  }
}

describe(`transient provider failures (${TEST_DB})`, () => {
  const TOTAL = 2_000
  let t: TestSwitchboard

  before(async () => {
    t = await startTestSwitchboard({
      WORKER_THREAD: 'false', // reaches into the in-process simulator
      // 30% of attempts fail: 5xx, 429 with Retry-After, or a timeout, in equal shares.
      SIMULATOR_TRANSIENT_RATE: '0.3',
      SIMULATOR_RETRY_AFTER_MS: String(RETRY_AFTER_MS),
      SIMULATOR_SEED: '11',
      // The only provider: runs of 5 failures are certain at 30%, and its open circuit would
      // hold every message back for CIRCUIT_COOLDOWN_MS (routing.test.ts covers circuits).
      CIRCUIT_FAILURES: '1000000',
    })
  })
  after(async () => {
    await t?.close()
  })

  test('2,000 messages under 30% transient failures are all delivered', async () => {
    const ids: string[] = []
    for (let b = 0; b < TOTAL / 500; b++) {
      const messages = Array.from({ length: 500 }, (_, k) => ({
        to: `+1415${4_000_000 + b * 500 + k}`,
        body: `fault ${b * 500 + k}`,
      }))
      const res = await t.inject({
        method: 'POST',
        url: '/v1/messages/batch',
        headers: t.auth(),
        payload: { messages },
      })
      assert.equal(res.statusCode, 202, res.body)
      for (const d of res.json<{ data: { message?: { id: string } }[] }>().data) {
        if (d.message) ids.push(d.message.id)
      }
    }
    assert.equal(ids.length, TOTAL)

    const counts = await waitFor(
      async () => {
        const c = await statusCounts(t)
        return c.delivered === TOTAL ? c : undefined
      },
      60_000,
      'all messages delivered',
    )
    assert.deepEqual(counts, { delivered: TOTAL })

    const stats = simulatorOf(t).stats()
    const share = stats.transient / stats.attempts
    assert.ok(share > 0.2 && share < 0.4, `transient share ${share.toFixed(3)}`)
    assert.equal(stats.uniqueAccepted, TOTAL)

    // Timelines: every attempt is a `sending` event; a failed attempt is followed by a
    // `queued` event with the provider's code and the time of the next try.
    const events = await t.sb.store.db.kysely
      .selectFrom('message_events')
      .select(['message_id', 'status', 'error_code', 'detail', 'at'])
      .orderBy('id', 'asc')
      .execute()
    const byMessage = new Map<string, typeof events>()
    for (const e of events) {
      const list = byMessage.get(e.message_id) ?? []
      list.push(e)
      byMessage.set(e.message_id, list)
    }
    const attempts = new Map(
      (await t.sb.store.db.kysely.selectFrom('messages').select(['id', 'attempts']).execute()).map(
        (r) => [r.id, r.attempts],
      ),
    )
    const leftovers = await t.sb.store.db.kysely
      .selectFrom('messages')
      .select('id')
      .where((eb) => eb.or([eb('error_code', 'is not', null), eb('sent_at', 'is', null)]))
      .execute()
    assert.deepEqual(leftovers, [], 'delivered messages carry no retry error and a sentAt')
    const retriesByCode = new Map<string, number>()
    let retried = 0
    for (const id of ids) {
      const timeline = byMessage.get(id) ?? []
      const sending = timeline.filter((e) => e.status === 'sending')
      const retries = timeline.filter((e) => e.status === 'queued' && e.error_code !== null)
      assert.equal(sending.length, attempts.get(id), `${id}: one sending event per attempt`)
      assert.equal(timeline.at(-1)?.status, 'delivered', id)
      // A timed-out attempt the provider still delivered gets its sent step too.
      assert.equal(timeline.at(-2)?.status, 'sent', id)
      assert.equal(timeline.filter((e) => e.status === 'sent').length, 1, id)
      // A timed-out attempt may still be delivered (and reported) before its retry is claimed.
      assert.ok(
        retries.length === sending.length - 1 || retries.length === sending.length,
        `${id}: ${retries.length} retries for ${sending.length} attempts`,
      )
      if (retries.length > 0) retried++
      timeline.forEach((r, i) => {
        if (r.status !== 'queued' || r.error_code === null) return
        const code = r.error_code
        assert.ok(RETRY_CODES.includes(code), `${id}: ${code}`)
        retriesByCode.set(code, (retriesByCode.get(code) ?? 0) + 1)
        const retryAt = Date.parse(/^retry at (.+)$/.exec(r.detail ?? '')?.[1] ?? '')
        assert.ok(Number.isFinite(retryAt), `${id}: retry detail ${r.detail}`)
        // Backoff is at most RETRY_MAX_MS (200 ms in the harness); Retry-After is 50 ms.
        assert.ok(retryAt - r.at <= 200, `${id}: retry ${retryAt - r.at} ms after the failure`)
        const failedAttempt = timeline.slice(0, i).findLast((e) => e.status === 'sending')
        assert.ok(failedAttempt, `${id}: a retry follows an attempt`)
        if (code === 'provider_rate_limited') {
          assert.ok(
            retryAt - failedAttempt.at >= RETRY_AFTER_MS,
            `${id}: Retry-After not honoured (${retryAt - failedAttempt.at} ms)`,
          )
        }
        const nextAttempt = timeline.slice(i + 1).find((e) => e.status === 'sending')
        if (nextAttempt) assert.ok(nextAttempt.at >= retryAt, `${id}: retried before its time`)
      })
    }
    for (const code of RETRY_CODES) assert.ok((retriesByCode.get(code) ?? 0) > 0, code)
    assert.ok(retried > TOTAL * 0.2, `${retried} messages retried`)

    // The public timeline shows the same for a retried message.
    const sample = ids.find((id) => (attempts.get(id) ?? 0) >= 3)
    assert.ok(sample, 'a message with at least 3 attempts')
    const m = await client(t).get(sample)
    assert.equal(m.status, 'delivered')
    assert.ok(
      m.events.some((e) => e.status === 'queued' && RETRY_CODES.includes(e.errorCode ?? '')),
    )
    console.log(
      `faults figures: ${JSON.stringify({ db: TEST_DB, ...stats, retried, retriesByCode: Object.fromEntries(retriesByCode) })}`,
    )
  })
})

describe(`permanent failures, validity, scheduling and cancel (${TEST_DB})`, () => {
  let t: TestSwitchboard
  let api: ReturnType<typeof client>
  let sim: SimulatorCore
  /** The server's clock runs with real time plus `skipped`: a test jumps ahead, never waits. */
  let skipped = 0
  const now = () => Date.now() + skipped

  before(async () => {
    t = await startTestSwitchboard(
      {
        WORKER_THREAD: 'false', // reaches into the in-process simulator and sets the clock
        SIMULATOR_RULES: JSON.stringify([
          { match: '+1212555', outcome: 'invalid_number' },
          { match: '+1303555', outcome: 'server_error' },
          { match: '+1505555', outcome: 'timeout' },
        ]),
      },
      { now },
    )
    api = client(t)
    sim = simulatorOf(t)
  })
  after(async () => {
    await t?.close()
  })

  test('invalid_number fails after exactly one attempt', async () => {
    const before = sim.stats()
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.send({ to: `+1212555${String(100 + i).padStart(4, '0')}`, body: 'nope' }),
      ),
    )
    const done = await Promise.all(
      sent.map((m) =>
        waitFor(async () => {
          const x = await api.get(m.id)
          return x.status === 'failed' ? x : undefined
        }),
      ),
    )
    for (const m of done) {
      assert.equal(m.errorCode, 'invalid_number')
      assert.equal(m.attempts, 1)
      assert.deepEqual(
        m.events.map((e) => e.status),
        ['queued', 'sending', 'failed'],
      )
    }
    const after = sim.stats()
    assert.equal(after.attempts - before.attempts, 20, 'the simulator saw one attempt each')
    assert.equal(after.rejected - before.rejected, 20)
    assert.equal(after.accepted, before.accepted)
  })

  test('a timed-out attempt the provider delivers reads queued -> sending -> sent -> delivered, without the error', async () => {
    const m = await api.send({ to: '+15055550100', body: 'slow answer' })
    // Every attempt times out on our side, but the provider took it and reports delivery.
    const done = await waitFor(
      async () => {
        const x = await api.get(m.id)
        return x.status === 'delivered' ? x : undefined
      },
      10_000,
      'delivered',
    )
    assert.equal(done.errorCode, null)
    assert.ok(done.sentAt !== null, 'sentAt is filled from the report')
    const steps = done.events.map((e) => e.status)
    assert.equal(steps.at(-1), 'delivered')
    assert.equal(steps.at(-2), 'sent')
    assert.deepEqual(steps.slice(0, 2), ['queued', 'sending'])
    assert.equal(steps.filter((s) => s === 'sent').length, 1)
    // The timed-out try is recorded as an attempt whichever came first: the worker's record of
    // it, or the delivery report (which can overtake it on a loaded machine).
    const attempts = await t.inject({
      method: 'GET',
      url: `/v1/messages/${m.id}/attempts`,
      headers: t.auth(t.keys.read),
    })
    assert.ok(
      attempts
        .json<{ data: { errorCode: string | null }[] }>()
        .data.some((a) => a.errorCode === 'provider_timeout'),
      `the timed-out attempt is recorded: ${attempts.body}`,
    )
  })

  test('an always-failing destination expires with its validity period', async () => {
    const m = await api.send({ to: '+13035550100', body: 'never', validityPeriod: 2 })
    await waitFor(
      async () => ((await api.get(m.id)).attempts >= 2 ? true : undefined),
      10_000,
      'retries before the validity period ends',
    )
    skipped += 2_500 // past validUntil
    const done = await waitFor(
      async () => {
        const x = await api.get(m.id)
        return x.status === 'expired' ? x : undefined
      },
      10_000,
      'expired',
    )
    assert.equal(done.errorCode, 'validity_expired')
    assert.ok(done.attempts > 1, `${done.attempts} attempts`)
    assert.equal(sim.acceptedCount(m.id), 0)
    assert.equal(done.events.at(-1)?.status, 'expired')
  })

  test('a scheduled message waits for sendAt; cancel works only before sending', async () => {
    const sendAt = new Date(now() + 60_000).toISOString()
    const scheduled = await api.send({ to: '+14155550123', body: 'later', sendAt })
    assert.equal(scheduled.status, 'scheduled')
    const toCancel = await api.send({
      to: '+14155550124',
      body: 'never',
      sendAt: new Date(now() + 30_000).toISOString(),
    })
    assert.equal(toCancel.status, 'scheduled')

    const canceled = await api.cancel(toCancel.id)
    assert.equal(canceled.statusCode, 200, canceled.body)
    assert.equal(canceled.json<Msg>().status, 'canceled')

    // The worker polls every 20 ms: several polls find nothing due yet.
    await new Promise((r) => setTimeout(r, 200))
    const waiting = await api.get(scheduled.id)
    assert.equal(waiting.status, 'scheduled')
    assert.equal(waiting.attempts, 0)
    assert.equal(sim.acceptedCount(scheduled.id), 0)

    skipped += 60_000 // both sendAt times have come
    const delivered = await waitFor(
      async () => {
        const x = await api.get(scheduled.id)
        return x.status === 'delivered' ? x : undefined
      },
      10_000,
      'scheduled message delivered',
    )
    assert.ok(
      delivered.sentAt !== null && Date.parse(delivered.sentAt) >= Date.parse(sendAt),
      JSON.stringify({ sentAt: delivered.sentAt, sendAt, delivered }),
    )
    assert.equal(delivered.attempts, 1)

    // The canceled message's time has passed too: it stays canceled and was never sent.
    const stillCanceled = await api.get(toCancel.id)
    assert.equal(stillCanceled.status, 'canceled')
    assert.equal(stillCanceled.attempts, 0)
    assert.equal(sim.acceptedCount(toCancel.id), 0)
    assert.deepEqual(
      stillCanceled.events.map((e) => e.status),
      ['scheduled', 'canceled'],
    )

    const late = await api.cancel(delivered.id)
    assert.equal(late.statusCode, 409)
    assert.equal(late.json<{ error: { code: string } }>().error.code, 'message_not_cancelable')
  })
})

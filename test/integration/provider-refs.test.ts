// Risk covered: with one provider id per part, a message reads delivered before every part is,
// a late part moves a final message back, a replayed or out-of-order report changes it twice
// or backwards, a report that overtakes the send's record is lost, a part's price is counted
// twice, or the history of attempts (failover analytics) is not there to read.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { prepareMessage } from '../../src/domain/messages/prepare.js'
import type { SmsProvider, SendResult } from '../../src/providers/provider.js'
import { ReportIngestor } from '../../src/queue/report.ingestor.js'
import { SendWorker } from '../../src/queue/send.worker.js'
import type { StatusReport } from '../../src/store/report.repo.js'
import { packRows } from '../../src/store/rows.js'
import type { Store } from '../../src/store/store.js'
import { openTestStore, TEST_DB, waitFor } from '../support/harness.js'

const NOW = 1_800_000_000_000
const silent = pino({ level: 'silent' })
/** 160 GSM-7 characters fit one segment; 400 need three (153 each). */
const THREE_PARTS = 'x'.repeat(400)

describe(`provider references, parts and attempts (${TEST_DB})`, () => {
  let store: Store
  let close: () => Promise<void>
  let seq = 0
  const policy = loadConfig({}).messages

  before(async () => {
    ;({ store, close } = await openTestStore())
  })
  after(async () => {
    await close()
  })

  /** A queued message, claimed by worker `w`: returns its id. */
  async function claimed(body = 'hello', from?: string): Promise<string> {
    const r = prepareMessage(
      { to: `+1415555${String(4000 + seq++)}`, body, ...(from ? { from } : {}) },
      { apiKeyId: null, now: NOW, policy },
    )
    if (!r.ok) throw new Error('bad fixture')
    await store.tx(() =>
      store.messages.insertSubmissions([{ idempotency: null, rows: packRows([r.message]) }]),
    )
    const got = await store.tx(() => store.messages.claim('w', 1000, NOW, 30_000))
    const m = got.find((x) => x.id === r.message.id)
    assert.ok(m, 'claimed')
    return m.id
  }

  /** Records that provider `sim` accepted `id` with these ids (one per part). */
  async function sent(id: string, ids: string[], provider = 'sim'): Promise<void> {
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w',
        [{ kind: 'sent', id, provider, providerMessageIds: ids, sender: null }],
        NOW + 10,
      ),
    )
  }

  const dlr = (
    providerMessageId: string,
    status: StatusReport['status'],
    extra: Partial<StatusReport> = {},
  ): StatusReport => ({ type: 'status', providerMessageId, status, at: NOW + 100, ...extra })

  const apply = (reports: StatusReport[], provider = 'sim') =>
    store.tx(() => store.messages.applyReports(provider, reports, NOW + 200))

  const message = async (id: string) => {
    const m = await store.getMessage(id)
    assert.ok(m)
    return m
  }
  const timeline = async (id: string) => (await store.listEvents(id)).map((e) => e.status)
  const refs = (id: string) =>
    store.db.kysely
      .selectFrom('provider_refs')
      .select(['provider_message_id', 'attempt', 'part', 'parts', 'status', 'price', 'currency'])
      .where('message_id', '=', id)
      .orderBy('provider_message_id')
      .execute()

  test('a send records its ids (one per part), its sender, costs and the attempt, through the worker', async () => {
    let clock = NOW
    const answers: SendResult[] = [
      { outcome: 'retry', code: 'provider_unavailable' },
      {
        outcome: 'accepted',
        providerMessageIds: ['V-1', 'V-2', 'V-3'],
        price: { amount: 0.0999, currency: 'EUR' },
      },
    ]
    const provider: SmsProvider = {
      name: 'vonage-eu',
      type: 'vonage',
      deduplicates: false,
      send: async () => {
        clock += 7
        const a = answers.shift()
        assert.ok(a)
        return a
      },
    }
    const r = prepareMessage(
      { to: '+14155550123', from: 'Switchbrd', body: THREE_PARTS },
      { apiKeyId: null, now: NOW, policy },
    )
    if (!r.ok) throw new Error('bad fixture')
    const id = r.message.id
    await store.tx(() =>
      store.messages.insertSubmissions([{ idempotency: null, rows: packRows([r.message]) }]),
    )
    const config = loadConfig({ RETRY_BASE_MS: '10', RETRY_MAX_MS: '10', WORKER_POLL_MS: '5' })
    const worker = new SendWorker({
      store,
      providers: new Map([[provider.name, provider]]),
      config: config.worker,
      logger: silent,
      now: () => clock,
    })
    worker.start()
    try {
      await waitFor(async () => {
        const m = await message(id)
        return m.status === 'queued' && m.attempts === 1 ? true : undefined
      })
      clock += 1000
      await waitFor(async () => ((await message(id)).status === 'sent' ? true : undefined))
    } finally {
      await worker.stop(1000)
    }
    const m = await message(id)
    assert.deepEqual(
      [m.provider, m.provider_message_id, m.sender, m.price, m.price_currency, m.attempts],
      ['vonage-eu', 'V-1', 'Switchbrd', 0.0999, 'EUR', 2],
    )
    assert.deepEqual(await refs(id), [
      {
        provider_message_id: 'V-1',
        attempt: 2,
        part: 1,
        parts: 3,
        status: null,
        price: null,
        currency: null,
      },
      {
        provider_message_id: 'V-2',
        attempt: 2,
        part: 2,
        parts: 3,
        status: null,
        price: null,
        currency: null,
      },
      {
        provider_message_id: 'V-3',
        attempt: 2,
        part: 3,
        parts: 3,
        status: null,
        price: null,
        currency: null,
      },
    ])
    const attempts = await store.db.kysely
      .selectFrom('attempts')
      .selectAll()
      .where('message_id', '=', id)
      .orderBy('attempt')
      .execute()
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.provider, a.sender, a.outcome, a.error_code]),
      [
        [1, 'vonage-eu', 'Switchbrd', 'retry', 'provider_unavailable'],
        [2, 'vonage-eu', 'Switchbrd', 'accepted', null],
      ],
    )
    // Start and end on the worker's clock; latency measured on the process's monotonic one.
    for (const a of attempts) {
      assert.equal(a.ended_at - a.started_at, 7)
      assert.ok(Number.isInteger(a.latency_ms) && a.latency_ms >= 0)
    }
  })

  test('a multi-part message is delivered only when every part is; sent reports change nothing beyond sent', async () => {
    const id = await claimed(THREE_PARTS)
    await sent(id, ['A-1', 'A-2', 'A-3'])
    await apply([dlr('A-1', 'sent'), dlr('A-2', 'delivered'), dlr('A-3', 'sent')])
    assert.equal((await message(id)).status, 'sent')
    await apply([dlr('A-1', 'delivered')])
    assert.equal((await message(id)).status, 'sent', 'two parts of three delivered')
    await apply([dlr('A-3', 'delivered')])
    const m = await message(id)
    assert.equal(m.status, 'delivered')
    assert.equal(m.completed_at, NOW + 100)
    assert.deepEqual(await timeline(id), ['queued', 'sending', 'sent', 'delivered'])
  })

  test('one negative part makes the message undelivered at once, and no later part moves it back', async () => {
    const id = await claimed(THREE_PARTS)
    await sent(id, ['B-1', 'B-2', 'B-3'])
    await apply([dlr('B-1', 'delivered')])
    await apply([dlr('B-2', 'undelivered', { errorCode: 'undeliverable' })])
    let m = await message(id)
    assert.deepEqual([m.status, m.error_code], ['undelivered', 'undeliverable'])
    await apply([dlr('B-3', 'delivered')])
    await apply([dlr('B-3', 'failed', { errorCode: 'carrier_error' })])
    await apply([dlr('B-2', 'delivered')])
    m = await message(id)
    assert.deepEqual([m.status, m.error_code], ['undelivered', 'undeliverable'])
    assert.deepEqual(await timeline(id), ['queued', 'sending', 'sent', 'undelivered'])
    assert.deepEqual(
      (await refs(id)).map((r) => r.status),
      ['delivered', 'undelivered', 'delivered'],
      "a part's final status is final too",
    )
  })

  test('a replayed report changes state once; an out-of-order one never moves it backwards', async () => {
    const id = await claimed()
    await sent(id, ['C-1'])
    const ingestor = new ReportIngestor(store, silent, () => NOW + 200)
    await ingestor.ingest('sim', [dlr('C-1', 'delivered')])
    await ingestor.ingest('sim', [dlr('C-1', 'delivered')])
    await ingestor.ingest('sim', [dlr('C-1', 'sent'), dlr('C-1', 'failed')])
    assert.equal((await message(id)).status, 'delivered')
    assert.deepEqual(await timeline(id), ['queued', 'sending', 'sent', 'delivered'])
    assert.deepEqual(
      (await refs(id)).map((r) => r.status),
      ['delivered'],
    )
    const parked = await store.db.kysely.selectFrom('jobs').select('id').execute()
    assert.deepEqual(parked, [], 'a replay is no unknown report')

    const multi = await claimed(THREE_PARTS)
    await sent(multi, ['C-2', 'C-3', 'C-4'])
    await apply([dlr('C-2', 'delivered'), dlr('C-3', 'delivered')])
    await apply([dlr('C-2', 'delivered'), dlr('C-3', 'sent')])
    assert.equal((await message(multi)).status, 'sent', 'replayed parts do not count twice')
    await apply([dlr('C-4', 'delivered')])
    assert.equal((await message(multi)).status, 'delivered')
  })

  test('a message sent twice (its lease was reclaimed): the first final report decides, the other send cannot undo it', async () => {
    const id = await claimed()
    // The lease ran out while the first send was in flight: another worker claimed it again.
    const again = await store.tx(() => store.messages.claim('w2', 1000, NOW + 60_000, 30_000))
    assert.ok(again.some((m) => m.id === id))
    const attempt = (number: number) => ({
      number,
      provider: 'sim',
      sender: null,
      startedAt: NOW,
      endedAt: NOW + 1,
      outcome: 'accepted' as const,
      errorCode: null,
      latencyMs: 1,
    })
    for (const [owner, pid, n] of [
      ['w', 'H-1', 1],
      ['w2', 'H-2', 2],
    ] as const) {
      await store.tx(() =>
        store.messages.recordOutcomes(
          owner,
          [
            {
              kind: 'sent',
              id,
              provider: 'sim',
              providerMessageIds: [pid],
              sender: null,
              attempt: attempt(n),
            },
          ],
          NOW + 60_010,
        ),
      )
    }
    assert.deepEqual(
      (await refs(id)).map((r) => [r.provider_message_id, r.attempt]),
      [
        ['H-1', 1],
        ['H-2', 2],
      ],
      "the lost lease's send is recorded too: its reports are this message's",
    )
    await apply([dlr('H-1', 'delivered')])
    await apply([dlr('H-2', 'failed', { errorCode: 'carrier_error' })])
    const m = await message(id)
    assert.deepEqual([m.status, m.error_code], ['delivered', null])
    assert.deepEqual(await timeline(id), ['queued', 'sending', 'sending', 'sent', 'delivered'])
  })

  test('a report that comes before the send is recorded is parked, then applied once it is', async () => {
    const id = await claimed()
    const ingestor = new ReportIngestor(store, silent, () => NOW + 200)
    await ingestor.ingest('sim', [dlr('D-1', 'delivered')])
    const jobs = await store.db.kysely.selectFrom('jobs').selectAll().execute()
    assert.equal(jobs.length, 1)
    assert.equal(await ingestor.applyParked('sim', dlr('D-1', 'delivered')), false)
    await sent(id, ['D-1'])
    assert.equal(await ingestor.applyParked('sim', dlr('D-1', 'delivered')), true)
    assert.equal((await message(id)).status, 'delivered')
    await store.db.kysely.deleteFrom('jobs').execute()
  })

  test('a report naming our id before the send is recorded counts, and the parts add up once the ids are known', async () => {
    // A one-id provider (the simulator) for a three-segment message: the report came first, so
    // its part count was a guess (the segments); the worker's record of one id settles it.
    const id = await claimed(THREE_PARTS)
    await apply([dlr('E-1', 'delivered', { messageId: id })])
    assert.equal((await message(id)).status, 'sent', 'one report of a three-segment message')
    await sent(id, ['E-1'])
    let m = await message(id)
    assert.equal(m.status, 'delivered')
    assert.deepEqual(await timeline(id), ['queued', 'sending', 'sent', 'delivered'])

    // A send whose answer was lost (here: on sim-a, then retried on sim-b) still counts when
    // the first provider reports it.
    const lostAnswer = await claimed()
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w',
        [
          {
            kind: 'retry',
            id: lostAnswer,
            provider: 'sim-a',
            nextAttemptAt: NOW,
            errorCode: 'provider_outcome_unknown',
            errorMessage: null,
            attempt: {
              number: 1,
              provider: 'sim-a',
              sender: null,
              startedAt: NOW,
              endedAt: NOW + 5,
              outcome: 'unknown',
              errorCode: 'provider_outcome_unknown',
              latencyMs: 5,
            },
          },
        ],
        NOW + 5,
      ),
    )
    await store.tx(() => store.messages.claim('w', 1000, NOW + 10, 30_000))
    await sent(lostAnswer, ['E-3'], 'sim-b')
    await apply([dlr('E-4', 'delivered', { messageId: lostAnswer })], 'sim-a')
    assert.equal((await message(lostAnswer)).status, 'delivered')

    // A report from a provider the message never went to is not believed.
    const other = await claimed()
    await sent(other, ['E-2'], 'sim-a')
    const unmatched = await store.tx(() =>
      store.messages.applyReports('sim-b', [dlr('E-9', 'failed', { messageId: other })], NOW),
    )
    assert.equal(unmatched.length, 1)
    m = await message(other)
    assert.equal(m.status, 'sent')
  })

  test('parts reported under the parent id answered at send (Plivo) are recorded under its message', async () => {
    const id = await claimed(THREE_PARTS)
    await sent(id, ['P-parent'], 'plivo')
    const part = (n: number) => ({ id: `P-part-${n}`, number: n, total: 3 })
    await apply([dlr('P-parent', 'delivered', { part: part(2) })], 'plivo')
    await apply([dlr('P-parent', 'delivered', { part: part(1) })], 'plivo')
    assert.equal((await message(id)).status, 'sent')
    await apply([dlr('P-parent', 'delivered', { part: part(3) })], 'plivo')
    assert.equal((await message(id)).status, 'delivered')
    assert.deepEqual(
      (await refs(id)).map((r) => [r.provider_message_id, r.part, r.parts, r.status]),
      [
        ['P-parent', 1, 1, null],
        ['P-part-1', 1, 3, 'delivered'],
        ['P-part-2', 2, 3, 'delivered'],
        ['P-part-3', 3, 3, 'delivered'],
      ],
    )
    // The first part's own id may be the parent's: that row becomes part one of three.
    const same = await claimed(THREE_PARTS)
    await sent(same, ['Q-1'], 'plivo')
    await apply(
      [
        dlr('Q-1', 'delivered', { part: { id: 'Q-1', number: 1, total: 3 } }),
        dlr('Q-1', 'delivered', { part: { id: 'Q-2', number: 2, total: 3 } }),
      ],
      'plivo',
    )
    assert.equal((await message(same)).status, 'sent', 'two parts of three')
    await apply([dlr('Q-1', 'delivered', { part: { id: 'Q-3', number: 3, total: 3 } })], 'plivo')
    assert.equal((await message(same)).status, 'delivered')
    // A part under a parent nobody answered stays unknown (parked).
    const lost = await apply(
      [dlr('P-nobody', 'delivered', { part: { id: 'P-other', number: 1, total: 2 } })],
      'plivo',
    )
    assert.equal(lost.length, 1)
  })

  test("the message's price is the sum of its parts' reported prices, counted once each", async () => {
    const id = await claimed(THREE_PARTS)
    const usd = { amount: 0.0237, currency: 'USD' }
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w',
        [
          {
            kind: 'sent',
            id,
            provider: 'sim',
            providerMessageIds: ['F-1', 'F-2', 'F-3'],
            sender: '+14155550199',
            estimatedCost: usd,
            attempt: {
              number: 1,
              provider: 'sim',
              sender: '+14155550199',
              startedAt: NOW,
              endedAt: NOW + 3,
              outcome: 'accepted',
              errorCode: null,
              latencyMs: 3,
              cost: usd,
            },
          },
        ],
        NOW + 10,
      ),
    )
    const estimated = await message(id)
    assert.deepEqual(
      [estimated.estimated_cost, estimated.cost_currency, estimated.price, estimated.sender],
      [0.0237, 'USD', null, '+14155550199'],
    )
    const tried = await store.listSendAttempts(id)
    assert.deepEqual(
      tried.map((a) => [a.cost, a.cost_currency]),
      [[0.0237, 'USD']],
    )
    const eur = (amount: number) => ({ price: { amount, currency: 'EUR' } })
    await apply([dlr('F-1', 'delivered', eur(0.0333)), dlr('F-2', 'sent', eur(0.0333))])
    assert.deepEqual(
      [(await message(id)).price, (await message(id)).price_currency],
      [0.0666, 'EUR'],
    )
    await apply([dlr('F-1', 'delivered', eur(0.0333)), dlr('F-2', 'delivered', eur(0.0333))])
    await apply([dlr('F-3', 'delivered', eur(0.0334))])
    const m = await message(id)
    assert.deepEqual([m.status, m.price, m.price_currency], ['delivered', 0.1, 'EUR'])
  })

  test('two parts reported at the same moment in two transactions still add up to delivered', async () => {
    const ids: string[] = []
    for (let i = 0; i < 10; i++) {
      const id = await claimed(THREE_PARTS)
      await sent(id, [`G-${i}-1`, `G-${i}-2`, `G-${i}-3`])
      await apply([dlr(`G-${i}-1`, 'delivered')])
      ids.push(id)
    }
    await Promise.all(
      ids.flatMap((_, i) => [
        apply([dlr(`G-${i}-2`, 'delivered')]),
        apply([dlr(`G-${i}-3`, 'delivered')]),
      ]),
    )
    for (const id of ids) assert.equal((await message(id)).status, 'delivered', id)
  })
})

// Risk: the queue's core guarantees break on one of the two databases: claims overlap, a
// crashed worker's lease never returns, a late or repeated report rewrites a final status,
// or a report that overtakes the worker's own record is lost.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { loadConfig } from '../../src/config.js'
import { prepareMessage } from '../../src/domain/messages/prepare.js'
import type { MessageRecord } from '../../src/domain/messages/message.js'
import { createFanout } from '../../src/domain/webhooks/fanout.js'
import { ReportIngestor } from '../../src/queue/report.ingestor.js'
import { openDb } from '../../src/store/db.js'
import { providerRecords } from '../../src/store/provider-records.js'
import { packRows } from '../../src/store/rows.js'
import { Store } from '../../src/store/store.js'
import pino from 'pino'
import { freshDatabase } from '../support/harness.js'

describe('store and queue guarantees', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>
  let store: Store
  const policy = loadConfig({}).messages
  const clock = 1_800_000_000_000

  const make = (n: number): MessageRecord[] =>
    Array.from({ length: n }, (_, i) => {
      const r = prepareMessage(
        { to: `+1415555${String(1000 + i).padStart(4, '0')}`, body: `m${i}` },
        { apiKeyId: null, now: clock, policy },
      )
      if (!r.ok) throw new Error('bad fixture')
      return r.message
    })
  const insert = (messages: MessageRecord[]) =>
    store.tx(() =>
      store.messages.insertSubmissions([{ idempotency: null, rows: packRows(messages) }]),
    )
  const status = async (id: string) => (await store.getMessage(id))?.status
  const statusEvents = async (id: string) => (await store.listEvents(id)).map((e) => e.status)

  before(async () => {
    db = await freshDatabase()
    const database = loadConfig(db.env).database
    const opened = openDb(database)
    await opened.migrate()
    store = new Store(opened, createFanout({ endpoints: [] }))
  })
  after(async () => {
    await store.close()
    await db.drop()
  })

  test('a new message is stored with every column as given; one carrying sending state is refused', async () => {
    const r = prepareMessage(
      {
        to: '+14155550999',
        from: 'Switchbrd',
        body: 'round trip é',
        type: 'marketing',
        metadata: { order: 42, tags: ['a'] },
        statusCallback: 'https://example.com/cb',
        validityPeriod: 600,
        sendAt: new Date(clock + 60_000).toISOString(),
      },
      { apiKeyId: 'key_roundtrip', now: clock, policy },
    )
    if (!r.ok) throw new Error(`bad fixture: ${r.error.code}`)
    await insert([r.message])
    assert.deepEqual(await store.getMessage(r.message.id), r.message)

    const [stale] = make(1)
    assert.ok(stale)
    await assert.rejects(insert([{ ...stale, attempts: 1 }]), /carries sending state/)
    assert.equal(await store.getMessage(stale.id), undefined)
  })

  test('status changes fan out to endpoints and statusCallbacks with the message as changed', async () => {
    const url = 'https://hooks.example.com/all'
    const withEndpoint = new Store(
      openDb(loadConfig(db.env).database),
      createFanout({ endpoints: [{ id: 'wep_all', url }] }),
    )
    try {
      const [plain, hooked, each] = make(3)
      assert.ok(plain && hooked && each)
      const callback = { ...hooked, status_callback: 'https://hooks.example.com/one' }
      // Through the store without endpoints only the message with a statusCallback fans out;
      // through the one with an endpoint every change of every message does.
      const runs: [Store, MessageRecord[]][] = [
        [store, [plain, callback]],
        [withEndpoint, [each]],
      ]
      for (const [s, messages] of runs) {
        await s.tx(() =>
          s.messages.insertSubmissions([{ idempotency: null, rows: packRows(messages) }]),
        )
        const claimed = await s.tx(() => s.messages.claim(`w-${s === store}`, 10, clock, 30_000))
        await s.tx(() =>
          s.messages.recordOutcomes(
            `w-${s === store}`,
            claimed.map((m) => ({
              kind: 'sent' as const,
              id: m.id,
              provider: 'sim',
              providerMessageIds: [`P-${m.id}`],
              sender: null,
            })),
            clock + 1,
          ),
        )
        const reports = new ReportIngestor(s, pino({ level: 'silent' }), () => clock + 2)
        await reports.ingest(
          'sim',
          claimed.map((m) => ({
            type: 'status' as const,
            messageId: m.id,
            providerMessageId: `P-${m.id}`,
            status: 'delivered' as const,
            at: clock + 2,
          })),
        )
      }

      const payloads = async (id: string) =>
        (await store.listDeliveries(id)).map((d) => {
          const p = JSON.parse(d.payload) as {
            type: string
            data: { status: string; provider: string | null }
          }
          return `${d.url} ${p.type} ${p.data.status} ${p.data.provider}`
        })
      assert.deepEqual(await payloads(plain.id), [])
      assert.deepEqual(await payloads(callback.id), [
        'https://hooks.example.com/one message.sending sending null',
        'https://hooks.example.com/one message.sent sent sim',
        'https://hooks.example.com/one message.delivered delivered sim',
      ])
      assert.deepEqual(await payloads(each.id), [
        `${url} message.sending sending null`,
        `${url} message.sent sent sim`,
        `${url} message.delivered delivered sim`,
      ])
    } finally {
      await withEndpoint.close()
    }
  })

  test('concurrent claims never hand out the same message twice', async () => {
    const msgs = make(300)
    await insert(msgs)
    const claims = await Promise.all(
      ['w1', 'w2', 'w3'].map((w) => store.tx(() => store.messages.claim(w, 120, clock, 30_000))),
    )
    const ids = claims.flat().map((m) => m.id)
    assert.equal(ids.length, 300)
    assert.equal(new Set(ids).size, 300)
    for (const m of claims.flat()) assert.equal(m.status, 'sending')
  })

  test('an expired lease returns the message; the old owner can no longer record it', async () => {
    const [m] = make(1)
    assert.ok(m)
    await insert([m])
    const [first] = await store.tx(() => store.messages.claim('dead', 10, clock, 1000))
    assert.equal(first?.id, m.id)
    assert.equal(
      (await store.tx(() => store.messages.claim('w2', 10, clock + 500, 1000))).length,
      0,
    )
    const [again] = await store.tx(() => store.messages.claim('w2', 10, clock + 1001, 1000))
    assert.equal(again?.id, m.id)
    assert.equal(again?.attempts, 2)
    await store.tx(() =>
      store.messages.recordOutcomes(
        'dead',
        [
          {
            kind: 'sent',
            id: m.id,
            provider: 'simulator',
            providerMessageIds: ['X1'],
            sender: null,
          },
        ],
        clock + 1100,
      ),
    )
    assert.equal(await status(m.id), 'sending', 'the dead owner cannot record')
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w2',
        [
          {
            kind: 'sent',
            id: m.id,
            provider: 'simulator',
            providerMessageIds: ['X2'],
            sender: null,
          },
        ],
        clock + 1200,
      ),
    )
    assert.equal(await status(m.id), 'sent')
  })

  test('reports are monotonic: late sent and repeated delivered change nothing', async () => {
    const [m] = make(1)
    assert.ok(m)
    await insert([m])
    await store.tx(() => store.messages.claim('w', 10, clock, 30_000))
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w',
        [{ kind: 'sent', id: m.id, provider: 'sim', providerMessageIds: ['P1'], sender: null }],
        clock,
      ),
    )
    const report = (s: 'sent' | 'delivered') => ({
      type: 'status' as const,
      providerMessageId: 'P1',
      status: s,
      at: clock,
    })
    await store.tx(() => store.messages.applyReports('sim', [report('delivered')], clock))
    await store.tx(() => store.messages.applyReports('sim', [report('delivered')], clock))
    await store.tx(() => store.messages.applyReports('sim', [report('sent')], clock))
    assert.equal(await status(m.id), 'delivered')
    assert.deepEqual(await statusEvents(m.id), ['queued', 'sending', 'sent', 'delivered'])
  })

  test('an inbound message is stored whole: received, with the provider ids and its event', async () => {
    const reports = new ReportIngestor(store, pino({ level: 'silent' }), () => clock)
    await reports.ingest('sim', [
      {
        type: 'inbound',
        providerMessageId: 'IN-1',
        from: '+14155550777',
        to: '+14155550100',
        body: 'STOP',
        at: clock - 1_000,
      },
    ])
    const [m] = await store.listMessages({ from: '+14155550777', limit: 10 })
    assert.ok(m, 'the inbound message is stored')
    assert.equal(m.direction, 'inbound')
    assert.equal(m.status, 'received')
    assert.equal(m.provider, 'sim')
    assert.equal(m.provider_message_id, 'IN-1')
    assert.equal(m.body, 'STOP')
    assert.equal(m.completed_at, clock - 1_000)
    assert.deepEqual(await statusEvents(m.id), ['received'])
  })

  test('a report that overtakes the send record is kept and applied', async () => {
    const [m] = make(1)
    assert.ok(m)
    await insert([m])
    await store.tx(() => store.messages.claim('w', 10, clock, 30_000))
    // Delivered arrives (by provider id only) before the worker recorded the provider id.
    const reports = new ReportIngestor(store, pino({ level: 'silent' }), () => clock)
    await reports.ingest('sim', [
      { type: 'status', providerMessageId: 'EARLY', status: 'delivered', at: clock },
    ])
    const parked = await store.tx(() => store.jobs.claim('j', 10, clock + 5_000, 60_000))
    assert.equal(parked.length, 1, 'the unmatched report is parked as a job')
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w',
        [{ kind: 'sent', id: m.id, provider: 'sim', providerMessageIds: ['EARLY'], sender: null }],
        clock,
      ),
    )
    const job = parked[0]
    assert.ok(job)
    const p = JSON.parse(job.payload) as { provider: string; report: never }
    assert.equal(await reports.applyParked(p.provider, p.report), true)
    assert.equal(await status(m.id), 'delivered')
  })

  test('a report with our id that arrives before the send record still applies, and sent does not regress it', async () => {
    const [m] = make(1)
    assert.ok(m)
    await insert([m])
    await store.tx(() => store.messages.claim('w', 10, clock, 30_000))
    await store.tx(() =>
      store.messages.applyReports(
        'sim',
        [
          {
            type: 'status',
            messageId: m.id,
            providerMessageId: 'Q1',
            status: 'delivered',
            at: clock,
          },
        ],
        clock,
      ),
    )
    // The report filled in the provider's id, which later reports by that id rely on.
    const early = await store.getMessage(m.id)
    assert.equal(early?.status, 'delivered')
    assert.equal(early?.provider, 'sim')
    assert.equal(early?.provider_message_id, 'Q1')
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w',
        [{ kind: 'sent', id: m.id, provider: 'sim', providerMessageIds: ['Q1'], sender: null }],
        clock,
      ),
    )
    const after = await store.getMessage(m.id)
    assert.equal(after?.status, 'delivered')
    assert.equal(after?.provider_message_id, 'Q1')
    assert.equal(after?.lease_owner, null)
    assert.equal(after?.sent_at, clock, 'the time the report implied stays')
    assert.deepEqual(await statusEvents(m.id), ['queued', 'sending', 'sent', 'delivered'])
  })

  test('a report after a timed-out attempt clears the retry error, fills sentAt and the sent step', async () => {
    const [m, u] = make(2)
    assert.ok(m && u)
    const hooked = { ...m, status_callback: 'https://hooks.example.com/timeout' }
    await insert([hooked, u])
    await store.tx(() => store.messages.claim('w', 10, clock, 30_000))
    // The provider took both attempts but its answers never came back: retries are queued.
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w',
        [m, u].map((x) => ({
          kind: 'retry' as const,
          id: x.id,
          provider: 'sim',
          nextAttemptAt: clock + 10_000,
          errorCode: 'provider_timeout',
          errorMessage: 'no answer',
        })),
        clock + 1,
      ),
    )
    const report = (id: string, ok: boolean) => ({
      type: 'status' as const,
      messageId: id,
      providerMessageId: `T-${id}`,
      status: ok ? ('delivered' as const) : ('undelivered' as const),
      ...(ok ? {} : { errorCode: 'undeliverable' as const }),
      at: clock + 5,
    })
    await store.tx(() =>
      store.messages.applyReports('sim', [report(m.id, true), report(u.id, false)], clock + 6),
    )
    const delivered = await store.getMessage(m.id)
    assert.equal(delivered?.status, 'delivered')
    assert.equal(delivered?.error_code, null)
    assert.equal(delivered?.error_message, null)
    assert.equal(delivered?.sent_at, clock + 5)
    assert.equal(delivered?.provider_message_id, `T-${m.id}`)
    assert.deepEqual(await statusEvents(m.id), ['queued', 'sending', 'queued', 'sent', 'delivered'])
    const hooks = (await store.listDeliveries(m.id)).map((d) => {
      const p = JSON.parse(d.payload) as { type: string; data: { status: string } }
      return `${p.type} ${p.data.status}`
    })
    assert.deepEqual(hooks, [
      'message.sending sending',
      'message.queued queued',
      'message.sent sent',
      'message.delivered delivered',
    ])
    // The report's own permanent code stays; the retry's message does not.
    const undelivered = await store.getMessage(u.id)
    assert.equal(undelivered?.status, 'undelivered')
    assert.equal(undelivered?.error_code, 'undeliverable')
    assert.equal(undelivered?.error_message, null)
    assert.equal(undelivered?.sent_at, clock + 5)
    assert.deepEqual(await statusEvents(u.id), [
      'queued',
      'sending',
      'queued',
      'sent',
      'undelivered',
    ])
    // A repeated report changes nothing and writes no second sent step.
    await store.tx(() => store.messages.applyReports('sim', [report(m.id, true)], clock + 7))
    assert.deepEqual(await statusEvents(m.id), ['queued', 'sending', 'queued', 'sent', 'delivered'])
  })

  test('a sent report after a timed-out attempt moves the message to sent without the error', async () => {
    const [m] = make(1)
    assert.ok(m)
    await insert([m])
    await store.tx(() => store.messages.claim('w', 10, clock, 30_000))
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w',
        [
          {
            kind: 'retry',
            id: m.id,
            provider: 'sim',
            nextAttemptAt: clock + 10_000,
            errorCode: 'provider_timeout',
            errorMessage: null,
          },
        ],
        clock + 1,
      ),
    )
    const sent = {
      type: 'status' as const,
      messageId: m.id,
      providerMessageId: 'S1',
      status: 'sent' as const,
      at: clock + 3,
    }
    await store.tx(() => store.messages.applyReports('sim', [sent], clock + 4))
    const after = await store.getMessage(m.id)
    assert.equal(after?.status, 'sent')
    assert.equal(after?.error_code, null)
    assert.equal(after?.sent_at, clock + 3)
    assert.equal(after?.completed_at, null)
    assert.deepEqual(await statusEvents(m.id), ['queued', 'sending', 'queued', 'sent'])
  })

  test('a provider reads the messages it accepted and has not reported final, a page at a time', async () => {
    const messages = make(25)
    await insert(messages)
    const claimed = await store.tx(() => store.messages.claim('w', 100, clock, 30_000))
    const mine = messages.slice(0, 22).map((m) => m.id)
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w',
        claimed
          .filter((m) => messages.some((x) => x.id === m.id))
          .map((m) => ({
            kind: 'sent' as const,
            id: m.id,
            provider: mine.includes(m.id) ? 'sim-a' : 'sim-b',
            providerMessageIds: [`A-${m.id}`],
            sender: null,
          })),
        clock + 3,
      ),
    )
    // Two of them are reported final already: nothing is owed for them.
    const reported = mine.slice(0, 2)
    await store.tx(() =>
      store.messages.applyReports(
        'sim-a',
        reported.map((id) => ({
          type: 'status' as const,
          messageId: id,
          providerMessageId: `A-${id}`,
          status: 'delivered' as const,
          at: clock + 4,
        })),
        clock + 4,
      ),
    )
    const pages: (readonly {
      id: string
      to: string
      providerMessageId: string
      sentAt: number
    }[])[] = []
    for await (const page of providerRecords(store.db, 'sim-a', 7).awaitingReport()) {
      pages.push(page)
    }
    assert.ok(pages.every((p) => p.length <= 7))
    const owed = pages.flat()
    const expected = mine.filter((id) => !reported.includes(id))
    // Earlier tests left messages of other providers: only this provider's are read.
    assert.deepEqual(
      owed.map((m) => m.id),
      [...expected].sort(),
    )
    const first = messages.find((m) => m.id === owed[0]?.id)
    assert.deepEqual(owed[0], {
      id: first?.id,
      to: first?.to_number,
      providerMessageId: `A-${first?.id}`,
      sentAt: clock + 3,
    })
  })

  test('retry returns the message to the queue at its time; cancel only before sending', async () => {
    const [a, b] = make(2)
    assert.ok(a && b)
    await insert([a, b])
    await store.tx(() => store.messages.claim('w', 10, clock, 30_000))
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w',
        [
          {
            kind: 'retry',
            id: a.id,
            provider: 'sim',
            nextAttemptAt: clock + 10_000,
            errorCode: 'provider_unavailable',
            errorMessage: null,
          },
        ],
        clock,
      ),
    )
    assert.equal(await status(a.id), 'queued')
    assert.equal(
      (await store.tx(() => store.messages.claim('w', 10, clock + 9_999, 30_000))).length,
      0,
    )
    const canceled = await store.tx(() => store.messages.cancel(a.id, clock))
    assert.equal(typeof canceled === 'object' && canceled.status, 'canceled')
    assert.equal(await store.tx(() => store.messages.cancel(b.id, clock)), 'not_cancelable')
    assert.equal(
      (await store.tx(() => store.messages.claim('w', 10, clock + 20_000, 30_000))).length,
      0,
    )
  })
})

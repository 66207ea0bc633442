// Risk covered: provider events are untrusted even when signed; one with an identifier
// PostgreSQL cannot store, an absurd time or a control character would fail the batch it lands
// in, park junk as jobs, or write a false completion time, unless it is sanitised first.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { prepareMessage } from '../../src/domain/messages/prepare.js'
import type { ProviderEvent } from '../../src/providers/provider.js'
import { ReportIngestor } from '../../src/queue/report.ingestor.js'
import { packRows } from '../../src/store/rows.js'
import { Store } from '../../src/store/store.js'
import { openTestStore, TEST_DB } from '../support/harness.js'

const NOW = 1_800_000_000_000

describe(`provider events are sanitised before they are applied (${TEST_DB})`, () => {
  let closeStore: () => Promise<void>
  let store: Store

  before(async () => {
    ;({ store, close: closeStore } = await openTestStore())
  })
  after(async () => {
    await closeStore()
  })

  /** Messages recorded sent to provider `sim` with provider ids `<prefix>-<n>`. */
  async function sentMessages(n: number, prefix = 'P'): Promise<string[]> {
    const policy = loadConfig({}).messages
    const messages = Array.from({ length: n }, (_, i) => {
      const r = prepareMessage(
        { to: `+1415555${String(2000 + i)}`, body: 'x' },
        { apiKeyId: null, now: NOW, policy },
      )
      if (!r.ok) throw new Error('bad fixture')
      return r.message
    })
    await store.tx(() =>
      store.messages.insertSubmissions([{ idempotency: null, rows: packRows(messages) }]),
    )
    const claimed = await store.tx(() => store.messages.claim('w', n, NOW, 30_000))
    await store.tx(() =>
      store.messages.recordOutcomes(
        'w',
        claimed.map((m, i) => ({
          kind: 'sent' as const,
          id: m.id,
          provider: 'sim',
          providerMessageIds: [`${prefix}-${i}`],
          sender: null,
        })),
        NOW,
      ),
    )
    return claimed.map((m) => m.id)
  }

  test('a part numbered beyond its total, or a price that is no amount of a currency, is dropped', async () => {
    const [a, b, c] = await sentMessages(3, 'Q')
    assert.ok(a && b && c)
    const ingestor = new ReportIngestor(store, pino({ level: 'silent' }), () => NOW)
    const report = (id: string, extra: Partial<ProviderEvent>): ProviderEvent =>
      ({
        type: 'status',
        messageId: id,
        providerMessageId: 'Q-0',
        status: 'failed',
        at: NOW,
        ...extra,
      }) as ProviderEvent
    await ingestor.ingest('sim', [
      report(a, { part: { id: 'X-1', number: 3, total: 2 } }),
      report(a, { part: { id: 'X-\u0000', number: 1, total: 2 } }),
      report(b, { price: { amount: Number.NaN, currency: 'EUR' } }),
      report(c, { price: { amount: 0.05, currency: 'euros' } }),
    ])
    for (const id of [a, b, c]) assert.equal((await store.getMessage(id))?.status, 'sent', id)
    const parts = await store.db.kysely
      .selectFrom('provider_refs')
      .select('provider_message_id')
      .where('provider_message_id', 'like', 'X-%')
      .execute()
    assert.deepEqual(parts, [])
  })

  test('malformed events are dropped, absurd times replaced, and the rest applied', async () => {
    const [good, future, early] = await sentMessages(3)
    assert.ok(good && future && early)
    const status = (id: string, pid: string, at: number): ProviderEvent => ({
      type: 'status',
      messageId: id,
      providerMessageId: pid,
      status: 'delivered',
      at,
    })
    const ingestor = new ReportIngestor(store, pino({ level: 'silent' }), () => NOW)
    await ingestor.ingest('sim', [
      status(good, 'P-0', NOW - 5),
      // A time more than a day ahead, or before 2000, is not believed: receipt time instead.
      status(future, 'P-1', NOW + 10 * 86_400_000),
      status(early, 'P-2', 5),
      // Identifiers that are too long or carry control characters cannot be ours: dropped.
      status('m'.repeat(129), 'P-9', NOW),
      status('msg_\u0000nul', 'P-9', NOW),
      { type: 'status', providerMessageId: 'P-\u0007', status: 'delivered', at: NOW },
      {
        type: 'inbound',
        providerMessageId: 'IN-1',
        from: '+14155550777',
        to: '+14155550100',
        body: 'nul \u0000 inside',
        at: NOW,
      },
      {
        type: 'inbound',
        providerMessageId: 'IN-2',
        from: '+14155550778\n',
        to: '+14155550100',
        body: 'ok',
        at: NOW,
      },
    ])
    const m = async (id: string) => store.getMessage(id)
    assert.deepEqual(
      [
        (await m(good))?.completed_at,
        (await m(future))?.completed_at,
        (await m(early))?.completed_at,
      ],
      [NOW - 5, NOW, NOW],
    )
    assert.deepEqual(
      (await store.db.kysely.selectFrom('jobs').select('payload').execute()).map((j) => j.payload),
      [],
      'nothing malformed is parked',
    )
    const inbound = await store.db.kysely
      .selectFrom('messages')
      .select('id')
      .where('direction', '=', 'inbound')
      .execute()
    assert.deepEqual(inbound, [], 'no malformed inbound message is stored')
  })
})

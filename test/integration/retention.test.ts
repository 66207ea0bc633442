// Risk covered: message bodies kept past RETENTION_DAYS (storage limitation), or the purge
// taking the analytics with them (status, times, segments, cost, provider), purging a message
// not yet sent, or running unbounded.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { JobWorker } from '../../src/queue/job.worker.js'
import { JobCatalog } from '../../src/queue/job-catalog.js'
import { ReportIngestor } from '../../src/queue/report.ingestor.js'
import { inboundEffects, noInboundEffect } from '../../src/usecases/inbound.js'
import { startTestSwitchboard, TEST_DB, waitFor, type TestSwitchboard } from '../support/harness.js'

const DAY = 86_400_000
const SECRET = 'whsec_' + Buffer.alloc(32, 9).toString('base64')
const silent = pino({ level: 'silent' })

describe(`retention of message bodies (${TEST_DB})`, () => {
  let t: TestSwitchboard
  /** The server's clock: real time (the simulator's timers run on it) plus the days skipped. */
  let skipped = 0
  const clock = () => Date.now() + skipped

  before(async () => {
    t = await startTestSwitchboard(
      {
        WORKER_THREAD: 'false',
        // The server's own job worker keeps everything: the test runs the purge itself.
        RETENTION_DAYS: '0',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_ENDPOINTS: JSON.stringify([{ url: 'http://127.0.0.1:9/hook', secret: SECRET }]),
      },
      { now: clock },
    )
  })
  after(() => t.close())

  const send = async (to: string, body: string) => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(),
      payload: { to, body },
    })
    assert.equal(res.statusCode, 202, res.body)
    return res.json<{ id: string }>().id
  }
  const row = (id: string) =>
    t.sb.store.db.exec.query<{
      body: string
      status: string
      segments: number
      provider: string | null
      created_at: number
      body_purged_at: number | null
    }>({ sql: 'SELECT * FROM messages WHERE id = ?', params: [id], mode: 'rows' })
  const delivered = (ids: string[]) =>
    waitFor(
      async () => {
        // The simulator's reports wait on the real clock's timers but are due by the fake one:
        // `sent` is as far as these go, and already past what the purge waits for.
        for (const id of ids) {
          const s = (await row(id))[0]?.status
          if (s !== 'sent' && s !== 'delivered') return undefined
        }
        return true
      },
      15_000,
      'sends',
    )

  test('bodies older than RETENTION_DAYS are emptied in bounded batches; metadata stays', async () => {
    const store = t.sb.store
    const old = [
      await send('+14155550301', 'old one'),
      await send('+14155550302', 'old two'),
      await send('+14155550303', 'old three'),
    ]
    await delivered(old)
    await new ReportIngestor(store, silent, clock, inboundEffects(store)).ingest('simulator', [
      {
        type: 'inbound',
        providerMessageId: 'RET1',
        from: '+14155550304',
        to: '+15005550006',
        body: 'old inbound',
        at: clock(),
      },
    ])
    skipped = 60 * DAY
    const young = await send('+14155550305', 'young')
    await delivered([young])

    skipped = 91 * DAY
    const now = clock()
    const cutoff = now - 90 * DAY
    // One bounded batch: two messages, then it says there is more.
    const first = await store.tx(() => store.privacy.purgeBatch(cutoff, now, 2))
    assert.deepEqual([first.messages, first.more], [2, true])
    assert.equal((await row(old[2] as string))[0]?.body, 'old three', 'not yet: past the batch')

    // The maintenance round of the job worker does the rest.
    const worker = new JobWorker(
      store,
      new JobCatalog([]),
      silent,
      20,
      () => now,
      noInboundEffect,
      72 * 3_600_000, // EVENT_RETENTION_HOURS
      90, // RETENTION_DAYS
    )
    await worker.tick()
    for (const id of old) {
      const [m] = await row(id)
      assert.ok(m)
      assert.equal(m.body, '', id)
      assert.ok(Number(m.body_purged_at) >= now)
      assert.ok(m.status === 'sent' || m.status === 'delivered', 'analytics stay')
      assert.equal(m.segments, 1)
      assert.equal(m.provider, 'simulator')
    }
    const inbound = await store.db.kysely
      .selectFrom('messages')
      .select('body')
      .where('direction', '=', 'inbound')
      .execute()
    assert.deepEqual(inbound, [{ body: '' }])
    assert.equal((await row(young))[0]?.body, 'young', 'younger than RETENTION_DAYS: kept')
    // The received message's event (it carries the body) is gone, and so is its webhook payload
    // once delivered; of what is older than the cutoff only the log's newest event stays (a
    // resumed stream learns from it where the log ended), emptied.
    const events = await store.db.kysely.selectFrom('events').selectAll().execute()
    assert.deepEqual(
      events.filter((e) => Number(e.at) < cutoff).map((e) => e.data),
      events.length === 1 ? ['{}'] : [],
    )
    const text = JSON.stringify(await store.db.kysely.selectFrom('events').selectAll().execute())
    assert.ok(!text.includes('old inbound'))

    // A second round finds nothing more and changes nothing.
    await new JobWorker(
      store,
      new JobCatalog([]),
      silent,
      20,
      () => now + 61_000,
      noInboundEffect,
      72 * 3_600_000,
      90,
    ).tick()
    assert.equal((await row(young))[0]?.body, 'young')
  })

  test('a message not yet sent keeps its body, and the purge waits for it', async () => {
    const store = t.sb.store
    skipped = 200 * DAY
    const later = new Date(clock() + 30 * DAY).toISOString()
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(),
      payload: { to: '+14155550306', body: 'scheduled', sendAt: later },
    })
    const scheduled = res.json<{ id: string }>().id
    const after = await send('+14155550307', 'after the scheduled one')
    await delivered([after])
    skipped = 229 * DAY
    await store.tx(() => store.privacy.purgeBatch(clock() - DAY, clock(), 100))
    assert.equal((await row(scheduled))[0]?.body, 'scheduled')
    assert.equal((await row(after))[0]?.body, 'after the scheduled one', 'walked again later')
  })
})

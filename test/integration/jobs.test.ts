// Risk covered: a background job with an unknown type or a malformed payload crashes the job
// worker or loops forever, a failing job is retried at the wrong times or without end, a hung
// job blocks the rest, or a parked delivery report is retried forever or lost too early.
import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, mock, test } from 'node:test'
import { Type } from '@sinclair/typebox'
import pino from 'pino'
import { defineJob, JobCatalog, type JobResult } from '../../src/queue/job-catalog.js'
import { JobWorker } from '../../src/queue/job.worker.js'
import { jobCatalog } from '../../src/queue/jobs/catalog.js'
import {
  PROVIDER_REPORT,
  PROVIDER_REPORT_DELAYS_MS,
} from '../../src/queue/jobs/provider-report.job.js'
import { ReportIngestor } from '../../src/queue/report.ingestor.js'
import { DEAD_LETTER } from '../../src/store/job.repo.js'
import type { JobRow } from '../../src/store/schema.js'
import { Store } from '../../src/store/store.js'
import { openTestStore, TEST_DB } from '../support/harness.js'

const silent = pino({ level: 'silent' })
const START = 1_800_000_000_000

describe(`job catalog and worker (${TEST_DB})`, () => {
  let closeStore: () => Promise<void>
  let store: Store
  let clock = START
  const now = () => clock

  before(async () => {
    ;({ store, close: closeStore } = await openTestStore())
  })
  after(async () => {
    await closeStore()
  })
  beforeEach(async () => {
    clock = START
    await store.db.kysely.deleteFrom('jobs').execute()
  })

  const job = (type: string, payload: string, id = `job_${type}_${Math.random()}`): JobRow => ({
    id,
    type,
    payload,
    attempts: 0,
    run_at: clock,
    lease_owner: null,
    lease_until: null,
    last_error: null,
    created_at: clock,
  })
  const enqueue = (...jobs: JobRow[]) => store.tx(() => store.jobs.enqueue(jobs))
  const row = (id: string) =>
    store.db.kysely.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst()

  /** A test job type: runs `behave` and records each attempt it saw. */
  function testCatalog(
    behave: (attempt: number, n: number) => Promise<JobResult>,
    timeoutMs = 1000,
  ) {
    const seen: { n: number; attempt: number }[] = []
    const catalog = new JobCatalog([
      defineJob({
        type: 'echo',
        payload: Type.Object({ n: Type.Integer() }),
        maxAttempts: 3,
        timeoutMs,
        backoffMs: (attempt) => attempt * 1000,
        async run(p, j) {
          seen.push({ n: p.n, attempt: j.attempt })
          return behave(j.attempt, p.n)
        },
      }),
    ])
    return { seen, worker: new JobWorker(store, catalog, silent, 20, now) }
  }

  test('an unknown type or a payload that fails its schema is dead-lettered with the reason; the rest run', async () => {
    const { seen, worker } = testCatalog(async () => 'done')
    const unknown = job('mystery', '{}')
    const notJson = job('echo', '{n:')
    const wrongShape = job('echo', JSON.stringify({ n: 'one' }))
    const good = job('echo', JSON.stringify({ n: 1 }))
    await enqueue(unknown, notJson, wrongShape, good)
    assert.equal(await worker.tick(), 'idle')
    assert.deepEqual(seen, [{ n: 1, attempt: 1 }])
    assert.equal(await row(good.id), undefined, 'a job done is deleted')
    const reasons = await Promise.all([unknown, notJson, wrongShape].map((j) => row(j.id)))
    assert.deepEqual(
      reasons.map((r) => [r?.run_at, r?.lease_owner, r?.last_error]),
      [
        [DEAD_LETTER, null, 'unknown job type "mystery"'],
        [DEAD_LETTER, null, 'payload is not JSON'],
        [DEAD_LETTER, null, 'payload does not match its schema at /n: Expected integer'],
      ],
    )
    // Dead letters are never claimed again, whatever the time.
    clock += 365 * 86_400_000
    assert.equal((await store.tx(() => store.jobs.claim('x', 10, clock, 1000))).length, 0)
  })

  test('a failing job is retried with attempt + 1 after its backoff, then given up at its cap', async () => {
    const { seen, worker } = testCatalog(async (attempt) => ({ retry: `no luck ${attempt}` }))
    const j = job('echo', JSON.stringify({ n: 7 }))
    await enqueue(j)
    await worker.tick()
    let r = await row(j.id)
    assert.deepEqual([r?.attempts, r?.run_at, r?.last_error], [1, clock + 1000, 'no luck 1'])
    // Not before its time.
    clock += 999
    await worker.tick()
    assert.equal(seen.length, 1)
    clock += 1
    await worker.tick()
    r = await row(j.id)
    assert.deepEqual([r?.attempts, r?.run_at, r?.last_error], [2, clock + 2000, 'no luck 2'])
    clock += 2000
    await worker.tick()
    r = await row(j.id)
    assert.deepEqual(
      [r?.attempts, r?.run_at, r?.last_error],
      [3, DEAD_LETTER, 'gave up after 3 attempts: no luck 3'],
    )
    assert.deepEqual(
      seen.map((s) => s.attempt),
      [1, 2, 3],
    )
  })

  test('a throwing job is a failed attempt, not a crash', async () => {
    const { worker } = testCatalog(async () => {
      throw new Error('boom')
    })
    const j = job('echo', JSON.stringify({ n: 1 }))
    await enqueue(j)
    await worker.tick()
    const r = await row(j.id)
    assert.deepEqual([r?.attempts, r?.run_at, r?.last_error], [1, clock + 1000, 'failed: boom'])
  })

  test(
    'a job that outlives its timeout is a failed attempt; the others finish',
    { timeout: 10_000 },
    async () => {
      // Job 1 never settles on its own: only its timeout ends the run.
      let started: () => void = () => undefined
      const running = new Promise<void>((resolve) => (started = resolve))
      const { worker } = testCatalog((_attempt, n) => {
        if (n !== 1) return Promise.resolve('done')
        started()
        return new Promise<JobResult>(() => undefined)
      }, 5_000)
      const slow = job('echo', JSON.stringify({ n: 1 }))
      const fast = job('echo', JSON.stringify({ n: 2 }))
      await enqueue(slow, fast)
      mock.timers.enable({ apis: ['setTimeout'] })
      try {
        let settled = false
        const ticking = worker.tick().finally(() => (settled = true))
        await running
        // The other job finishes first: the fake time below must not time it out.
        await new Promise((resolve) => setImmediate(resolve))
        mock.timers.tick(5_000)
        // The rest is database work: give it a few real seconds (Date is not mocked).
        const deadline = Date.now() + 5_000
        while (!settled && Date.now() < deadline) {
          await new Promise((resolve) => setImmediate(resolve))
        }
        assert.ok(settled, 'the tick ends although a job hangs')
        await ticking
      } finally {
        mock.timers.reset()
      }
      const r = await row(slow.id)
      assert.deepEqual(
        [r?.attempts, r?.run_at, r?.last_error],
        [1, clock + 1000, 'timed out after 5000 ms'],
      )
      assert.equal(await row(fast.id), undefined)
    },
  )

  test('the catalog refuses a type whose timeout outlives the lease, or declared twice', () => {
    const def = (timeoutMs: number) =>
      defineJob({
        type: 't',
        payload: Type.Object({}),
        maxAttempts: 1,
        timeoutMs,
        backoffMs: () => 0,
        run: async () => 'done' as const,
      })
    assert.throws(() => new JobCatalog([def(60_000)]), /timeoutMs/)
    assert.throws(() => new JobCatalog([def(1000), def(1000)]), /twice/)
  })

  test('a parked report is retried with attempt + 1 on its schedule and dropped after the last', async () => {
    const reports = new ReportIngestor(store, silent, now)
    const worker = new JobWorker(store, jobCatalog(reports), silent, 20, now)
    await reports.ingest('sim', [
      {
        type: 'status',
        messageId: 'msg_nowhere',
        providerMessageId: 'P-0',
        status: 'delivered',
        at: clock,
      },
    ])
    const [parked] = await store.db.kysely.selectFrom('jobs').selectAll().execute()
    assert.ok(parked)
    assert.equal(parked.type, PROVIDER_REPORT)
    assert.equal(parked.run_at, clock + PROVIDER_REPORT_DELAYS_MS[0])
    const attempts: number[] = []
    const delays: number[] = []
    for (let i = 0; i < 20; i++) {
      const r = await row(parked.id)
      if (!r || r.run_at === DEAD_LETTER) break
      clock = r.run_at
      await worker.tick()
      const next = await row(parked.id)
      attempts.push(next?.attempts ?? -1)
      if (next && next.run_at !== DEAD_LETTER) delays.push(next.run_at - clock)
    }
    assert.deepEqual(attempts, [1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert.deepEqual(delays, PROVIDER_REPORT_DELAYS_MS.slice(1))
    const last = await row(parked.id)
    assert.equal(last?.run_at, DEAD_LETTER)
    assert.equal(last?.last_error, 'gave up after 9 attempts: matches no message yet')
    // Dead letters are purged after a week by the worker's maintenance.
    clock += 8 * 86_400_000
    await worker.tick()
    assert.equal(await row(parked.id), undefined)
  })

  test('a parked report of an earlier version (attempt in the payload) still runs', async () => {
    const reports = new ReportIngestor(store, silent, now)
    const worker = new JobWorker(store, jobCatalog(reports), silent, 20, now)
    const report = { type: 'status', providerMessageId: 'P-1', status: 'delivered', at: clock }
    const old = job(PROVIDER_REPORT, JSON.stringify({ provider: 'sim', report, attempt: 4 }))
    const bad = job(
      PROVIDER_REPORT,
      JSON.stringify({ provider: 'sim', report: { ...report, status: 'lost' } }),
    )
    await enqueue(old, bad)
    await worker.tick()
    assert.deepEqual((await row(old.id))?.last_error, 'matches no message yet')
    assert.equal((await row(bad.id))?.run_at, DEAD_LETTER)
    assert.match(
      (await row(bad.id))?.last_error ?? '',
      /^payload does not match its schema at \/report\/status/,
    )
  })
})

describe(`event log retention (${TEST_DB})`, () => {
  test('maintenance purges events past EVENT_RETENTION_HOURS in batches, keeping the newest', async (t) => {
    const { store, close } = await openTestStore()
    t.after(close)
    const hour = 3_600_000
    const old = Array.from({ length: 2500 }, (_, i) => ({
      type: 'test.old',
      data: { i },
      at: START - 80 * hour,
    }))
    await store.tx(() => store.events.raise(old))
    await store.tx(() => store.events.raise([{ type: 'test.recent', data: {}, at: START - hour }]))
    const worker = new JobWorker(
      store,
      new JobCatalog([]),
      silent,
      20,
      () => START,
      undefined,
      72 * hour,
    )
    await worker.tick()
    const left = await store.db.kysely.selectFrom('events').select(['type']).execute()
    assert.deepEqual(
      left.map((e) => e.type),
      ['test.recent'],
      'more than one batch (1,000) went',
    )
    // Past the window too, the newest event stays: it tells a resumed stream where the log ended.
    const later = new JobWorker(
      store,
      new JobCatalog([]),
      silent,
      20,
      () => START + 100 * hour,
      undefined,
      72 * hour,
    )
    await later.tick()
    assert.equal((await store.eventBounds()).first, (await store.eventBounds()).last)
    assert.notEqual((await store.eventBounds()).last, null)
  })
})

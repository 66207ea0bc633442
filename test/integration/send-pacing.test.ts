// Risk covered: while intake keeps committing, dispatch claims at full speed and competes with
// the submissions it should give way to; or the pacing outlives intake and slows dispatch
// when nothing is being submitted. Time is the worker's injected clock.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { prepareMessage } from '../../src/domain/messages/prepare.js'
import { createFanout } from '../../src/domain/webhooks/fanout.js'
import type { SmsProvider } from '../../src/providers/provider.js'
import { SendWorker } from '../../src/queue/send.worker.js'
import { openDb } from '../../src/store/db.js'
import { packRows } from '../../src/store/rows.js'
import { Store } from '../../src/store/store.js'
import { freshDatabase, TEST_DB, waitFor } from '../support/harness.js'

const NOW = 1_800_000_000_000
const TOTAL = 400
/** Claims per second while intake is busy: 10 per 10 ms, and a bucket of 10 ms (10 claims). */
const RATE = 1000

let db: Awaited<ReturnType<typeof freshDatabase>>
let store: Store

before(async () => {
  db = await freshDatabase()
  const opened = openDb(loadConfig(db.env).database)
  await opened.migrate()
  store = new Store(opened, createFanout({ endpoints: [] }))
})
after(async () => {
  await store.close()
  await db.drop()
})

test(`dispatch is paced to its rate while intake commits, and not once intake stops (${TEST_DB})`, async () => {
  const config = loadConfig({
    ...db.env,
    WORKER_RATE_DURING_INTAKE: String(RATE),
    WORKER_BATCH_SIZE: '500',
    WORKER_POLL_MS: '5',
  })
  const messages = Array.from({ length: TOTAL }, (_, i) => {
    const r = prepareMessage(
      { to: `+1415555${String(3000 + i)}`, body: 'paced' },
      { apiKeyId: null, now: NOW, policy: config.messages },
    )
    if (!r.ok) throw new Error('bad fixture')
    return r.message
  })
  await store.tx(() =>
    store.messages.insertSubmissions([{ idempotency: null, rows: packRows(messages) }]),
  )
  let sends = 0
  const provider: SmsProvider = {
    name: 'fake',
    type: 'fake',
    deduplicates: false,
    send: async (sms) => {
      sends++
      return { outcome: 'accepted', providerMessageIds: [`F-${sms.id}`] }
    },
  }
  let clock = NOW
  const worker = new SendWorker({
    store,
    providers: new Map([['fake', provider]]),
    config: config.worker,
    logger: pino({ level: 'silent' }),
    now: () => clock,
  })
  /** Waits for `n` sends, then for a few more turns of the worker in which no more may come. */
  const exactly = async (n: number, what: string) => {
    await waitFor(() => (sends >= n ? true : undefined), 5_000, what)
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 6))
    assert.equal(sends, n, what)
  }

  worker.intakeCommitted()
  worker.start()
  try {
    // Intake is busy: the first claim takes only the bucket, however much is due.
    await exactly(10, 'the first burst')
    // While intake keeps committing, each 10 ms of clock lets 10 more out: 1000 per second.
    for (let step = 1; step <= 5; step++) {
      clock += 10
      worker.intakeCommitted()
      await exactly(10 + step * 10, `${step * 10} ms into the intake burst`)
    }
    // Intake stops: once it has been quiet for a moment, everything due goes at once.
    clock += 200
    await waitFor(() => (sends === TOTAL ? true : undefined), 5_000, 'the rest unpaced')
  } finally {
    await worker.stop(1000)
  }
  const sent = await store.db.kysely
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'sent')
    .executeTakeFirstOrThrow()
  assert.equal(Number(sent.n), TOTAL)
})

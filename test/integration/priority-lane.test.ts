// Risk covered: claims in strict due-time order make an alert or a one-time code wait behind a
// marketing backlog; the priority lane must send it at once, measured at the provider.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { loadConfig } from '../../src/config.js'
import { newId } from '../../src/domain/ids.js'
import { prepareMessage } from '../../src/domain/messages/prepare.js'
import { createFanout } from '../../src/domain/webhooks/fanout.js'
import { openDb } from '../../src/store/db.js'
import { packRows } from '../../src/store/rows.js'
import { Store } from '../../src/store/store.js'
import { startFakeProvider, type FakeProvider } from '../support/fake-provider.js'
import {
  freshDatabase,
  startTestSwitchboard,
  TEST_DB,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'

const BACKLOG = 100_000
const CHUNK = 5_000

let database: Awaited<ReturnType<typeof freshDatabase>>
let provider: FakeProvider
let t: TestSwitchboard | undefined

before(async () => {
  database = await freshDatabase()
  provider = await startFakeProvider()
  // The backlog goes straight into the store, as a campaign's would have been accepted.
  const config = loadConfig(database.env)
  const db = openDb(config.database)
  await db.migrate()
  const store = new Store(db, createFanout({ endpoints: [] }))
  const now = Date.now()
  const template = prepareMessage(
    { to: '+14155550100', body: 'Spring sale: 20% off', type: 'marketing' },
    { apiKeyId: null, now, policy: config.messages },
  )
  if (!template.ok) throw new Error('bad fixture')
  try {
    for (let first = 0; first < BACKLOG; first += CHUNK) {
      const messages = Array.from({ length: CHUNK }, (_, i) => ({
        ...template.message,
        id: newId('msg'),
        to_number: `+1415${String(3_000_000 + first + i)}`,
        // Due in creation order, all before the transactional message.
        next_attempt_at: now - BACKLOG + first + i,
      }))
      await store.tx(() =>
        store.messages.insertSubmissions([{ idempotency: null, rows: packRows(messages) }]),
      )
    }
  } finally {
    await store.close()
  }
})
after(async () => {
  await t?.close()
  await provider?.close()
  await database?.drop()
})

test(
  `a transactional message is sent within a second behind ${BACKLOG.toLocaleString('en')} marketing messages (${TEST_DB})`,
  {
    timeout: 180_000,
  },
  async (c) => {
    t = await startTestSwitchboard(
      {
        PROVIDERS: JSON.stringify([provider.entry('gateway')]),
        // As many sends in flight as the adapter has connections (simulator-http: 64): more
        // would only queue inside its HTTP client, first come first served, where no lane applies.
        WORKER_CONCURRENCY: '64',
      },
      { database },
    )
    // Dispatch of the backlog is under way.
    await waitFor(() => (provider.arrivals.length >= 2_000 ? true : undefined), 60_000, 'backlog')
    const submittedAt = Date.now()
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(),
      payload: { to: '+14155550199', body: 'Your code is 123456', type: 'transactional' },
    })
    assert.equal(res.statusCode, 202, res.body)
    const id = (JSON.parse(res.body) as { id: string }).id
    const index = await waitFor(
      () => {
        const i = provider.arrivals.findIndex((a) => a.id === id)
        return i >= 0 ? i : undefined
      },
      60_000,
      'the transactional message',
    )
    const arrival = provider.arrivals[index]!
    const waited = arrival.at - submittedAt
    const events = await t.sb.store.listEvents(id)
    c.diagnostic(
      `after submit (ms): ${events.map((e) => `${e.status} ${e.at - submittedAt}`).join(', ')}, at the provider ${Math.round(waited)}`,
    )
    assert.ok(waited < 1000, `sent ${Math.round(waited)} ms after it was submitted`)
    // It went ahead of the backlog, not after it.
    assert.ok(index < BACKLOG / 2, `sent after ${index} marketing messages`)
  },
)

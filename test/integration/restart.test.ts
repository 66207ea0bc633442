// Risk covered: stopping the embedded server (as SIGTERM does) while the built-in simulator
// still holds delivery reports leaves those messages `sent` forever, although the provider it
// stands for would still report them.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { createApiKey } from '../../src/usecases/api-keys.js'
import { startSwitchboard, type Switchboard } from '../../src/main.js'
import { SimulatorCore } from '../../src/providers/simulator/simulator-core.js'
import type { SimulatorReport } from '../../src/providers/simulator/simulator-options.js'
import { freshDatabase, statusCounts, TEST_DB, waitFor } from '../support/harness.js'

const TOTAL = 300
const SIMULATOR = {
  SIMULATOR_SEED: '7',
  SIMULATOR_UNDELIVERED_RATE: '0.2',
  SIMULATOR_RULES: JSON.stringify([{ match: '+1415555001', outcome: 'undelivered' }]),
}

let database: Awaited<ReturnType<typeof freshDatabase>>
let sb: Switchboard | undefined

before(async () => {
  database = await freshDatabase()
})
after(async () => {
  await sb?.stop()
  await database?.drop()
})

/** Starts the embedded server (background thread on, as users get it) on the test database. */
function start(dlrDelayMs: number): Promise<Switchboard> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    WORKER_POLL_MS: '20',
    SIMULATOR_DLR_DELAY_MS: String(dlrDelayMs),
    ...SIMULATOR,
    ...database.env,
  })
  return startSwitchboard(config, { listen: false, logger: pino({ level: 'silent' }) })
}

test(`reports the simulator owed when it stopped are delivered after a restart (${TEST_DB})`, async () => {
  // Reports are due in ten minutes: none comes before the stop.
  sb = await start(600_000)
  const { key } = await createApiKey({ store: sb.store, now: Date.now }, 'restart', ['admin'])
  const messages = Array.from({ length: TOTAL }, (_, i) => ({
    to: `+1415555${String(i).padStart(4, '0')}`,
    body: `restart ${i}`,
  }))
  const res = await sb.app?.inject({
    method: 'POST',
    url: '/v1/messages/batch',
    headers: { authorization: `Bearer ${key}` },
    payload: { messages },
  })
  assert.equal(res?.statusCode, 202, res?.body)
  const ids = res
    .json<{ data: { message: { id: string; to: string } }[] }>()
    .data.map((d) => d.message)
  await waitFor(
    async () =>
      (await statusCounts((sb as Switchboard).store.db)).sent === TOTAL ? true : undefined,
    20_000,
    'every message sent',
  )
  const first = sb
  sb = undefined
  await first.stop()

  // The same simulator, restarted with reports due at once: what it decided for each message.
  const expected = new Map<string, SimulatorReport>()
  const reference = new SimulatorCore({
    seed: Number(SIMULATOR.SIMULATOR_SEED),
    undeliveredRate: Number(SIMULATOR.SIMULATOR_UNDELIVERED_RATE),
    rules: JSON.parse(SIMULATOR.SIMULATOR_RULES) as [],
    dlrDelayMs: 0,
    onReports: (reports) => reports.forEach((r) => expected.set(r.messageId, r)),
  })
  for (const m of ids) reference.submit({ ...m, from: null, body: '', attempt: 1 })
  await waitFor(() => (expected.size === TOTAL ? true : undefined), 5_000, 'reference reports')
  reference.close()

  sb = await start(5)
  const counts = await waitFor(
    async () => {
      const c = await statusCounts((sb as Switchboard).store.db)
      return (c.delivered ?? 0) + (c.undelivered ?? 0) === TOTAL ? c : undefined
    },
    20_000,
    'every message final after the restart',
  )
  const undelivered = [...expected.values()].filter((r) => r.status === 'undelivered').length
  assert.ok(undelivered > 10 && undelivered < TOTAL / 2, `${undelivered} undelivered`)
  assert.deepEqual(counts, { delivered: TOTAL - undelivered, undelivered })
  for (const { id } of ids) {
    const m = await sb.store.getMessage(id)
    const want = expected.get(id)
    assert.equal(m?.status, want?.status, id)
    assert.equal(m?.provider_message_id, want?.providerMessageId, id)
    assert.equal(m?.error_code, want?.errorCode ?? null, id)
  }
  const sample = ids[0]?.id ?? ''
  assert.deepEqual(
    (await sb.store.listEvents(sample)).map((e) => e.status),
    ['queued', 'sending', 'sent', expected.get(sample)?.status],
  )
})

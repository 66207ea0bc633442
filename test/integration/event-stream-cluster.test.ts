// Risk: in cluster mode an event raised by one process never reaches the event streams held
// open by another (each process only knows about its own commits).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { createFanout } from '../../src/domain/webhooks/fanout.js'
import { openDb } from '../../src/store/db.js'
import { listenForEvents } from '../../src/store/event-listener.js'
import { Store } from '../../src/store/store.js'
import { freshDatabase, TEST_DB, waitFor } from '../support/harness.js'
import {
  apiClient,
  createAdminKey,
  freePort,
  spawnSwitchboard,
  waitReady,
  type SwitchboardProcess,
} from '../support/processes.js'
import { openSse } from '../support/sse.js'

const skip =
  TEST_DB === 'postgres' ? false : 'needs PostgreSQL: only cluster mode runs several API processes'

describe('event streams across the processes of a cluster', { skip }, () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>
  let apiKey: string
  const children: SwitchboardProcess[] = []

  before(async () => {
    database = await freshDatabase('postgres')
    apiKey = await createAdminKey(database.env)
  })
  after(async () => {
    await Promise.all(children.map((c) => c.stop(5000)))
    await database?.drop()
  })

  test('NOTIFY in the raising transaction reaches a LISTEN connection of this schema only', async () => {
    const db = openDb(loadConfig({ LOG_LEVEL: 'silent', ...database.env }).database)
    const store = new Store(db, createFanout({ endpoints: [] }))
    const other = await freshDatabase('postgres')
    const otherDb = openDb(loadConfig({ LOG_LEVEL: 'silent', ...other.env }).database)
    const config = loadConfig({ LOG_LEVEL: 'silent', ...database.env }).database
    assert.equal(config.kind, 'postgres')
    let woken = 0
    const listener = listenForEvents(config, () => woken++, pino({ level: 'silent' }))
    try {
      await otherDb.migrate()
      // Connected: it wakes once at start (anything committed before it listened).
      await waitFor(() => (woken >= 1 ? true : undefined))
      const before = woken
      const otherStore = new Store(otherDb, createFanout({ endpoints: [] }))
      await otherStore.tx(() =>
        otherStore.events.raise([{ type: 'test.elsewhere', data: {}, at: Date.now() }]),
      )
      await store.tx(() => store.events.raise([{ type: 'test.here', data: {}, at: Date.now() }]))
      await waitFor(() => (woken > before ? true : undefined), 5000, 'a notification')
      // Notifications arrive in commit order on one connection: the other schema's came first.
      assert.equal(woken, before + 1, "another schema's events do not wake this one")
    } finally {
      await listener.close()
      await store.close()
      await otherDb.close()
      await other.drop()
    }
  })

  test(
    'an inbound SMS taken by one API process reaches a stream on the other',
    { timeout: 120_000 },
    async () => {
      const ports = [await freePort(), await freePort()]
      // No fallback poll: the event must come by NOTIFY.
      const common = { ...database.env, LOG_LEVEL: 'warn', EVENT_STREAM_POLL_MS: '600000' }
      const [a, b] = ports.map((port, i) => {
        const child = spawnSwitchboard(`api${i}`, 'api', {
          ...common,
          PORT: String(port),
          PUBLIC_URL: `http://127.0.0.1:${port}`,
        })
        children.push(child)
        return child
      }) as [SwitchboardProcess, SwitchboardProcess]
      const [urlA, urlB] = ports.map((p) => `http://127.0.0.1:${p}`) as [string, string]
      await Promise.all([waitReady(a, urlA), waitReady(b, urlB)])

      const stream = await openSse(`${urlB}/v1/events/stream`, {
        authorization: `Bearer ${apiKey}`,
      })
      const client = apiClient(urlA, apiKey)
      try {
        assert.equal(stream.status, 200)
        const res = await client.post('/v1/simulator/inbound', {
          from: '+14155550401',
          body: 'Hello from the other process',
        })
        assert.equal(res.status, 201, JSON.stringify(res.body))
        const [f] = await stream.waitFrames(1, 30_000)
        assert.equal(f?.event, 'message.received')
        const payload = JSON.parse(f?.data ?? '{}') as { data: { id: string; body: string } }
        assert.deepEqual(
          [payload.data.id, payload.data.body],
          [(res.body as { id: string }).id, 'Hello from the other process'],
        )
      } finally {
        await client.close()
        await stream.close()
      }
    },
  )
})

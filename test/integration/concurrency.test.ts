// Risk covered: two worker processes claiming from one PostgreSQL database send a message twice
// (or drop one) because their claims overlap.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  startSimulatorServer,
  type SimulatorServer,
} from '../../src/providers/simulator/simulator.server.js'
import { freshDatabase, TEST_DB } from '../support/harness.js'
import {
  apiClient,
  createAdminKey,
  freePort,
  spawnSwitchboard,
  waitReady,
  waitWorkersConnected,
  withDb,
  type SwitchboardProcess,
} from '../support/processes.js'

const TOTAL = 10_000
const BATCH = 500
const SENDERS = 4
const SECRET = 'concurrency-test-secret'

const skip =
  TEST_DB === 'postgres'
    ? false
    : 'needs PostgreSQL: SQLite allows one writer per file, so concurrent claims cannot overlap there'

describe('two workers on one PostgreSQL database', { skip }, () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>
  let apiKey: string
  let port: number
  // One simulator per worker: a message sent by both shows up in both, and the split between
  // them proves that both workers took part. Both report to the one API process.
  const sims: SimulatorServer[] = []
  const children: SwitchboardProcess[] = []

  before(async () => {
    port = await freePort()
    for (let i = 0; i < 2; i++) {
      sims.push(
        await startSimulatorServer({
          port: 0,
          callbackUrl: `http://127.0.0.1:${port}/webhooks/simulator/status`,
          webhookSecret: SECRET,
          dedupe: false,
          latencyMs: { min: 1, max: 20 },
          dlrDelayMs: 20,
          callbackMaxBackoffMs: 500,
        }),
      )
    }
    database = await freshDatabase('postgres')
    apiKey = await createAdminKey(database.env)
  })

  after(async () => {
    await Promise.all(children.map((c) => c.stop(5000)))
    for (const s of sims) await s.close()
    await database?.drop()
  })

  test('10,000 messages are each sent exactly once', { timeout: 150_000 }, async (t) => {
    const started = Date.now()
    const schema = database.env.DATABASE_SCHEMA ?? ''
    const common = {
      ...database.env,
      SIMULATOR_WEBHOOK_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      WORKER_BATCH_SIZE: '100',
      WORKER_POLL_MS: '50',
    }
    const [simA, simB] = sims as [SimulatorServer, SimulatorServer]
    const workers = [simA, simB].map((sim, i) => {
      const name = `${schema}_worker${i}`
      const child = spawnSwitchboard(name, 'worker', {
        ...common,
        SIMULATOR_URL: sim.url,
        // Lets the test see the worker's database connections in pg_stat_activity.
        PGAPPNAME: name,
      })
      children.push(child)
      return child
    })
    const api = spawnSwitchboard('api', 'api', {
      ...common,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      SIMULATOR_URL: simA.url,
    })
    children.push(api)
    await waitReady(api, `http://127.0.0.1:${port}`)
    await waitWorkersConnected(workers)

    // Submit over HTTP while both workers claim.
    const client = apiClient(`http://127.0.0.1:${port}`, apiKey, SENDERS)
    const acked = new Set<string>()
    let next = 0
    try {
      await Promise.all(
        Array.from({ length: SENDERS }, async () => {
          while (next < TOTAL) {
            const first = next
            next += BATCH
            const messages = Array.from({ length: BATCH }, (_, k) => ({
              to: `+1415${3_000_000 + first + k}`,
              body: `concurrency ${first + k}`,
            }))
            const res = await client.post('/v1/messages/batch', { messages })
            assert.equal(res.status, 202, JSON.stringify(res.body))
            for (const d of (res.body as { data: { message?: { id: string } }[] }).data) {
              if (d.message) acked.add(d.message.id)
            }
          }
        }),
      )
    } finally {
      await client.close()
    }
    assert.equal(acked.size, TOTAL)

    const deadline = Date.now() + 90_000
    for (;;) {
      const delivered = await withDb(database.env, async (db) =>
        db.kysely
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '=', 'delivered')
          .executeTakeFirstOrThrow()
          .then((r) => Number(r.n)),
      )
      if (delivered === TOTAL) break
      if (Date.now() > deadline) assert.fail(`only ${delivered} of ${TOTAL} delivered after 90 s`)
      await new Promise((r) => setTimeout(r, 500))
    }

    // The two simulators together, counted as one provider would count them.
    const [a, b] = [simA.core.stats(), simB.core.stats()]
    const union = new Set([...simA.core.acceptedIds(), ...simB.core.acceptedIds()])
    const both = [...simA.core.acceptedIds()].filter((id) => simB.core.acceptedCount(id) > 0)
    const combined = {
      attempts: a.attempts + b.attempts,
      accepted: a.accepted + b.accepted,
      uniqueAccepted: union.size,
      duplicates: a.accepted + b.accepted - union.size,
    }
    const rows = await withDb(database.env, (db) =>
      db.kysely.selectFrom('messages').select(['id', 'status', 'attempts']).execute(),
    )
    const figures = {
      ...combined,
      worker0Sends: a.attempts,
      worker1Sends: b.attempts,
      sentByBothWorkers: both.length,
      elapsedMs: Date.now() - started,
    }
    console.log(`concurrency figures: ${JSON.stringify(figures)}`)
    t.diagnostic(`concurrency figures: ${JSON.stringify(figures)}`)

    assert.deepEqual(combined, {
      attempts: TOTAL,
      accepted: TOTAL,
      uniqueAccepted: TOTAL,
      duplicates: 0,
    })
    assert.deepEqual(both, [], 'messages sent by both workers')
    assert.equal(a.duplicates + b.duplicates, 0)
    assert.deepEqual(
      [...acked].filter((id) => !union.has(id)),
      [],
    )
    assert.equal(rows.length, TOTAL)
    assert.deepEqual(
      rows.filter((r) => r.status !== 'delivered' || r.attempts !== 1).slice(0, 5),
      [],
      'every message delivered after exactly one claim',
    )
    assert.ok(a.attempts > 0 && b.attempts > 0, `work split ${a.attempts}/${b.attempts}`)
    for (const w of [...workers, api]) {
      assert.equal(w.proc.exitCode, null, `${w.name} exited early:\n${w.output()}`)
    }
  })
})

// Risk covered: in cluster mode each worker process paces on its own, so two workers together
// send twice a provider's `mps`; the schedule must be shared (PostgreSQL, or Redis with
// REDIS_URL).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { RespClient } from '../../src/queue/pacing/resp.client.js'
import { startFakeProvider, worstSecond, type FakeProvider } from '../support/fake-provider.js'
import { freshDatabase, TEST_DB, waitFor } from '../support/harness.js'
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

const MPS = 10
const COUNT = 40
/** This machine is shared and loaded: see test/integration/pacing.test.ts. */
const MARGIN = 150
const REDIS_URL = 'redis://127.0.0.1:6379/0'

const skip =
  TEST_DB === 'postgres'
    ? false
    : 'needs PostgreSQL: only cluster mode runs several worker processes'

for (const schedule of ['postgres', 'redis'] as const) {
  describe(`two worker processes pacing one provider through ${schedule}`, { skip }, () => {
    let database: Awaited<ReturnType<typeof freshDatabase>>
    let provider: FakeProvider
    let apiKey: string
    const children: SwitchboardProcess[] = []

    before(async () => {
      provider = await startFakeProvider()
      database = await freshDatabase('postgres')
      apiKey = await createAdminKey(database.env)
    })
    after(async () => {
      await Promise.all(children.map((c) => c.stop(5000)))
      await provider?.close()
      await database?.drop()
    })

    test(
      `no second holds more than the instance's ${MPS} mps, with both workers sending`,
      {
        timeout: 90_000,
      },
      async (t) => {
        const port = await freePort()
        const schema = database.env.DATABASE_SCHEMA ?? ''
        // A name of its own: the Redis schedule outlives the test's database.
        const name = `paced-${randomBytes(4).toString('hex')}`
        const common = {
          ...database.env,
          LOG_LEVEL: 'warn',
          WORKER_POLL_MS: '20',
          PACING_MARGIN_MS: String(MARGIN),
          PROVIDERS: JSON.stringify([provider.entry(name, { mps: MPS })]),
          PUBLIC_URL: `http://127.0.0.1:${port}`,
          ...(schedule === 'redis' ? { REDIS_URL } : {}),
        }
        const workers = [0, 1].map((i) => {
          const child = spawnSwitchboard(`${schema}_pw${i}`, 'worker', {
            ...common,
            PGAPPNAME: `${schema}_pw${i}`,
          })
          children.push(child)
          return child
        })
        const api = spawnSwitchboard('api', 'api', { ...common, PORT: String(port) })
        children.push(api)
        await waitReady(api, `http://127.0.0.1:${port}`)
        await waitWorkersConnected(workers)

        const client = apiClient(`http://127.0.0.1:${port}`, apiKey)
        try {
          const res = await client.post('/v1/messages/batch', {
            messages: Array.from({ length: COUNT }, (_, i) => ({
              to: `+1415555${String(2000 + i)}`,
              body: `cluster paced ${i}`,
            })),
          })
          assert.equal(res.status, 202, JSON.stringify(res.body))
        } finally {
          await client.close()
        }
        await waitFor(
          () => (provider.arrivals.length >= COUNT ? true : undefined),
          60_000,
          `${COUNT} sends`,
        )
        const arrivals = provider.arrivals
        assert.equal(new Set(arrivals.map((a) => a.id)).size, COUNT, 'each message sent once')
        const times = arrivals.map((a) => a.at).sort((a, b) => a - b)
        const gaps = times.slice(1).map((x, i) => Math.round(x - (times[i] as number)))
        t.diagnostic(`gaps ${gaps.join(' ')}`)
        assert.ok(
          worstSecond(arrivals) <= MPS,
          `worst second held ${worstSecond(arrivals)}; gaps ${gaps.join(' ')}`,
        )

        // Both workers sent: the claim that sent each message names its worker.
        const owners = await withDb(database.env, async (db) => {
          const rows = await db.kysely
            .selectFrom('message_events')
            .select(['message_id', 'detail', 'id'])
            .where('status', '=', 'sending')
            .orderBy('id')
            .execute()
          const last = new Map(
            rows.map((r) => [r.message_id, /by (\S+)$/.exec(r.detail ?? '')?.[1]]),
          )
          return new Set(last.values())
        })
        assert.equal(owners.size, 2, `senders: ${[...owners].join(', ')}`)
        // The schedule is where it was asked to be.
        const key = `provider:${name}`
        if (schedule === 'redis') {
          const redis = new RespClient(REDIS_URL)
          try {
            assert.ok(
              await redis.command('GET', `switchboard:{pacing}:${key}`),
              'schedule in Redis',
            )
          } finally {
            await redis.close()
          }
        }
        const stored = await withDb(database.env, (db) =>
          db.kysely.selectFrom('pacing').select('key').where('key', '=', key).execute(),
        )
        assert.equal(stored.length, schedule === 'postgres' ? 1 : 0, 'schedule in PostgreSQL')
        for (const w of [...workers, api]) {
          assert.equal(w.proc.exitCode, null, `${w.name} exited early:\n${w.output()}`)
        }
      },
    )
  })
}

// Risk covered: a Switchboard process killed with SIGKILL mid-stream loses an acknowledged
// message or re-sends more messages than it had in flight when it died.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { sql } from 'kysely'
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
  withDb,
  type SwitchboardProcess,
} from '../support/processes.js'

const TOTAL = 20_000
const KILL_AFTER = 8_000
const SENDERS = 4
const SECRET = 'crash-test-secret'
const NOT_FINAL = ['scheduled', 'queued', 'sending', 'sent'] as const

let sim: SimulatorServer
let database: Awaited<ReturnType<typeof freshDatabase>>
let apiKey: string
let port: number
const children: SwitchboardProcess[] = []

before(async () => {
  port = await freePort()
  sim = await startSimulatorServer({
    port: 0,
    callbackUrl: `http://127.0.0.1:${port}/webhooks/simulator/status`,
    webhookSecret: SECRET,
    // Every acceptance is counted and reported on its own: a re-send shows as a duplicate.
    dedupe: false,
    // Some latency keeps sends in flight, so the kill catches messages mid-send.
    latencyMs: { min: 5, max: 60 },
    dlrDelayMs: 20,
    callbackMaxBackoffMs: 500,
  })
  database = await freshDatabase()
  apiKey = await createAdminKey(database.env)
})

after(async () => {
  for (const c of children) await c.kill()
  await sim?.close()
  await database?.drop()
})

function startChild(name: string): SwitchboardProcess {
  const child = spawnSwitchboard(name, 'all', {
    ...database.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SIMULATOR_URL: sim.url,
    SIMULATOR_WEBHOOK_SECRET: SECRET,
    LOG_LEVEL: 'warn',
    // Short enough that the killed process's leases end soon after the restart, long enough
    // that a slow but live send (its outcome is recorded up to ~4 s late under this load on
    // 2 cores) is not re-claimed: that would count duplicates the kill did not cause.
    WORKER_LEASE_MS: '10000',
    PROVIDER_TIMEOUT_MS: '5000',
    // Dispatch at full speed during the submissions (not paced behind intake), so that many
    // sends are in flight when the process is killed.
    WORKER_RATE_DURING_INTAKE: '0',
  })
  children.push(child)
  return child
}

/** Deterministic request shapes: every 8th request is a single send, others batches of 100-500. */
function requestSize(n: number): number {
  return n % 8 === 7 ? 1 : 100 + ((n * 7919) % 401)
}

const message = (i: number) => ({
  to: `+1415${2_000_000 + i}`,
  body: `crash test ${i}`,
})

test(
  `SIGKILL mid-stream loses no acknowledged message (${TEST_DB})`,
  { timeout: 170_000 },
  async (t) => {
    const started = Date.now()
    const acked = new Set<string>()
    let nextIndex = 0
    let requests = 0
    let failedRequests = 0

    /** Sends with SENDERS concurrent requests until `target` are acknowledged or `stop()`. */
    async function submit(
      baseUrl: string,
      target: number,
      onAck: () => void,
      stopped: () => boolean,
    ): Promise<void> {
      const client = apiClient(baseUrl, apiKey, SENDERS)
      let inFlight = 0
      let failure = false
      const sender = async () => {
        while (!stopped() && !failure && acked.size + inFlight < target) {
          const n = requests++
          const size = Math.min(requestSize(n), target - acked.size - inFlight)
          const first = nextIndex
          nextIndex += size
          inFlight += size
          try {
            if (size === 1) {
              const res = await client.post('/v1/messages', message(first))
              assert.equal(res.status, 202, JSON.stringify(res.body))
              acked.add((res.body as { id: string }).id)
            } else {
              const batch = Array.from({ length: size }, (_, k) => message(first + k))
              const res = await client.post('/v1/messages/batch', { messages: batch })
              assert.equal(res.status, 202, JSON.stringify(res.body))
              const body = res.body as { accepted: number; data: { message?: { id: string } }[] }
              assert.equal(body.accepted, size)
              for (const d of body.data) if (d.message) acked.add(d.message.id)
            }
            onAck()
          } catch (err) {
            // A request cut off by the kill is not acknowledged; anything else is a failure.
            if (!stopped()) {
              failure = true
              throw err
            }
            failedRequests++
          } finally {
            inFlight -= size
          }
        }
      }
      try {
        await Promise.all(Array.from({ length: SENDERS }, sender))
      } finally {
        await client.close()
      }
    }

    // Phase 1: submit while the worker dispatches; SIGKILL once KILL_AFTER are acknowledged.
    const first = startChild('switchboard#1')
    await waitReady(first, `http://127.0.0.1:${port}`)
    let killed = false
    await submit(
      `http://127.0.0.1:${port}`,
      TOTAL,
      () => {
        if (!killed && acked.size >= KILL_AFTER) {
          killed = true
          first.proc.kill('SIGKILL')
        }
      },
      () => killed,
    )
    assert.equal(await first.exited, 'SIGKILL')
    const ackedAtKill = acked.size
    // Let the database settle a commit that was on the wire when the process died.
    await new Promise((r) => setTimeout(r, 1000))
    const atKill = await withDb(database.env, async (db) =>
      sql<{ status: string; n: number }>`SELECT status, COUNT(*) AS n FROM messages GROUP BY status`
        .execute(db.kysely)
        .then((r) => Object.fromEntries(r.rows.map((row) => [row.status, Number(row.n)]))),
    )
    const inFlightAtKill = atKill.sending ?? 0
    assert.ok(inFlightAtKill > 0, 'the kill should catch messages in flight')
    // Sends the simulator took before the kill: in-flight ones among them are the re-send risk.
    const simulatorAcceptedAtKill = sim.core.stats().accepted

    // Phase 2: restart on the same database and submit the rest.
    const second = startChild('switchboard#2')
    await waitReady(second, `http://127.0.0.1:${port}`)
    await submit(
      `http://127.0.0.1:${port}`,
      TOTAL,
      () => undefined,
      () => false,
    )
    assert.equal(acked.size, TOTAL)

    // Every stored message reaches a final state (bounded).
    const deadline = Date.now() + 120_000
    for (;;) {
      const pending = await withDb(database.env, (db) =>
        db.kysely
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', 'in', NOT_FINAL)
          .executeTakeFirstOrThrow()
          .then((r) => Number(r.n)),
      )
      if (pending === 0) break
      if (Date.now() > deadline) {
        assert.fail(`${pending} messages still not final after 120 s\n${second.output()}`)
      }
      await new Promise((r) => setTimeout(r, 500))
    }
    const rows = await withDb(database.env, (db) =>
      db.kysely.selectFrom('messages').select(['id', 'status']).execute(),
    )

    const status = new Map(rows.map((r) => [r.id, r.status]))
    const missing = [...acked].filter((id) => !status.has(id))
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged ids not stored`)
    const notDelivered = [...acked].filter((id) => status.get(id) !== 'delivered')
    assert.deepEqual(
      notDelivered.slice(0, 5).map((id) => `${id}: ${status.get(id)}`),
      [],
      `${notDelivered.length} acknowledged messages not delivered`,
    )
    const lost = [...acked].filter((id) => sim.core.acceptedCount(id) === 0)
    assert.deepEqual(lost.slice(0, 5), [], `${lost.length} acknowledged messages never sent`)

    const stats = sim.core.stats()
    assert.ok(stats.uniqueAccepted >= acked.size)
    const figures = {
      db: TEST_DB,
      acknowledged: acked.size,
      acknowledgedAtKill: ackedAtKill,
      requestsCutByKill: failedRequests,
      storedTotal: rows.length,
      statusesAtKill: atKill,
      inFlightAtKill,
      simulatorAcceptedAtKill,
      simulatorAttempts: stats.attempts,
      uniqueAccepted: stats.uniqueAccepted,
      duplicates: stats.duplicates,
      elapsedMs: Date.now() - started,
    }
    console.log(`crash figures: ${JSON.stringify(figures)}`)
    t.diagnostic(`crash figures: ${JSON.stringify(figures)}`)
    assert.ok(
      stats.duplicates <= inFlightAtKill,
      `${stats.duplicates} duplicate sends exceed the ${inFlightAtKill} messages in flight at the kill`,
    )
  },
)

// The built-in simulator holds its pending reports in memory: killed with Switchboard, it must
// still report what it accepted once Switchboard runs again, as the provider it stands for would.
test(
  `SIGKILL while the built-in simulator holds reports leaves no message sent (${TEST_DB})`,
  { timeout: 90_000 },
  async () => {
    const db = await freshDatabase()
    try {
      const key = await createAdminKey(db.env)
      const ownPort = await freePort()
      const url = `http://127.0.0.1:${ownPort}`
      const env = (dlrDelayMs: number) => ({
        ...db.env,
        PORT: String(ownPort),
        HOST: '127.0.0.1',
        PUBLIC_URL: url,
        LOG_LEVEL: 'warn',
        SIMULATOR_DLR_DELAY_MS: String(dlrDelayMs),
      })
      const count = (status: string) =>
        withDb(db.env, (d) =>
          d.kysely
            .selectFrom('messages')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('status', '=', status as 'sent')
            .executeTakeFirstOrThrow()
            .then((r) => Number(r.n)),
        )
      const until = async (what: string, done: () => Promise<boolean>) => {
        const deadline = Date.now() + 30_000
        while (!(await done())) {
          if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
          await new Promise((r) => setTimeout(r, 200))
        }
      }

      // Reports are due in ten minutes: the kill finds every one of them pending.
      const first = spawnSwitchboard('embedded#1', 'all', env(600_000))
      children.push(first)
      await waitReady(first, url)
      const client = apiClient(url, key, 1)
      const res = await client.post('/v1/messages/batch', {
        messages: Array.from({ length: 300 }, (_, i) => message(100_000 + i)),
      })
      await client.close()
      assert.equal(res.status, 202, JSON.stringify(res.body))
      await until('every message sent', async () => (await count('sent')) === 300)
      await first.kill()

      const second = spawnSwitchboard('embedded#2', 'all', env(5))
      children.push(second)
      await waitReady(second, url)
      await until('every message delivered', async () => (await count('delivered')) === 300)
      assert.equal(await count('sent'), 0)
      await second.stop()
    } finally {
      await db.drop()
    }
  },
)

// Risk covered: on PostgreSQL a delivery report and the worker's record of the same send run in
// two transactions at once (the report overtakes the record, or both race); taken in opposite
// orders, their locks deadlock (a worker's whole outcome batch is lost after five tries and its
// messages are sent again), or the report is judged stale and dropped and the message stays
// `sent` for ever. Every interleaving of the two transactions is run, statement by statement.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { loadConfig } from '../../src/config.js'
import { createFanout } from '../../src/domain/webhooks/fanout.js'
import { prepareMessage } from '../../src/domain/messages/prepare.js'
import { openDb } from '../../src/store/db.js'
import { toPgSql, type TxProgram } from '../../src/store/executor.js'
import type { OutcomeWrite } from '../../src/store/outcome-write.js'
import type { StatusReport } from '../../src/store/report.repo.js'
import { packRows } from '../../src/store/rows.js'
import { Store } from '../../src/store/store.js'
import { freshDatabase, TEST_DB } from '../support/harness.js'

const NOW = 1_800_000_000_000
const OWNER = 'wrk_race'
const PROVIDER = 'sim'

const skip =
  TEST_DB === 'postgres'
    ? false
    : 'PostgreSQL only: SQLite runs one write transaction at a time, so these cannot interleave'

/**
 * One transaction program driven statement by statement on its own connection. A step is one
 * statement, or the COMMIT once the program is done; an error (a deadlock) rolls it back.
 */
class Tx<T> {
  steps = 0
  done = false
  busy = false
  error: unknown
  value: T | undefined
  #g: TxProgram<T> | undefined
  #next: IteratorResult<unknown, T> | undefined
  #pid = 0

  private constructor(readonly client: pg.Client) {}

  static async open<T>(url: string, schema: string): Promise<Tx<T>> {
    const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` })
    await client.connect()
    // Deadlocks are found in 50 ms instead of a second: the test waits for each one it meets.
    await client.query("SET deadlock_timeout = '50ms'")
    const tx = new Tx<T>(client)
    tx.#pid = (
      (await client.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number }
    ).pid
    return tx
  }

  async begin(program: TxProgram<T>): Promise<void> {
    Object.assign(this, { steps: 0, done: false, busy: false, error: undefined, value: undefined })
    await this.client.query('BEGIN')
    this.#g = program
    this.#next = program.next()
  }

  /** Runs the next statement (or the COMMIT); resolves when it has finished. */
  async step(): Promise<void> {
    const g = this.#g
    const next = this.#next
    if (this.done || !g || !next) return
    this.busy = true
    this.steps++
    try {
      if (next.done) {
        await this.client.query('COMMIT')
        this.value = next.value
        this.done = true
        return
      }
      const q = next.value as { sql: string; params: unknown[]; mode: 'rows' | 'run' }
      const res = await this.client.query(toPgSql(q.sql), q.params)
      this.#next = g.next(q.mode === 'run' ? (res.rowCount ?? 0) : res.rows)
    } catch (err) {
      this.error = err
      this.done = true
      await this.client.query('ROLLBACK').catch(() => undefined)
    } finally {
      this.busy = false
    }
  }

  /** Whether this connection's statement is waiting for a lock another transaction holds. */
  async waiting(observer: pg.Client): Promise<boolean> {
    const r = await observer.query('SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1', [
      this.#pid,
    ])
    return (r.rows[0] as { wait_event_type: string | null } | undefined)?.wait_event_type === 'Lock'
  }
}

describe('a delivery report racing the record of its send (postgres)', { skip }, () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>
  let store: Store
  let observer: pg.Client
  let outcome: Tx<void>
  let report: Tx<StatusReport[]>
  let seq = 0
  const policy = loadConfig({}).messages

  before(async () => {
    database = await freshDatabase('postgres')
    const db = openDb(loadConfig(database.env).database)
    await db.migrate()
    store = new Store(db, createFanout({ endpoints: [] }))
    const url = database.env.DATABASE_URL as string
    const schema = database.env.DATABASE_SCHEMA as string
    observer = new pg.Client({ connectionString: url })
    await observer.connect()
    outcome = await Tx.open(url, schema)
    report = await Tx.open(url, schema)
  })
  after(async () => {
    await outcome?.client.end()
    await report?.client.end()
    await observer?.end()
    await store?.close()
    await database?.drop()
  })

  /** `n` messages claimed by OWNER (in `sending`), in id order. */
  async function claimedMessages(n: number): Promise<string[]> {
    const messages = Array.from({ length: n }, () => {
      const r = prepareMessage(
        { to: `+1415555${String(1000 + seq++)}`, body: 'race' },
        { apiKeyId: null, now: NOW, policy },
      )
      if (!r.ok) throw new Error('bad fixture')
      return r.message
    })
    await store.tx(() =>
      store.messages.insertSubmissions([{ idempotency: null, rows: packRows(messages) }]),
    )
    const claimed = await store.tx(() => store.messages.claim(OWNER, n, NOW, 60_000))
    assert.equal(claimed.length, n)
    return claimed.map((m) => m.id).sort()
  }

  /** Runs `tx`'s next step; while it waits for a lock, lets `other` run (the lock's holder). */
  async function advance(tx: Tx<unknown>, other: Tx<unknown>): Promise<void> {
    const running = tx.step()
    let finished = false
    void running.then(() => (finished = true))
    for (;;) {
      await Promise.race([running, new Promise((r) => setTimeout(r, 5))])
      if (finished) return
      if (!(await tx.waiting(observer))) continue
      // Both waiting is a deadlock: PostgreSQL ends one of them within deadlock_timeout.
      if (other.done || other.busy) break
      await advance(other, tx)
    }
    await running
  }

  async function runFor(tx: Tx<unknown>, other: Tx<unknown>, steps: number): Promise<void> {
    for (let k = 0; k < steps && !tx.done; k++) await advance(tx, other)
  }

  /**
   * The worker records `ids` sent with provider ids `pids` while the report transaction applies
   * `reports`: `first` runs `i` steps, the other `j`, then `first` finishes, then the other.
   */
  async function race(
    ids: string[],
    pids: string[],
    reports: StatusReport[],
    first: 'outcome' | 'report',
    i: number,
    j: number,
  ): Promise<{ outcomeSteps: number; reportSteps: number; unmatched: StatusReport[] }> {
    const writes: OutcomeWrite[] = ids.map((id, k) => ({
      kind: 'sent',
      id,
      provider: PROVIDER,
      providerMessageIds: [pids[k] as string],
      sender: null,
      attempt: {
        number: 1,
        provider: PROVIDER,
        sender: null,
        startedAt: NOW,
        endedAt: NOW + 5,
        outcome: 'accepted',
        errorCode: null,
        latencyMs: 5,
      },
    }))
    await outcome.begin(store.messages.recordOutcomes(OWNER, writes, NOW + 10))
    await report.begin(store.messages.applyReports(PROVIDER, reports, NOW + 20))
    const [a, b] = (first === 'outcome' ? [outcome, report] : [report, outcome]) as Tx<unknown>[]
    if (!a || !b) throw new Error('unreachable')
    await runFor(a, b, i)
    await runFor(b, a, j)
    await runFor(a, b, Infinity)
    await runFor(b, a, Infinity)
    const where = `${first} ${i}, then ${j}`
    assert.equal(outcome.error, undefined, `${where}: the outcome transaction failed`)
    assert.equal(report.error, undefined, `${where}: the report transaction failed`)
    return {
      outcomeSteps: outcome.steps,
      reportSteps: report.steps,
      unmatched: report.value ?? [],
    }
  }

  /** Each message ends delivered, once, with its id delivered and every step on its timeline. */
  async function assertDelivered(ids: string[], pids: string[], where: string): Promise<void> {
    const k = store.db.kysely
    for (const [n, id] of ids.entries()) {
      const m = await store.getMessage(id)
      assert.equal(m?.status, 'delivered', `${where}: ${id} status`)
      assert.equal(m?.provider, PROVIDER, `${where}: provider`)
      const refs = await k
        .selectFrom('provider_refs')
        .selectAll()
        .where('message_id', '=', id)
        .execute()
      assert.deepEqual(
        refs.map((r) => [r.provider_message_id, r.attempt, r.parts, r.status]),
        [[pids[n], 1, 1, 'delivered']],
        `${where}: provider_refs of ${id}`,
      )
      const events = await store.listEvents(id)
      assert.deepEqual(
        events.map((e) => e.status),
        ['queued', 'sending', 'sent', 'delivered'],
        `${where}: timeline of ${id}`,
      )
    }
  }

  /**
   * Every schedule: each transaction first, after each of its steps the other runs each number
   * of its steps (`deep`; else as far as it can), then the rest. Reports the report's own
   * transaction returned unmatched (it overtook a record it could not see) are applied again,
   * as their parked job would. `before` prepares each run's messages.
   */
  async function everyInterleaving(
    n: number,
    pidOf: (k: number) => string,
    o: {
      withMessageId: boolean
      deep: boolean
      before?: (ids: string[], pids: string[]) => Promise<void>
    },
  ): Promise<number> {
    let schedules = 0
    for (const first of ['outcome', 'report'] as const) {
      let firstSteps = 1
      for (let i = 0; i <= firstSteps; i++) {
        let otherSteps = 1
        for (let j = o.deep ? 0 : Infinity; j <= otherSteps || j === Infinity; j++) {
          const ids = await claimedMessages(n)
          const pids = ids.map((_, k) => `${pidOf(k)}-${seq}`)
          await o.before?.(ids, pids)
          const reports: StatusReport[] = ids.map((id, k) => ({
            type: 'status',
            ...(o.withMessageId ? { messageId: id } : {}),
            providerMessageId: pids[k] as string,
            status: 'delivered',
            at: NOW + 15,
          }))
          const r = await race(ids, pids, reports, first, i, j)
          if (r.unmatched.length > 0) {
            // Unmatched only when the report came before the record could be seen.
            const left = await store.tx(() =>
              store.messages.applyReports(PROVIDER, r.unmatched, NOW + 30),
            )
            assert.deepEqual(left, [], 'a parked report matches once the send is recorded')
          }
          await assertDelivered(ids, pids, `${first} ${i} steps, then the other ${j}`)
          firstSteps = first === 'outcome' ? r.outcomeSteps : r.reportSteps
          otherSteps = first === 'outcome' ? r.reportSteps : r.outcomeSteps
          schedules++
          if (j === Infinity) break
        }
      }
    }
    return schedules
  }

  test('reports naming our message ids: no deadlock and none dropped, in every interleaving', async () => {
    // Two messages whose provider ids sort the other way round: the report batch goes by
    // provider id, the worker's batch by message id.
    const schedules = await everyInterleaving(2, (k) => (k === 0 ? 'Z' : 'A'), {
      withMessageId: true,
      deep: true,
    })
    assert.ok(schedules > 40, `${schedules} schedules`)
  })

  test('a report with only the provider id (as Twilio sends): applied now or parked, never dropped', async () => {
    const schedules = await everyInterleaving(1, () => 'T', { withMessageId: false, deep: true })
    assert.ok(schedules > 20, `${schedules} schedules`)
  })

  test('a send recorded after its lease passed to another worker, with a report in between: no deadlock', async () => {
    // The first message's lease went to another worker and a report already made it delivered;
    // the late record of the send only adds its ids, and a repeated report races it.
    const schedules = await everyInterleaving(2, (k) => (k === 0 ? 'A' : 'Z'), {
      withMessageId: true,
      deep: false,
      before: async ([first], [pid]) => {
        if (first === undefined || pid === undefined) throw new Error('unreachable')
        await store.db.kysely
          .updateTable('messages')
          .set({ lease_owner: 'wrk_other', attempts: 2 })
          .where('id', '=', first)
          .execute()
        const report: StatusReport = {
          type: 'status',
          messageId: first,
          providerMessageId: pid,
          status: 'delivered',
          at: NOW + 15,
        }
        assert.deepEqual(
          await store.tx(() => store.messages.applyReports(PROVIDER, [report], NOW + 12)),
          [],
        )
      },
    })
    assert.ok(schedules > 10, `${schedules} schedules`)
  })
})

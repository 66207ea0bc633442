import type BetterSqlite3 from 'better-sqlite3'
import type { Pool, PoolClient } from 'pg'
import type { WriteLock } from './write-lock.js'

/** One SQL statement with `?` placeholders; `rows` returns result rows, `run` the change count. */
export interface Query {
  readonly sql: string
  readonly params: readonly unknown[]
  readonly mode: 'rows' | 'run'
}

/**
 * A transaction written once for both dialects: a generator that yields queries and receives
 * their results. SQLite runs it synchronously inside one IMMEDIATE transaction (never spanning
 * an await, so nothing else can interleave on the connection); PostgreSQL runs it on a pooled
 * client between BEGIN and COMMIT and re-runs it on deadlock or serialization failure.
 */
export type TxProgram<T> = Generator<Query, T, unknown>

export const rows = (sql: string, params: readonly unknown[] = []): Query => ({
  sql,
  params,
  mode: 'rows',
})
export const run = (sql: string, params: readonly unknown[] = []): Query => ({
  sql,
  params,
  mode: 'run',
})

export interface Executor {
  readonly dialect: 'sqlite' | 'postgres'
  /**
   * Runs `program` in a transaction. `immediate`: the caller has already gathered its batch, so
   * SQLite commits at once, together with whatever else this turn queued, instead of one more
   * turn of the event loop later.
   */
  transaction<T>(program: () => TxProgram<T>, immediate?: boolean): Promise<T>
  /** A single statement outside an explicit transaction. */
  query<R>(q: Query): Promise<R[]>
  close(): Promise<void>
}

interface Pending {
  program: () => TxProgram<unknown>
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

/**
 * SQLite: group commit across callers. Transactions requested in the same turn of the event
 * loop (intake, claims, outcomes, reports) run in ONE `BEGIN IMMEDIATE` transaction, each
 * inside its own savepoint, so a failing program rolls back alone and the others still
 * commit. One commit writes the shared pages once instead of once per caller.
 */
export class SqliteExecutor implements Executor {
  readonly dialect = 'sqlite' as const
  readonly #db: BetterSqlite3.Database
  readonly #cache = new Map<string, BetterSqlite3.Statement>()
  readonly #outer: BetterSqlite3.Transaction<(batch: Pending[]) => unknown[]>
  readonly #nested: BetterSqlite3.Transaction<(program: () => TxProgram<unknown>) => unknown>
  #queue: Pending[] = []
  #scheduled = false

  readonly #lock: WriteLock | undefined

  /** `lock`: shared with the other threads of this process that write to the same file. */
  constructor(db: BetterSqlite3.Database, lock?: WriteLock) {
    this.#db = db
    this.#lock = lock
    this.#nested = db.transaction((program: () => TxProgram<unknown>) => {
      const g = program()
      let step = g.next()
      while (!step.done) step = g.next(this.#exec(step.value))
      return step.value
    })
    this.#outer = db.transaction((batch: Pending[]) =>
      batch.map((p) => {
        try {
          return { ok: true, value: this.#nested(p.program) }
        } catch (err) {
          return { ok: false, err }
        }
      }),
    )
  }

  #stmt(sql: string): BetterSqlite3.Statement {
    let s = this.#cache.get(sql)
    if (!s) {
      s = this.#db.prepare(sql)
      this.#cache.set(sql, s)
    }
    return s
  }

  #exec(q: Query): unknown {
    const stmt = this.#stmt(q.sql)
    if (q.mode === 'run') return stmt.run(...q.params).changes
    return stmt.all(...q.params)
  }

  transaction<T>(program: () => TxProgram<T>, immediate = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ program, resolve: resolve as (v: unknown) => void, reject })
      if (immediate) {
        this.#flush()
      } else if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => {
          this.#scheduled = false
          this.#flush()
        })
      }
    })
  }

  #flush(): void {
    const batch = this.#queue
    if (batch.length === 0) return
    this.#queue = []
    if (!this.#db.open) {
      for (const p of batch) p.reject(new Error('database is closed'))
      return
    }
    let results: unknown[]
    try {
      results = this.#lock
        ? this.#lock.hold(() => this.#outer.immediate(batch))
        : this.#outer.immediate(batch)
    } catch (err) {
      // The commit itself failed (busy, disk full): nothing of the batch was stored.
      for (const p of batch) p.reject(err)
      return
    }
    batch.forEach((p, i) => {
      const r = results[i] as { ok: true; value: unknown } | { ok: false; err: unknown }
      if (r.ok) p.resolve(r.value)
      else p.reject(r.err)
    })
  }

  async query<R>(q: Query): Promise<R[]> {
    const out = this.#exec(q)
    return Array.isArray(out) ? (out as R[]) : []
  }

  async close(): Promise<void> {
    if (this.#queue.length > 0) this.#flush()
    this.#cache.clear()
    if (this.#db.open) this.#db.close()
  }
}

const pgSqlCache = new Map<string, string>()

/** Rewrites `?` placeholders to `$n` (no `?` appears inside our SQL literals). */
export function toPgSql(sql: string): string {
  let out = pgSqlCache.get(sql)
  if (out === undefined) {
    let n = 0
    out = sql.replace(/\?/g, () => `$${++n}`)
    pgSqlCache.set(sql, out)
  }
  return out
}

const RETRYABLE_PG = new Set(['40001', '40P01'])

export class PgExecutor implements Executor {
  readonly dialect = 'postgres' as const
  readonly #pool: Pool

  constructor(pool: Pool) {
    this.#pool = pool
  }

  async transaction<T>(program: () => TxProgram<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#pool.connect()
      try {
        await client.query('BEGIN')
        const value = await this.#drive(client, program())
        await client.query('COMMIT')
        return value
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined)
        const code = (err as { code?: string }).code
        if (attempt < 5 && code !== undefined && RETRYABLE_PG.has(code)) continue
        throw err
      } finally {
        client.release()
      }
    }
  }

  async #drive<T>(client: PoolClient, g: TxProgram<T>): Promise<T> {
    let step = g.next()
    while (!step.done) {
      const q = step.value
      const res = await client.query(toPgSql(q.sql), q.params as unknown[])
      step = g.next(q.mode === 'run' ? (res.rowCount ?? 0) : res.rows)
    }
    return step.value
  }

  async query<R>(q: Query): Promise<R[]> {
    const res = await this.#pool.query(toPgSql(q.sql), q.params as unknown[])
    return res.rows as R[]
  }

  async close(): Promise<void> {
    await this.#pool.end()
  }
}

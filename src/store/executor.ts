import type BetterSqlite3 from 'better-sqlite3'
import type { Pool, PoolClient } from 'pg'

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
  transaction<T>(program: () => TxProgram<T>): Promise<T>
  /** A single statement outside an explicit transaction. */
  query<R>(q: Query): Promise<R[]>
  close(): Promise<void>
}

export class SqliteExecutor implements Executor {
  readonly dialect = 'sqlite' as const
  readonly #db: BetterSqlite3.Database
  readonly #cache = new Map<string, BetterSqlite3.Statement>()

  constructor(db: BetterSqlite3.Database) {
    this.#db = db
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

  async transaction<T>(program: () => TxProgram<T>): Promise<T> {
    const tx = this.#db.transaction(() => {
      const g = program()
      let step = g.next()
      while (!step.done) step = g.next(this.#exec(step.value))
      return step.value
    })
    return tx.immediate()
  }

  async query<R>(q: Query): Promise<R[]> {
    const out = this.#exec(q)
    return Array.isArray(out) ? (out as R[]) : []
  }

  async close(): Promise<void> {
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

/**
 * Diagnostic preload (`node --import`) for `npm run bench -- --profile`: times every SQLite
 * statement the server runs, by SQL text, without touching the server's code. better-sqlite3's
 * statements are one native class, so wrapping its prototype's `run`/`all`/`get` covers them
 * all, BEGIN IMMEDIATE and COMMIT (where the WAL write and checkpoints happen) included.
 *
 * Each SIGUSR2 makes every thread write the figures gathered since the previous one to
 * `${BENCH_SQL_TIMING_FILE}.<n>.json` (n = 1, 2, ...) and starts over, so the benchmark can
 * bracket exactly its measured window.
 */
import { writeFileSync } from 'node:fs'
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads'
import Sqlite from 'better-sqlite3'

interface Stat {
  calls: number
  ns: bigint
  rows: number
  maxNs: bigint
  /** Calls that took 2 ms or more. */
  slow: number
}

export interface SqlTimingSnapshot {
  windowMs: number
  /** `process.memoryUsage()` when the snapshot was taken. */
  memory: NodeJS.MemoryUsage
  statements: {
    sql: string
    calls: number
    ms: number
    rows: number
    maxMs: number
    slow: number
  }[]
  /** Transactions named after their first statement; `statementsMs` excludes BEGIN/COMMIT. */
  transactions: {
    first: string
    calls: number
    ms: number
    statementsMs: number
    commitMs: number
  }[]
}

/** One key for statements that differ only in how many `(?, ?, ...)` rows they insert. */
export function normaliseSql(sql: string): string {
  return sql
    .replace(/\s+/g, ' ')
    .replace(/\(([a-z_]+, ){4,}[a-z_]+\)/g, '(...columns)')
    .replace(/\((?:\?, )+\?\)/g, (m) => `(${m.split('?').length - 1} x ?)`)
    .replace(/(\(\d+ x \?\))(?:, \(\d+ x \?\))+/g, '$1, ... (multi-row)')
}

const file = process.env.BENCH_SQL_TIMING_FILE
if (file) {
  let stats = new Map<string, Stat>()
  let txs = new Map<string, { calls: number; ns: bigint; stmtNs: bigint; commitNs: bigint }>()
  let since = process.hrtime.bigint()
  let snapshot = 0
  // The transaction being run: its first statement (its name) and time spent so far.
  let tx: { first: string | undefined; start: bigint; stmtNs: bigint } | undefined

  const keys = new Map<string, string>()
  const record = (sql: string, ns: bigint, rows: number) => {
    let key = keys.get(sql)
    if (key === undefined) {
      key = normaliseSql(sql)
      keys.set(sql, key)
    }
    const s = stats.get(key) ?? { calls: 0, ns: 0n, rows: 0, maxNs: 0n, slow: 0 }
    s.calls++
    s.ns += ns
    s.rows += rows
    if (ns > s.maxNs) s.maxNs = ns
    if (ns >= 2_000_000n) s.slow++
    stats.set(key, s)
    if (sql.startsWith('BEGIN')) {
      tx = { first: undefined, start: process.hrtime.bigint() - ns, stmtNs: 0n }
    } else if (sql === 'COMMIT' || sql === 'ROLLBACK') {
      if (tx) {
        const name = tx.first ?? '(empty)'
        const t = txs.get(name) ?? { calls: 0, ns: 0n, stmtNs: 0n, commitNs: 0n }
        t.calls++
        t.ns += process.hrtime.bigint() - tx.start
        t.stmtNs += tx.stmtNs
        t.commitNs += ns
        txs.set(name, t)
      }
      tx = undefined
    } else if (tx) {
      tx.first ??= key
      tx.stmtNs += ns
    }
  }

  const probe = new Sqlite(':memory:')
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<
    string,
    (...args: unknown[]) => unknown
  >
  probe.close()
  for (const method of ['run', 'all', 'get'] as const) {
    const original = proto[method]
    if (!original) continue
    proto[method] = function sqliteStatement(this: { source: string }, ...args: unknown[]) {
      const t0 = process.hrtime.bigint()
      const result = original.apply(this, args)
      const ns = process.hrtime.bigint() - t0
      const rows =
        method === 'run'
          ? ((result as { changes?: number }).changes ?? 0)
          : Array.isArray(result)
            ? result.length
            : result === undefined
              ? 0
              : 1
      record(this.source, ns, rows)
      return result
    }
  }

  const ms = (ns: bigint) => Math.round(Number(ns) / 1e4) / 100
  const snap = () => {
    const now = process.hrtime.bigint()
    const out: SqlTimingSnapshot = {
      windowMs: ms(now - since),
      memory: process.memoryUsage(),
      statements: [...stats.entries()]
        .map(([sql, s]) => ({
          sql,
          calls: s.calls,
          ms: ms(s.ns),
          rows: s.rows,
          maxMs: ms(s.maxNs),
          slow: s.slow,
        }))
        .sort((a, b) => b.ms - a.ms),
      transactions: [...txs.entries()]
        .map(([first, t]) => ({
          first,
          calls: t.calls,
          ms: ms(t.ns),
          statementsMs: ms(t.stmtNs),
          commitMs: ms(t.commitNs),
        }))
        .sort((a, b) => b.ms - a.ms),
    }
    const thread = isMainThread ? '' : `.t${threadId}`
    writeFileSync(`${file}${thread}.${++snapshot}.json`, JSON.stringify(out, null, 2))
    stats = new Map()
    txs = new Map()
    since = now
  }
  // Signals reach the main thread only: it passes each on to the other threads (the embedded
  // server's background thread), which write their own files (`<file>.t<threadId>.<n>.json`).
  const channel = new BroadcastChannel('switchboard-sql-timing')
  channel.unref()
  if (isMainThread) {
    process.on('SIGUSR2', () => {
      snap()
      channel.postMessage('snapshot')
    })
  } else {
    channel.onmessage = snap
  }
}

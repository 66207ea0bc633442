/**
 * The `stats` part of the benchmarks (BENCHMARKS.md): a SQLite database with `count` messages
 * over 30 days (providers, countries, statuses, inbound), rolled up as the job worker does,
 * then GET /v1/stats timed over HTTP for each period, granularity and groupBy.
 */
import { performance } from 'node:perf_hooks'
import Sqlite from 'better-sqlite3'
import { loadConfig } from '../src/config.js'
import { createFanout } from '../src/domain/webhooks/fanout.js'
import { openDb } from '../src/store/db.js'
import { MESSAGE_COLUMNS, type MessageRow } from '../src/store/schema.js'
import { Store } from '../src/store/store.js'
import { messageIdAt, rollupStats } from '../src/usecases/stats-rollup.js'

const DAY = 86_400_000
const PROVIDERS = ['simulator', 'twilio-main', 'vonage-eu']
/** Valid numbers of 6 countries (the rollup parses each, as it does in production). */
const NUMBERS = [
  '+16502530000',
  '+14155552671',
  '+12025550123',
  '+447911123456',
  '+447700900123',
  '+33612345678',
  '+33698765432',
  '+4915112345678',
  '+4917612345678',
  '+61412345678',
  '+5511987654321',
]
const CODES = ['carrier_rejected', 'unknown_destination', 'handset_unreachable', 'blocked_spam']

/** A deterministic PRNG, so every run builds the same database. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface BuildFigures {
  messages: number
  insertS: number
  rollupS: number
  rollupRows: number
  pending: number
}

/** Creates `<dbPath>` (migrated), fills it, and rolls it up. */
export async function buildStatsDatabase(
  dbPath: string,
  count: number,
  now: number,
): Promise<BuildFigures> {
  const config = loadConfig({ DATABASE_URL: `sqlite:${dbPath}`, LOG_LEVEL: 'silent' })
  const db = openDb(config.database)
  await db.migrate()
  await db.close()

  // Straight through better-sqlite3, in big transactions, in id (time) order.
  const t0 = performance.now()
  const sqlite = new Sqlite(dbPath)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = OFF')
  const insert = sqlite.prepare(
    `INSERT INTO messages (${MESSAGE_COLUMNS.join(', ')}) VALUES (${MESSAGE_COLUMNS.map(() => '?').join(', ')})`,
  )
  const rand = mulberry32(16)
  const start = now - 30 * DAY
  const step = (30 * DAY - 120_000) / count
  const chunk = sqlite.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const created = Math.floor(start + i * step)
      const r = rand()
      const inbound = r < 0.05
      const status: MessageRow['status'] = inbound
        ? 'received'
        : r < 0.88
          ? 'delivered'
          : r < 0.93
            ? 'failed'
            : r < 0.96
              ? 'undelivered'
              : r < 0.97
                ? 'expired'
                : r < 0.985
                  ? 'rejected'
                  : 'sent'
      const number = NUMBERS[Math.floor(rand() * NUMBERS.length)]!
      const segments = 1 + Math.floor(rand() * rand() * 4)
      const priced = rand() < 0.6
      const row: MessageRow = {
        id: messageIdAt(created) + String(i).padStart(16, '0'),
        api_key_id: null,
        direction: inbound ? 'inbound' : 'outbound',
        to_number: inbound ? '+16505550000' : number,
        from_number: inbound ? number : null,
        body: 'Your order has shipped',
        type: 'transactional',
        encoding: 'GSM-7',
        segments,
        smart_encoding: 0,
        status,
        error_code:
          status === 'failed' || status === 'undelivered'
            ? CODES[Math.floor(rand() * CODES.length)]!
            : null,
        error_message: null,
        provider: PROVIDERS[Math.floor(rand() * PROVIDERS.length)]!,
        provider_message_id: null,
        metadata: null,
        status_callback: null,
        validity_period: 36_000,
        valid_until: created + 36_000_000,
        send_at: null,
        attempts: 1,
        next_attempt_at: null,
        lease_owner: null,
        lease_until: null,
        created_at: created,
        updated_at: created,
        sent_at: inbound ? null : created + 50,
        completed_at:
          status === 'delivered' ? created + Math.floor(300 + 30_000 * rand() ** 3) : null,
        sender: null,
        estimated_cost: inbound || priced ? null : 0.0079 * segments,
        cost_currency: inbound || priced ? null : 'USD',
        price: inbound || !priced ? null : 0.0075 * segments,
        price_currency: inbound || !priced ? null : 'USD',
        template_name: null,
        template_version: null,
        template_locale: null,
      }
      insert.run(...MESSAGE_COLUMNS.map((c) => row[c]))
    }
  })
  for (let i = 0; i < count; i += 50_000) chunk(i, Math.min(count, i + 50_000))
  // Opt-outs and refusals, a few per day.
  const optOut = sqlite.prepare(
    "INSERT INTO consents (phone, action, scope, source, at) VALUES (?, 'opt_out', 'all', 'keyword', ?)",
  )
  const refusal = sqlite.prepare(
    "INSERT INTO consent_refusals (reason, type, at) VALUES ('recipient_opted_out', 'marketing', ?)",
  )
  sqlite.transaction(() => {
    for (let i = 0; i < 3000; i++) {
      const at = Math.floor(start + rand() * 30 * DAY)
      optOut.run(NUMBERS[i % NUMBERS.length]!, at)
      refusal.run(at)
    }
  })()
  sqlite.pragma('wal_checkpoint(TRUNCATE)')
  sqlite.close()
  const insertS = (performance.now() - t0) / 1000

  // The rollup, as the job worker runs it (its batches and transactions).
  const t1 = performance.now()
  const opened = openDb(config.database)
  const store = new Store(opened, createFanout({ endpoints: [] }))
  for (;;) {
    const r = await rollupStats(store, now, { wall: now })
    if (r.rolled === 0) break
  }
  const rollupS = (performance.now() - t1) / 1000
  const one = async (sql: string) =>
    Number((await opened.exec.query<{ n: number }>({ sql, params: [], mode: 'rows' }))[0]?.n ?? 0)
  const rollupRows = await one("SELECT COUNT(*) AS n FROM stats_rollup WHERE span = 'hour'")
  const pending = await one('SELECT COUNT(*) AS n FROM stats_pending')
  await store.close()
  return { messages: count, insertS, rollupS, rollupRows, pending }
}

export interface QueryFigures {
  query: string
  p50Ms: number
  p99Ms: number
  maxMs: number
  bytes: number
}

const pct = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!

/** Times GET /v1/stats `requests` times per query (after 3 warm-up requests), one at a time. */
export async function measureStats(
  url: string,
  apiKey: string,
  now: number,
  requests: number,
): Promise<QueryFigures[]> {
  const iso = (t: number) => new Date(t).toISOString()
  const periods = [
    { name: '30 days by day', from: iso(now - 30 * DAY), granularity: 'day' },
    { name: '7 days by hour', from: iso(now - 7 * DAY), granularity: 'hour' },
  ]
  const out: QueryFigures[] = []
  for (const p of periods) {
    for (const groupBy of [undefined, 'provider', 'country', 'status']) {
      const q = new URLSearchParams({ from: p.from, to: iso(now), granularity: p.granularity })
      if (groupBy) q.set('groupBy', groupBy)
      const times: number[] = []
      let bytes = 0
      for (let i = 0; i < requests + 3; i++) {
        const t = performance.now()
        const res = await fetch(`${url}/v1/stats?${q.toString()}`, {
          headers: { authorization: `Bearer ${apiKey}` },
        })
        const body = await res.text()
        const ms = performance.now() - t
        if (res.status !== 200) throw new Error(`GET /v1/stats: ${res.status} ${body}`)
        bytes = body.length
        if (i >= 3) times.push(ms)
      }
      times.sort((a, b) => a - b)
      const r1 = (n: number) => Math.round(n * 10) / 10
      out.push({
        query: `${p.name}${groupBy ? `, groupBy=${groupBy}` : ''}`,
        p50Ms: r1(pct(times, 0.5)),
        p99Ms: r1(pct(times, 0.99)),
        maxMs: r1(times[times.length - 1]!),
        bytes,
      })
    }
  }
  return out
}

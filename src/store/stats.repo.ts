import { countryOf } from '../domain/routing/router.js'
import { isFinalStatus } from '../domain/messages/status.js'
import { rows, run, type Query, type TxProgram } from './executor.js'

/**
 * The message statistics (GET /v1/stats, docs/stats.md). Settled messages are summed into an
 * rollup (`stats_rollup`, `stats_latency`) by the job worker, walking the messages by
 * id (ids are time-ordered ULIDs) from a watermark; a message behind the watermark that had not
 * settled yet (queued, sending, sent awaiting its report) is listed in `stats_pending` and
 * counted live until it settles, then moved into the rollup. Rows are kept per hour and per
 * UTC day (`span`), so a month by day reads 30 days of rows, not 720 hours. A read adds to the rollup the
 * messages past the watermark and the pending ones, read live in the same transaction, so each
 * message counts exactly once, with its current status.
 */

/** The setting holding the id of the last message rolled up ('' before the first). */
export const STATS_WATERMARK_SETTING = 'stats_watermark'

/** A message whose status can no longer change: what the rollup sums. */
/** A message still `sent` this long after its validity is summed as it is (no report came). */
export const SETTLE_GRACE_MS = 3_600_000

const HOUR = 3_600_000
const DAY = 86_400_000

/**
 * Latency buckets: bucket 0 is under 10 ms, bucket i (1..LATENCY_BUCKETS-1) starts at
 * 10 ms x 10^((i-1)/10), ten per decade (each about 26% wide); the last is open-ended (27.8 h).
 */
export const LATENCY_BUCKETS = 72

export function latencyBucket(ms: number): number {
  if (!(ms >= 10)) return 0
  return Math.min(LATENCY_BUCKETS - 1, Math.floor(10 * Math.log10(ms / 10)) + 1)
}

/** The figure a bucket stands for: its geometric middle (the last bucket: its start). */
export function latencyValue(bucket: number): number {
  if (bucket <= 0) return 5
  if (bucket >= LATENCY_BUCKETS - 1) return Math.round(10 * 10 ** ((bucket - 1) / 10))
  return Math.round(10 * 10 ** ((bucket - 0.5) / 10))
}

/** The columns of a message the statistics read. */
export interface FactRow {
  id: string
  direction: string
  status: string
  provider: string | null
  to_number: string
  from_number: string | null
  error_code: string | null
  segments: number
  created_at: number
  completed_at: number | null
  price: number | null
  price_currency: string | null
  estimated_cost: number | null
  cost_currency: string | null
  valid_until: number
}

const FACT_COLUMNS =
  'm.id, m.direction, m.status, m.provider, m.to_number, m.from_number, m.error_code, m.segments, ' +
  'm.created_at, m.completed_at, m.price, m.price_currency, m.estimated_cost, m.cost_currency, m.valid_until'

/** One message's dimensions and measures, as the rollup keys them ('' = unknown). */
export interface Fact {
  hour: number
  direction: string
  provider: string
  country: string
  status: string
  error_code: string
  currency: string
  segments: number
  cost: number
  /** Delivered: its latency bucket; else null. */
  latency: number | null
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v))

export function toFact(r: FactRow): Fact {
  const created = num(r.created_at)
  const inbound = r.direction === 'inbound'
  const number = inbound ? r.from_number : r.to_number
  let cost = 0
  let currency = ''
  if (r.price !== null && r.price !== undefined) {
    cost = Number(r.price)
    currency = r.price_currency ?? ''
  } else if (r.estimated_cost !== null && r.estimated_cost !== undefined) {
    cost = Number(r.estimated_cost)
    currency = r.cost_currency ?? ''
  }
  const completed = r.completed_at === null ? null : num(r.completed_at)
  return {
    hour: created - (created % HOUR),
    direction: r.direction,
    provider: r.provider ?? '',
    country: (number && countryOf(number)) ?? '',
    status: r.status,
    error_code: r.error_code ?? '',
    currency,
    segments: num(r.segments),
    cost,
    latency:
      r.status === 'delivered' && completed !== null ? latencyBucket(completed - created) : null,
  }
}

/** Whether a message's figures are final: inbound, a final status, or long past its validity. */
export function settled(r: FactRow, now: number): boolean {
  return (
    r.direction === 'inbound' ||
    isFinalStatus(r.status) ||
    num(r.valid_until) + SETTLE_GRACE_MS < now
  )
}

const marks = (n: number, width: number) =>
  Array.from({ length: n }, () => `(${Array.from({ length: width }, () => '?').join(', ')})`).join(
    ', ',
  )
const CHUNK = 300

const SPANS = [
  ['hour', HOUR],
  ['day', DAY],
] as const

/** Adds facts to the rollup tables, per hour and per day (upserts, summed per key). */
function* addFacts(facts: readonly Fact[]): TxProgram<void> {
  type Total = {
    span: string
    start: number
    f: Fact
    messages: number
    segments: number
    cost: number
  }
  type Hist = { span: string; start: number; f: Fact; bucket: number; count: number }
  const totals = new Map<string, Total>()
  const latency = new Map<string, Hist>()
  for (const f of facts) {
    for (const [span, size] of SPANS) {
      const start = f.hour - (f.hour % size)
      const k = [
        span,
        start,
        f.direction,
        f.provider,
        f.country,
        f.status,
        f.error_code,
        f.currency,
      ].join('\u0001')
      const t = totals.get(k)
      if (t) {
        t.messages += 1
        t.segments += f.segments
        t.cost += f.cost
      } else totals.set(k, { span, start, f, messages: 1, segments: f.segments, cost: f.cost })
      if (f.latency !== null) {
        const lk = [span, start, f.provider, f.country, f.latency].join('\u0001')
        const l = latency.get(lk)
        if (l) l.count += 1
        else latency.set(lk, { span, start, f, bucket: f.latency, count: 1 })
      }
    }
  }
  const t = [...totals.values()]
  for (let i = 0; i < t.length; i += CHUNK) {
    const part = t.slice(i, i + CHUNK)
    yield run(
      'INSERT INTO stats_rollup (span, start, direction, provider, country, status, error_code, currency, messages, segments, cost) VALUES ' +
        marks(part.length, 11) +
        ' ON CONFLICT (span, start, direction, provider, country, status, error_code, currency) DO UPDATE SET' +
        ' messages = stats_rollup.messages + excluded.messages, segments = stats_rollup.segments + excluded.segments,' +
        ' cost = stats_rollup.cost + excluded.cost',
      part.flatMap(({ span, start, f, messages, segments, cost }) => [
        span,
        start,
        f.direction,
        f.provider,
        f.country,
        f.status,
        f.error_code,
        f.currency,
        messages,
        segments,
        cost,
      ]),
    )
  }
  const l = [...latency.values()]
  for (let i = 0; i < l.length; i += CHUNK) {
    const part = l.slice(i, i + CHUNK)
    yield run(
      'INSERT INTO stats_latency (span, start, provider, country, bucket, count) VALUES ' +
        marks(part.length, 6) +
        ' ON CONFLICT (span, start, provider, country, bucket) DO UPDATE SET count = stats_latency.count + excluded.count',
      part.flatMap(({ span, start, f, bucket, count }) => [
        span,
        start,
        f.provider,
        f.country,
        bucket,
        count,
      ]),
    )
  }
}

export class StatsRepo {
  constructor(private readonly dialect: 'sqlite' | 'postgres') {}

  /** Reads the watermark; on PostgreSQL locks it, so two workers never roll up the same rows. */
  *#watermark(lock: boolean): TxProgram<string> {
    const found = (yield rows(
      `SELECT value FROM settings WHERE key = ?${lock && this.dialect === 'postgres' ? ' FOR UPDATE' : ''}`,
      [STATS_WATERMARK_SETTING],
    )) as { value: string }[]
    if (found.length > 0) return found[0]!.value
    yield run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING', [
      STATS_WATERMARK_SETTING,
      '',
    ])
    return ''
  }

  /**
   * Rolls up to `limit` messages past the watermark with ids below `beforeId`: settled ones
   * into the rollup, the others into `stats_pending`. Returns how many it walked past.
   */
  *rollupBatch(beforeId: string, now: number, limit: number): TxProgram<number> {
    const mark = yield* this.#watermark(true)
    const found = (yield rows(
      `SELECT ${FACT_COLUMNS} FROM messages m WHERE m.id > ? AND m.id < ? ORDER BY m.id LIMIT ?`,
      [mark, beforeId, limit],
    )) as FactRow[]
    if (found.length === 0) return 0
    const facts: Fact[] = []
    const pending: string[] = []
    for (const r of found) {
      if (settled(r, now)) facts.push(toFact(r))
      else pending.push(r.id)
    }
    yield* addFacts(facts)
    for (let i = 0; i < pending.length; i += 500) {
      const part = pending.slice(i, i + 500)
      yield run(
        `INSERT INTO stats_pending (message_id) VALUES ${marks(part.length, 1)} ON CONFLICT DO NOTHING`,
        part,
      )
    }
    yield run('UPDATE settings SET value = ? WHERE key = ?', [
      found[found.length - 1]!.id,
      STATS_WATERMARK_SETTING,
    ])
    return found.length
  }

  /**
   * Moves pending messages (ids above `afterId`, up to `limit`) that have settled into the
   * rollup, and forgets those deleted since. Returns how many it looked at and where to go on
   * (null: at the end).
   */
  *settleBatch(
    afterId: string,
    now: number,
    limit: number,
  ): TxProgram<{ seen: number; next: string | null }> {
    yield* this.#watermark(true)
    const found = (yield rows(
      `SELECT p.message_id AS pid, ${FACT_COLUMNS} FROM stats_pending p LEFT JOIN messages m ON m.id = p.message_id` +
        ' WHERE p.message_id > ? ORDER BY p.message_id LIMIT ?',
      [afterId, limit],
    )) as (FactRow & { pid: string })[]
    if (found.length === 0) return { seen: 0, next: null }
    const facts: Fact[] = []
    const done: string[] = []
    for (const r of found) {
      if (r.id === null) done.push(r.pid)
      else if (settled(r, now)) {
        facts.push(toFact(r))
        done.push(r.pid)
      }
    }
    yield* addFacts(facts)
    for (let i = 0; i < done.length; i += 500) {
      const part = done.slice(i, i + 500)
      yield run(
        `DELETE FROM stats_pending WHERE message_id IN (${part.map(() => '?').join(', ')})`,
        part,
      )
    }
    return {
      seen: found.length,
      next: found.length < limit ? null : found[found.length - 1]!.pid,
    }
  }

  /**
   * Everything a stats answer needs over [from, to) (whole hours), read in one transaction so
   * that a rollup committing meanwhile cannot count a message twice or not at all.
   */
  *read(q: StatsRead): TxProgram<StatsData> {
    // PostgreSQL: one snapshot for every statement below.
    if (this.dialect === 'postgres') yield run('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')
    const mark = yield* this.#watermark(false)
    const g = q.groupBy ?? null
    // Grouped by position: PostgreSQL would not match two copies of a parameterised expression.
    const gsel = g === null ? '' : `, ${g} AS g`
    const rolled = (yield rows(
      'SELECT start AS b, direction, status, error_code, currency,' +
        ` SUM(messages) AS messages, SUM(segments) AS segments, SUM(cost) AS cost${gsel}` +
        ' FROM stats_rollup WHERE span = ? AND start >= ? AND start < ?' +
        ` GROUP BY 1, 2, 3, 4, 5${g === null ? '' : ', 9'}`,
      [q.size === DAY ? 'day' : 'hour', q.from, q.to],
    )) as Record<string, unknown>[]
    const lg = g === 'provider' || g === 'country' ? g : null
    // Latency is for the whole period: its whole UTC days from the daily rows, the hours
    // before the first and after the last whole day from the hourly ones.
    const dayFrom = Math.ceil(q.from / DAY) * DAY
    const dayTo = Math.max(dayFrom, q.to - (q.to % DAY))
    const latencySql = `SELECT bucket, SUM(count) AS n${lg === null ? '' : `, ${lg} AS g`} FROM stats_latency WHERE span = ? AND start >= ? AND start < ? GROUP BY 1${lg === null ? '' : ', 3'}`
    const latency: Record<string, unknown>[] = []
    const ranges: [string, number, number][] =
      dayTo > dayFrom
        ? [
            ['day', dayFrom, dayTo],
            ['hour', q.from, dayFrom],
            ['hour', dayTo, q.to],
          ]
        : [['hour', q.from, q.to]]
    for (const [span, a, b] of ranges) {
      if (b > a)
        latency.push(...((yield rows(latencySql, [span, a, b])) as Record<string, unknown>[]))
    }
    const live = (yield rows(
      `SELECT ${FACT_COLUMNS} FROM messages m WHERE m.id > ? AND m.created_at >= ? AND m.created_at < ?`,
      [mark, q.from, q.to],
    )) as FactRow[]
    const pending = (yield rows(
      // By primary key, one lookup per pending message (not a scan of the messages).
      `SELECT ${FACT_COLUMNS} FROM messages m WHERE m.id IN (SELECT message_id FROM stats_pending)` +
        ' AND m.created_at >= ? AND m.created_at < ?',
      [q.from, q.to],
    )) as FactRow[]
    const optOuts = (yield rows(
      "SELECT at - (at % ?) AS b, COUNT(*) AS n FROM consents WHERE action = 'opt_out' AND at >= ? AND at < ? GROUP BY 1",
      [q.size, q.from, q.to],
    )) as Record<string, unknown>[]
    const refusals = (table: string): Query =>
      rows(
        `SELECT reason, COUNT(*) AS n FROM ${table} WHERE at >= ? AND at < ? GROUP BY reason ORDER BY reason`,
        [q.from, q.to],
      )
    const consentRefusals = (yield refusals('consent_refusals')) as Record<string, unknown>[]
    const verifyRefusals = (yield refusals('verification_refusals')) as Record<string, unknown>[]

    const str = (v: unknown) =>
      typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : ''
    const cells: Cell[] = rolled.map((r) => ({
      bucket: num(r.b),
      group: str(r.g),
      direction: str(r.direction),
      status: str(r.status),
      error_code: str(r.error_code),
      currency: str(r.currency),
      messages: num(r.messages),
      segments: num(r.segments),
      cost: num(r.cost),
    }))
    const hist: LatencyCell[] = latency.map((r) => ({
      group: str(r.g),
      bucket: num(r.bucket),
      count: num(r.n),
    }))
    for (const r of [...live, ...pending]) {
      const f = toFact(r)
      const group = g === null ? '' : f[g]
      cells.push({
        bucket: f.hour - (f.hour % q.size),
        group,
        direction: f.direction,
        status: f.status,
        error_code: f.error_code,
        currency: f.currency,
        messages: 1,
        segments: f.segments,
        cost: f.cost,
      })
      if (f.latency !== null) {
        hist.push({ group: lg === null ? '' : group, bucket: f.latency, count: 1 })
      }
    }
    const pairs = (list: Record<string, unknown>[]) =>
      list.map((r) => ({ reason: str(r.reason), count: num(r.n) }))
    return {
      watermark: mark,
      cells,
      latency: hist,
      optOuts: optOuts.map((r) => ({ bucket: num(r.b), count: num(r.n) })),
      consentRefusals: pairs(consentRefusals),
      verifyRefusals: pairs(verifyRefusals),
    }
  }
}

export interface StatsRead {
  /** Whole hours (UTC), epoch ms; `size` divides both (an hour or a day). */
  from: number
  to: number
  size: number
  groupBy?: 'provider' | 'country' | 'status' | undefined
}

/** Summed messages of one bucket, group and outcome ('' = unknown / no group). */
export interface Cell {
  bucket: number
  group: string
  direction: string
  status: string
  error_code: string
  currency: string
  messages: number
  segments: number
  cost: number
}

export interface LatencyCell {
  group: string
  bucket: number
  count: number
}

export interface StatsData {
  watermark: string
  cells: Cell[]
  latency: LatencyCell[]
  optOuts: { bucket: number; count: number }[]
  consentRefusals: { reason: string; count: number }[]
  verifyRefusals: { reason: string; count: number }[]
}

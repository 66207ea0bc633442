import { AppError, errors } from '../domain/errors.js'
import { LATENCY_BUCKETS, latencyValue, StatsRepo, type Cell } from '../store/stats.repo.js'
import type { Store } from '../store/store.js'

const HOUR = 3_600_000
const DAY = 86_400_000
/** At most this many time buckets per answer (e.g. 41 days by hour, 2.7 years by day). */
export const MAX_BUCKETS = 1000
/** Periods up to this long default to hourly buckets, longer ones to daily. */
const HOURLY_UP_TO = 2 * DAY

/** Outbound statuses counted as failed: final and not delivered (canceled is no failure). */
const FAILED = new Set(['undelivered', 'failed', 'expired', 'rejected'])

export type Granularity = 'hour' | 'day'
export type GroupBy = 'provider' | 'country' | 'status'

export interface StatsQueryInput {
  from?: string | undefined
  to?: string | undefined
  granularity?: Granularity | undefined
  groupBy?: GroupBy | undefined
}

export interface CostAmount {
  currency: string | null
  amount: number
}

export interface Measures {
  messages: number
  delivered: number
  failed: number
  /** delivered / (delivered + failed); null when neither. */
  deliveryRate: number | null
  segments: number
  cost: CostAmount[]
  inbound: number
}

export interface Point extends Measures {
  start: string
}

export interface Latency {
  /** Delivered messages with a known latency. */
  count: number
  p50: number | null
  p90: number | null
  p99: number | null
}

export interface GroupTotals extends Measures {
  failuresByReason: { errorCode: string | null; count: number }[]
  latency: Latency
}

export interface StatsAnswer {
  from: string
  to: string
  granularity: Granularity
  groupBy: GroupBy | null
  generatedAt: string
  points: (Point & { optOuts: number })[]
  totals: GroupTotals & {
    optOuts: number
    refusals: {
      consent: { reason: string; count: number }[]
      verify: { reason: string; count: number }[]
    }
  }
  groups: { key: string | null; points: Point[]; totals: GroupTotals }[]
}

const invalid = (field: string, reason: string) =>
  new AppError(errors.validation_failed, { field, reason }, `${field}: ${reason}`)

/** The period of a request, widened to whole buckets (UTC hours or days). */
export function statsPeriod(
  q: StatsQueryInput,
  now: number,
): { from: number; to: number; size: number; granularity: Granularity } {
  const to = q.to === undefined ? now : Date.parse(q.to)
  const from = q.from === undefined ? to - 7 * DAY : Date.parse(q.from)
  if (!Number.isFinite(to)) throw invalid('to', 'must be an ISO 8601 date-time')
  if (!Number.isFinite(from)) throw invalid('from', 'must be an ISO 8601 date-time')
  if (from >= to) throw invalid('from', 'must be before to')
  const granularity = q.granularity ?? (to - from <= HOURLY_UP_TO ? 'hour' : 'day')
  const size = granularity === 'hour' ? HOUR : DAY
  const start = from - (((from % size) + size) % size)
  const end = Math.ceil(to / size) * size
  const buckets = (end - start) / size
  if (buckets > MAX_BUCKETS) {
    throw invalid(
      'granularity',
      `the period holds ${buckets} ${granularity}s; at most ${MAX_BUCKETS} buckets (shorten it or use day)`,
    )
  }
  return { from: start, to: end, size, granularity }
}

interface Acc {
  messages: number
  delivered: number
  failed: number
  segments: number
  cost: Map<string, number>
  inbound: number
}

const acc = (): Acc => ({
  messages: 0,
  delivered: 0,
  failed: 0,
  segments: 0,
  cost: new Map(),
  inbound: 0,
})

function add(a: Acc, c: Cell): void {
  if (c.direction === 'inbound') {
    a.inbound += c.messages
    return
  }
  a.messages += c.messages
  a.segments += c.segments
  if (c.status === 'delivered') a.delivered += c.messages
  else if (FAILED.has(c.status)) a.failed += c.messages
  if (c.currency !== '' || c.cost !== 0) {
    a.cost.set(c.currency, (a.cost.get(c.currency) ?? 0) + c.cost)
  }
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits

function measures(a: Acc): Measures {
  const outcome = a.delivered + a.failed
  return {
    messages: a.messages,
    delivered: a.delivered,
    failed: a.failed,
    deliveryRate: outcome === 0 ? null : round(a.delivered / outcome, 4),
    segments: a.segments,
    cost: [...a.cost.entries()]
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([currency, amount]) => ({ currency: currency || null, amount: round(amount, 6) })),
    inbound: a.inbound,
  }
}

/** Percentiles from a summed latency histogram. */
export function percentiles(hist: readonly number[]): Latency {
  const count = hist.reduce((s, n) => s + n, 0)
  const at = (p: number): number | null => {
    if (count === 0) return null
    const rank = Math.max(1, Math.ceil(p * count))
    let seen = 0
    for (let i = 0; i < hist.length; i++) {
      seen += hist[i] ?? 0
      if (seen >= rank) return latencyValue(i)
    }
    return latencyValue(hist.length - 1)
  }
  return { count, p50: at(0.5), p90: at(0.9), p99: at(0.99) }
}

/** GET /v1/stats: the rollup plus the live tail, shaped per bucket, group and in total. */
export async function messageStats(
  store: Store,
  q: StatsQueryInput,
  now: number,
): Promise<StatsAnswer> {
  const p = statsPeriod(q, now)
  const repo = new StatsRepo(store.dialect)
  const data = await store.tx(() =>
    repo.read({ from: p.from, to: p.to, size: p.size, groupBy: q.groupBy }),
  )
  const n = (p.to - p.from) / p.size
  const index = (bucket: number) => (bucket - p.from) / p.size
  const series = () => Array.from({ length: n }, acc)

  const all = series()
  const total = acc()
  const reasons = new Map<string, number>()
  const groups = new Map<
    string,
    { points: Acc[]; total: Acc; reasons: Map<string, number>; hist: number[] }
  >()
  const groupOf = (key: string) => {
    let g = groups.get(key)
    if (!g) {
      g = {
        points: series(),
        total: acc(),
        reasons: new Map(),
        hist: new Array<number>(LATENCY_BUCKETS).fill(0),
      }
      groups.set(key, g)
    }
    return g
  }
  for (const c of data.cells) {
    const i = index(c.bucket)
    if (i < 0 || i >= n) continue
    add(all[i]!, c)
    add(total, c)
    const failed = c.direction === 'outbound' && FAILED.has(c.status)
    if (failed) reasons.set(c.error_code, (reasons.get(c.error_code) ?? 0) + c.messages)
    if (q.groupBy) {
      const g = groupOf(c.group)
      add(g.points[i]!, c)
      add(g.total, c)
      if (failed) g.reasons.set(c.error_code, (g.reasons.get(c.error_code) ?? 0) + c.messages)
    }
  }
  const hist = new Array<number>(LATENCY_BUCKETS).fill(0)
  for (const l of data.latency) {
    hist[l.bucket] = (hist[l.bucket] ?? 0) + l.count
    if (q.groupBy === 'provider' || q.groupBy === 'country') {
      const g = groupOf(l.group)
      g.hist[l.bucket] = (g.hist[l.bucket] ?? 0) + l.count
    }
  }
  // Grouped by status, the latency belongs to the delivered group.
  if (q.groupBy === 'status' && groups.has('delivered')) groupOf('delivered').hist = hist
  const optOuts = new Array<number>(n).fill(0)
  for (const o of data.optOuts) {
    const i = index(o.bucket)
    if (i >= 0 && i < n) optOuts[i] = (optOuts[i] ?? 0) + o.count
  }
  const byReason = (m: Map<string, number>) =>
    [...m.entries()]
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .map(([code, count]) => ({ errorCode: code || null, count }))
  const start = (i: number) => new Date(p.from + i * p.size).toISOString()

  return {
    from: new Date(p.from).toISOString(),
    to: new Date(p.to).toISOString(),
    granularity: p.granularity,
    groupBy: q.groupBy ?? null,
    generatedAt: new Date(now).toISOString(),
    points: all.map((a, i) => ({ start: start(i), ...measures(a), optOuts: optOuts[i] ?? 0 })),
    totals: {
      ...measures(total),
      optOuts: optOuts.reduce((s, x) => s + x, 0),
      failuresByReason: byReason(reasons),
      latency: percentiles(hist),
      refusals: { consent: data.consentRefusals, verify: data.verifyRefusals },
    },
    groups: [...groups.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, g]) => ({
        key: key || null,
        points: g.points.map((a, i) => ({ start: start(i), ...measures(a) })),
        totals: {
          ...measures(g.total),
          failuresByReason: byReason(g.reasons),
          latency: percentiles(g.hist),
        },
      })),
  }
}

// Risk covered: GET /v1/stats disagreeing with the messages themselves (before, during and after
// the rollup, and when a message rolled up as pending settles later), periods and buckets off
// by one, groupBy splitting wrongly, a request for too many buckets scanning anyway, or the
// route readable without `messages:read`.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { countryOf } from '../../src/domain/routing/router.js'
import { run } from '../../src/store/executor.js'
import { MESSAGE_COLUMNS, type MessageRow } from '../../src/store/schema.js'
import { latencyBucket, latencyValue } from '../../src/store/stats.repo.js'
import { messageIdAt, rollupStats } from '../../src/usecases/stats-rollup.js'
import type { StatsAnswer } from '../../src/usecases/stats.js'
import { mulberry32 } from '../support/prng.js'
import { startTestSwitchboard, TEST_DB, type TestSwitchboard } from '../support/harness.js'

const HOUR = 3_600_000
const DAY = 86_400_000
const NUMBERS = ['+16502530000', '+447911123456', '+33612345678', '+4915112345678', '12345']
const PROVIDERS = ['sim-a', 'sim-b', null]
const STATUSES = ['delivered', 'delivered', 'delivered', 'failed', 'undelivered', 'sent', 'queued']
const FAILED = new Set(['undelivered', 'failed', 'expired', 'rejected'])
const CODES = ['carrier_rejected', 'unknown_destination', null]

describe(`GET /v1/stats (${TEST_DB})`, () => {
  let t: TestSwitchboard
  const now = Date.now()
  let seq = 0

  before(async () => {
    // The server's own job worker rolls up too (every 10 s): the figures must agree whenever.
    t = await startTestSwitchboard({ WORKER_THREAD: 'false' })
  })
  after(() => t.close())

  const stats = async (query: Record<string, string>, key?: string) => {
    const res = await t.inject({ method: 'GET', url: '/v1/stats', query, headers: t.auth(key) })
    assert.equal(res.statusCode, 200, res.body)
    return res.json<StatsAnswer>()
  }

  /**
   * Stores messages as the store would, at chosen times, with ids of those times, in one
   * transaction (the server's own rollup may run meanwhile: it must see all of them or none).
   */
  const insert = async (list: Partial<MessageRow>[]) => {
    const rows: MessageRow[] = []
    for (const m of list) {
      const created = m.created_at ?? now
      const row: MessageRow = {
        id: messageIdAt(created) + String(seq++).padStart(16, '0'),
        api_key_id: null,
        direction: 'outbound',
        to_number: '+16502530000',
        from_number: null,
        body: 'hello',
        type: 'transactional',
        encoding: 'GSM-7',
        segments: 1,
        smart_encoding: 0,
        status: 'queued',
        error_code: null,
        error_message: null,
        provider: null,
        provider_message_id: null,
        metadata: null,
        status_callback: null,
        validity_period: 36_000,
        valid_until: created + 36_000_000,
        send_at: null,
        attempts: 0,
        next_attempt_at: null,
        lease_owner: null,
        lease_until: null,
        created_at: created,
        updated_at: created,
        sent_at: null,
        completed_at: null,
        sender: null,
        estimated_cost: null,
        cost_currency: null,
        price: null,
        price_currency: null,
        template_name: null,
        template_version: null,
        template_locale: null,
        ...m,
      }
      rows.push(row)
    }
    const sql = `INSERT INTO messages (${MESSAGE_COLUMNS.join(', ')}) VALUES (${MESSAGE_COLUMNS.map(() => '?').join(', ')})`
    await t.sb.store.tx(function* () {
      for (const row of rows)
        yield run(
          sql,
          MESSAGE_COLUMNS.map((c) => row[c]),
        )
    })
  }

  const all = async () =>
    t.sb.store.db.exec.query<MessageRow>({
      sql: 'SELECT * FROM messages',
      params: [],
      mode: 'rows',
    })

  /** The expected figures, counted straight from the messages. */
  const direct = async (
    from: number,
    to: number,
    size: number,
    group?: keyof MessageRow | 'country',
  ) => {
    const out = new Map<
      string,
      {
        messages: number
        delivered: number
        failed: number
        segments: number
        cost: number
        inbound: number
      }
    >()
    for (const m of await all()) {
      const created = Number(m.created_at)
      if (created < from || created >= to) continue
      const inbound = m.direction === 'inbound'
      const g =
        group === undefined
          ? ''
          : group === 'country'
            ? (countryOf((inbound ? m.from_number : m.to_number) ?? '') ?? '')
            : String(m[group] ?? '')
      const k = `${created - (created % size)}|${g}`
      const e = out.get(k) ?? {
        messages: 0,
        delivered: 0,
        failed: 0,
        segments: 0,
        cost: 0,
        inbound: 0,
      }
      out.set(k, e)
      if (inbound) {
        e.inbound++
        continue
      }
      e.messages++
      e.segments += Number(m.segments)
      if (m.status === 'delivered') e.delivered++
      if (FAILED.has(m.status)) e.failed++
      e.cost += Number(m.price ?? m.estimated_cost ?? 0)
    }
    return out
  }

  const compare = async (q: Record<string, string>, group?: 'provider' | 'country' | 'status') => {
    const s = await stats(group ? { ...q, groupBy: group } : q)
    const size = s.granularity === 'hour' ? HOUR : DAY
    const expected = await direct(Date.parse(s.from), Date.parse(s.to), size, group)
    const seen = new Set<string>()
    const lists = group
      ? s.groups.map((g) => ({ key: g.key ?? '', points: g.points }))
      : [{ key: '', points: s.points }]
    for (const { key, points } of lists) {
      for (const p of points) {
        const k = `${Date.parse(p.start)}|${key}`
        const e = expected.get(k) ?? {
          messages: 0,
          delivered: 0,
          failed: 0,
          segments: 0,
          cost: 0,
          inbound: 0,
        }
        if (expected.has(k)) seen.add(k)
        const cost = p.cost.reduce((sum, c) => sum + c.amount, 0)
        assert.deepEqual(
          {
            messages: p.messages,
            delivered: p.delivered,
            failed: p.failed,
            segments: p.segments,
            cost: Math.round(cost * 1e4),
            inbound: p.inbound,
          },
          { ...e, cost: Math.round(e.cost * 1e4) },
          `${group ?? 'all'} ${key} at ${p.start}`,
        )
      }
    }
    assert.equal(seen.size, expected.size, 'every bucket with messages is answered')
    return s
  }

  test('figures match a direct count: live, rolled up, and after late status changes', async () => {
    const rand = mulberry32(11)
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!
    const list: Partial<MessageRow>[] = []
    for (let i = 0; i < 400; i++) {
      const created = now - Math.floor(rand() * 6 * DAY) - 60_000
      const status = pick(STATUSES) as MessageRow['status']
      const delivered = status === 'delivered'
      const inbound = rand() < 0.1
      list.push(
        inbound
          ? {
              direction: 'inbound',
              status: 'received',
              to_number: '+16502530001',
              from_number: pick(NUMBERS),
              provider: 'sim-a',
              created_at: created,
            }
          : {
              to_number: pick(NUMBERS),
              provider: pick(PROVIDERS),
              status,
              error_code: FAILED.has(status) ? pick(CODES) : null,
              segments: 1 + Math.floor(rand() * 3),
              created_at: created,
              // Still within its validity: a report may yet come (past it, it would be summed
              // as it stands, see docs/stats.md).
              valid_until: now + DAY,
              completed_at: delivered ? created + Math.floor(50 + rand() * 20_000) : null,
              ...(rand() < 0.5
                ? { price: 0.0075, price_currency: 'USD' }
                : { estimated_cost: 0.01, cost_currency: 'USD' }),
            },
      )
    }
    await insert(list)
    const week = { from: new Date(now - 7 * DAY).toISOString(), to: new Date(now).toISOString() }

    // Nothing rolled up (or whatever the server's worker did): the same figures.
    const live = await compare(week)
    assert.equal(live.granularity, 'day')
    assert.equal(live.points.length, 8, 'whole UTC days, the first and last partial')

    // Rolled up in small batches: settled messages in the rollup, the rest pending.
    await rollupStats(t.sb.store, now, { lagMs: 0, batch: 37 })
    const rolled = await compare(week)
    assert.deepEqual(rolled.totals, live.totals)
    const pending = await t.sb.store.db.exec.query<{ n: number }>({
      sql: 'SELECT COUNT(*) AS n FROM stats_pending',
      params: [],
      mode: 'rows',
    })
    assert.ok(Number(pending[0]!.n) > 0, 'the sent and queued messages wait as pending')

    // Statuses change after the rollup: the pending ones are read live, then settle.
    await t.sb.store.db.exec.query({
      sql: "UPDATE messages SET status = 'delivered', completed_at = created_at + 1000 WHERE status = 'sent'",
      params: [],
      mode: 'run',
    })
    await t.sb.store.db.exec.query({
      sql: "UPDATE messages SET status = 'failed', error_code = 'expired_in_queue' WHERE status = 'queued'",
      params: [],
      mode: 'run',
    })
    const changed = await compare(week)
    assert.ok(changed.totals.delivered > live.totals.delivered)
    await rollupStats(t.sb.store, now, { lagMs: 0 })
    const settled = await compare(week)
    assert.deepEqual(settled.totals, changed.totals)
    const left = await t.sb.store.db.exec.query<{ n: number }>({
      sql: 'SELECT COUNT(*) AS n FROM stats_pending',
      params: [],
      mode: 'rows',
    })
    assert.equal(Number(left[0]!.n), 0, 'every pending message settled into the rollup')
    // Rolling up again changes nothing.
    await rollupStats(t.sb.store, now, { lagMs: 0 })
    assert.deepEqual((await stats(week)).totals, settled.totals)

    // New messages past the watermark count live at once.
    await insert([{ status: 'delivered', created_at: now - 1000, completed_at: now - 500 }])
    const fresh = await compare(week)
    assert.equal(fresh.totals.messages, settled.totals.messages + 1)

    // Grouped, every group matches too.
    for (const g of ['provider', 'country', 'status'] as const) {
      const s = await compare(week, g)
      assert.equal(s.groupBy, g)
      const sum = s.groups.reduce((n, x) => n + x.totals.messages, 0)
      assert.equal(sum, s.totals.messages, `${g}: the groups add up`)
    }
    const byCountry = await stats({ ...week, groupBy: 'country' })
    assert.deepEqual(
      byCountry.groups.map((g) => g.key),
      ['DE', 'FR', 'GG', 'US', null]
        .filter((k) => byCountry.groups.some((g) => g.key === k))
        .sort((a, b) => (a ?? '~').localeCompare(b ?? '~')),
    )

    // Failures by reason and latency percentiles against the messages.
    const rows = (await all()).filter(
      (m) => Number(m.created_at) >= Date.parse(fresh.from) && m.direction === 'outbound',
    )
    const reasons = new Map<string | null, number>()
    for (const m of rows) {
      if (FAILED.has(m.status)) reasons.set(m.error_code, (reasons.get(m.error_code) ?? 0) + 1)
    }
    const final = await stats(week)
    assert.deepEqual(
      new Map(final.totals.failuresByReason.map((r) => [r.errorCode, r.count])),
      reasons,
    )
    const lat = rows
      .filter((m) => m.status === 'delivered')
      .map((m) => Number(m.completed_at) - Number(m.created_at))
      .sort((a, b) => a - b)
    assert.equal(final.totals.latency.count, lat.length)
    for (const [p, key] of [
      [0.5, 'p50'],
      [0.9, 'p90'],
      [0.99, 'p99'],
    ] as const) {
      const exact = lat[Math.ceil(p * lat.length) - 1]!
      assert.equal(final.totals.latency[key], latencyValue(latencyBucket(exact)), key)
      assert.ok(
        Math.abs((final.totals.latency[key] ?? 0) - exact) / exact < 0.15,
        `${key} within 15%`,
      )
    }
  })

  test('hourly buckets, opt-outs and refusals over a day', async () => {
    const at = now - 2 * HOUR
    await t.sb.store.db.exec.query({
      sql: "INSERT INTO consents (phone, action, scope, source, at) VALUES ('+16502530000', 'opt_out', 'all', 'keyword', ?), ('+16502530000', 'opt_in', 'all', 'api', ?)",
      params: [at, at + 1],
      mode: 'run',
    })
    await t.sb.store.db.exec.query({
      sql: "INSERT INTO consent_refusals (reason, type, at) VALUES ('recipient_opted_out', 'marketing', ?)",
      params: [at],
      mode: 'run',
    })
    const s = await compare({
      from: new Date(now - DAY).toISOString(),
      to: new Date(now).toISOString(),
    })
    assert.equal(s.granularity, 'hour')
    assert.ok(s.points.length === 24 || s.points.length === 25)
    assert.equal(s.totals.optOuts, 1)
    const bucket = s.points.find((p) => p.optOuts > 0)!
    assert.equal(Date.parse(bucket.start), at - (at % HOUR))
    assert.deepEqual(s.totals.refusals.consent, [{ reason: 'recipient_opted_out', count: 1 }])
    // By day, the same period.
    const daily = await compare({
      from: new Date(now - DAY).toISOString(),
      to: new Date(now).toISOString(),
      granularity: 'day',
    })
    assert.ok(daily.totals.messages >= s.totals.messages, 'whole days hold the hours')
    // Defaults: the last 7 days, by day.
    const d = await stats({})
    assert.equal(d.granularity, 'day')
    assert.ok(Date.parse(d.to) - Date.parse(d.from) >= 7 * DAY)
  })

  test('validation errors and scope', async () => {
    const bad = async (query: Record<string, string>, field: string) => {
      const res = await t.inject({ method: 'GET', url: '/v1/stats', query, headers: t.auth() })
      assert.equal(res.statusCode, 422, res.body)
      const body = res.json<{ error: { code: string; details?: { field?: string } } }>()
      assert.equal(body.error.code, 'validation_failed')
      if (field) assert.equal(body.error.details?.field, field, res.body)
    }
    await bad({ from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'from')
    await bad(
      { from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z', granularity: 'hour' },
      'granularity',
    )
    await bad({ from: '2020-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'granularity')
    await bad({ groupBy: 'sender' }, '')
    await bad({ granularity: 'week' }, '')
    await bad({ from: 'yesterday' }, '')

    const denied = await t.inject({
      method: 'GET',
      url: '/v1/stats',
      headers: t.auth(t.keys.write),
    })
    assert.equal(denied.statusCode, 403)
    assert.equal(denied.json<{ error: { code: string } }>().error.code, 'insufficient_scope')
    const anonymous = await t.inject({ method: 'GET', url: '/v1/stats' })
    assert.equal(anonymous.statusCode, 401)
    assert.equal((await stats({}, t.keys.read)).groupBy, null)
  })
})

// Risk: SMS pumping through the Verify API. The abuse guard must refuse the send that goes over
// a limit per number, client IP or number range (with the exact Retry-After), refuse countries
// off the allow list and destinations under a block, and block a range that gets a burst of
// sends nobody approves, for the cool-down and no longer; approvals must keep a busy range
// open. The guard runs in the transaction that records the send (as the Verify flow runs it),
// driven here with a clock the test moves and rows inserted as the Verify flow would.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  DEFAULT_VERIFY_ABUSE,
  prefixOf,
  type VerifyAbuseSettings,
} from '../../src/domain/verify/abuse.js'
import type { GuardRequest, GuardVerdict, VerifyGuard } from '../../src/domain/verify/guard.js'
import { run } from '../../src/store/executor.js'
import type { Store } from '../../src/store/store.js'
import { createVerifyGuard } from '../../src/store/verify-guard.js'
import {
  openTestStore,
  startTestSwitchboard,
  TEST_DB,
  type TestSwitchboard,
} from '../support/harness.js'

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0)
const SEC = 1000
const MIN = 60 * SEC
const HOUR = 60 * MIN

let store: Store
let closeStore: () => Promise<void>
let seq = 0

before(async () => {
  ;({ store, close: closeStore } = await openTestStore())
})
after(() => closeStore())

function settings(over: Partial<VerifyAbuseSettings['limits']> = {}, rest = {}) {
  return {
    ...DEFAULT_VERIFY_ABUSE,
    ...rest,
    limits: { ...DEFAULT_VERIFY_ABUSE.limits, ...over },
  } satisfies VerifyAbuseSettings
}

/** A number of its own range for each call (a fresh prefix), or one inside `prefix`. */
function number(prefix?: string): string {
  seq++
  return prefix
    ? `${prefix}${String(seq % 10_000).padStart(4, '0')}`
    : `+1${2020000000 + seq * 10_000}`
}

const req = (
  to: string,
  now: number,
  clientIp: string | null = null,
  country: string | null = 'US',
): GuardRequest => ({
  to,
  country,
  prefix: prefixOf(to),
  clientIp,
  now,
})

/** What the Verify flow does: admit, and on admission record the verification and its send. */
async function request(
  guard: VerifyGuard,
  r: GuardRequest,
): Promise<GuardVerdict & { id?: string }> {
  const id = `ver_${++seq}`
  return store.tx(function* () {
    const verdict = yield* guard.admit(r)
    if (!verdict.ok) return verdict
    yield run(
      `INSERT INTO verifications (id, to_number, country, status, code_hmac, code_length, created_at, expires_at, updated_at) VALUES (?, ?, ?, 'pending', 'x', 6, ?, ?, ?)`,
      [id, r.to, r.country, r.now, r.now + 10 * MIN, r.now],
    )
    yield run(
      'INSERT INTO verification_sends (verification_id, to_number, prefix, country, client_ip, at) VALUES (?, ?, ?, ?, ?, ?)',
      [id, r.to, r.prefix, r.country, r.clientIp, r.now],
    )
    return { ...verdict, id }
  })
}

/** Asks the guard without sending (a probe that changes no count). */
const admit = (guard: VerifyGuard, r: GuardRequest) => store.tx(() => guard.admit(r))

async function approve(guard: VerifyGuard, id: string, now: number): Promise<void> {
  await store.tx(function* () {
    yield run(`UPDATE verifications SET status = 'approved', approved_at = ? WHERE id = ?`, [
      now,
      id,
    ])
    yield* guard.approved({ verificationId: id, now })
  })
}

async function block(kind: string, value: string, until: number, reason = 'manual'): Promise<void> {
  await store.db.kysely
    .insertInto('verification_blocks')
    .values({ kind, value, reason, details: null, created_at: T0 - HOUR, until })
    .execute()
}

const blocksOf = (value: string) =>
  store.db.kysely.selectFrom('verification_blocks').selectAll().where('value', '=', value).execute()

const rateLimited = (limit: string, retryAfterSeconds: number, sends: number) => ({
  ok: false,
  code: 'verification_rate_limited',
  status: 429,
  retryAfterSeconds,
  details: { limit, sends, windowSeconds: 600 },
})

describe(`Verify abuse guard (${TEST_DB})`, () => {
  test('per number: the 6th send in 10 minutes is refused until the oldest leaves the window', async () => {
    const guard = createVerifyGuard(settings(), store)
    const to = number()
    for (let i = 0; i < 5; i++) {
      assert.equal((await request(guard, req(to, T0 + i * MIN))).ok, true, `send ${i + 1}`)
    }
    assert.deepEqual(await request(guard, req(to, T0 + 5 * MIN)), rateLimited('number', 300, 5))
    // One millisecond before the first send leaves the window: still refused, for 1 second.
    const last = await request(guard, req(to, T0 + 10 * MIN - 1))
    assert.deepEqual(last, rateLimited('number', 1, 5))
    // Then exactly one more (the second send still counts until T0 + 11 min).
    assert.equal((await request(guard, req(to, T0 + 10 * MIN))).ok, true)
    assert.deepEqual(await request(guard, req(to, T0 + 10 * MIN + 1)), rateLimited('number', 60, 5))
    // Another number is not affected.
    assert.equal((await request(guard, req(number(), T0 + 10 * MIN))).ok, true)
  })

  test('per client IP: the 11th send from one IP is refused; other IPs and no IP are not', async () => {
    const guard = createVerifyGuard(settings(), store)
    const ip = `198.51.100.${seq % 250}`
    for (let i = 0; i < 10; i++) {
      assert.equal(
        (await request(guard, req(number(), T0 + i * SEC, ip))).ok,
        true,
        `send ${i + 1}`,
      )
    }
    assert.deepEqual(
      await request(guard, req(number(), T0 + 20 * SEC, ip)),
      rateLimited('ip', 580, 10),
    )
    assert.equal((await request(guard, req(number(), T0 + 20 * SEC, '203.0.113.1'))).ok, true)
    assert.equal((await request(guard, req(number(), T0 + 20 * SEC, null))).ok, true)
    assert.equal((await request(guard, req(number(), T0 + 10 * MIN, ip))).ok, true)
    // Switched off: no limit per IP.
    const off = createVerifyGuard(settings({ ip: null }), store)
    assert.equal((await request(off, req(number(), T0 + 10 * MIN, ip))).ok, true)
    assert.equal((await request(guard, req(number(), T0 + 10 * MIN, ip))).ok, false)
  })

  test('per prefix: the 21st send to one range in 10 minutes is refused (all approved: no block)', async () => {
    const guard = createVerifyGuard(settings(), store)
    const prefix = '+1303555'
    for (let i = 0; i < 20; i++) {
      const now = T0 + i * 20 * SEC
      const r = await request(guard, req(number(prefix), now))
      assert.equal(r.ok, true, `send ${i + 1}`)
      await approve(guard, r.id as string, now + 30 * SEC)
    }
    assert.deepEqual(
      await request(guard, req(number(prefix), T0 + 7 * MIN)),
      rateLimited('prefix', 180, 20),
    )
    assert.equal((await request(guard, req(number(prefix), T0 + 10 * MIN))).ok, true)
    assert.deepEqual(await blocksOf(prefix), [])
  })

  test('of several limits over, the answer waits for the last of them', async () => {
    const guard = createVerifyGuard(settings({ ip: { sends: 2, windowSeconds: 600 } }), store)
    const ip = '192.0.2.77'
    const to = number()
    await request(guard, req(number(), T0, ip))
    for (let i = 0; i < 5; i++) await request(guard, req(to, T0 + MIN + i * SEC, null))
    await request(guard, req(number(), T0 + 2 * MIN, ip))
    // number: oldest at T0+1min leaves at T0+11min; ip: 2nd newest (T0) leaves at T0+10min.
    assert.deepEqual(await request(guard, req(to, T0 + 3 * MIN, ip)), rateLimited('number', 480, 5))
  })

  test('country allow list: 403 for other countries and numbers of no country', async () => {
    const guard = createVerifyGuard(settings({}), store)
    const only = createVerifyGuard({ ...settings(), countries: ['US', 'CA'] }, store)
    assert.equal((await request(guard, req('+447700900123', T0, null, 'GB'))).ok, true)
    assert.deepEqual(await request(only, req('+447700900124', T0, null, 'GB')), {
      ok: false,
      code: 'verification_country_not_allowed',
      status: 403,
      details: { country: 'GB' },
    })
    const nonGeo = await request(only, req('+88213001234', T0, null, null))
    assert.equal(!nonGeo.ok && nonGeo.code, 'verification_country_not_allowed')
    assert.equal((await request(only, req(number(), T0, null, 'CA'))).ok, true)
  })

  test('blocks on a number, a range of any length, an IP or a country refuse until they end', async () => {
    const guard = createVerifyGuard(settings(), store)
    const blocked = (kind: string, until: number) => ({
      ok: false,
      code: 'verification_blocked',
      status: 403,
      retryAfterSeconds: Math.ceil((until - T0) / SEC),
      details: { kind, reason: 'manual', until: new Date(until).toISOString() },
    })
    await block('number', '+61491570001', T0 + HOUR)
    assert.deepEqual(
      await admit(guard, req('+61491570001', T0, null, 'AU')),
      blocked('number', T0 + HOUR),
    )
    assert.equal((await admit(guard, req('+61491570002', T0, null, 'AU'))).ok, true)

    await block('prefix', '+6149158', T0 + 2 * HOUR)
    assert.deepEqual(
      await admit(guard, req('+61491589999', T0, null, 'AU')),
      blocked('prefix', T0 + 2 * HOUR),
    )
    assert.equal((await admit(guard, req('+61491599999', T0, null, 'AU'))).ok, true)

    await block('ip', '203.0.113.66', T0 + 30 * MIN)
    assert.deepEqual(
      await admit(guard, req(number(), T0, '203.0.113.66')),
      blocked('ip', T0 + 30 * MIN),
    )
    assert.equal((await admit(guard, req(number(), T0, '203.0.113.67'))).ok, true)

    await block('country', 'NZ', T0 + 3 * HOUR)
    assert.deepEqual(
      await admit(guard, req('+6421000000', T0, null, 'NZ')),
      blocked('country', T0 + 3 * HOUR),
    )

    // Ended blocks, and blocks ending exactly now, refuse nothing.
    await block('number', '+61491570003', T0)
    assert.equal((await admit(guard, req('+61491570003', T0, null, 'AU'))).ok, true)
    assert.equal((await admit(guard, req('+61491570001', T0 + HOUR, null, 'AU'))).ok, true)
  })

  test('pumping: a burst to one range with no approvals blocks it for 12 hours, then it cools down', async () => {
    const guard = createVerifyGuard(settings(), store)
    const prefix = '+4477009001'
    // 12 sends, 5 seconds apart, never approved.
    for (let i = 0; i < 12; i++) {
      assert.equal(
        (await request(guard, req(number(prefix), T0 + i * 5 * SEC, null, 'GB'))).ok,
        true,
      )
    }
    // Only sends older than 2 minutes count: 9 of them a millisecond before the 10th matures.
    const probe = (now: number) => admit(guard, req(number(prefix), now, null, 'GB'))
    assert.equal((await probe(T0 + 165 * SEC - 1)).ok, true)
    assert.deepEqual(await blocksOf(prefix), [])

    const at = T0 + 165 * SEC
    const until = at + 12 * HOUR
    const refused = await probe(at)
    assert.deepEqual(refused, {
      ok: false,
      code: 'verification_blocked',
      status: 403,
      retryAfterSeconds: 12 * 3600,
      details: {
        kind: 'prefix',
        reason: 'low_approval_burst',
        until: new Date(until).toISOString(),
      },
    })
    const rows = await blocksOf(prefix)
    assert.equal(rows.length, 1)
    const row = rows[0] as (typeof rows)[number]
    assert.deepEqual(
      {
        kind: row.kind,
        reason: row.reason,
        created_at: Number(row.created_at),
        until: Number(row.until),
      },
      { kind: 'prefix', reason: 'low_approval_burst', created_at: at, until },
    )
    assert.deepEqual(JSON.parse(row.details as string), {
      sends: 10,
      approved: 0,
      approvalRate: 0,
      minApprovalRate: 0.2,
      minSends: 10,
      windowSeconds: 600,
      graceSeconds: 120,
    })

    // Every number of the range is refused while it lasts, with the time left; one block only.
    const later = await probe(at + HOUR)
    assert.equal(!later.ok && later.retryAfterSeconds, 11 * 3600)
    assert.equal(!later.ok && later.code, 'verification_blocked')
    assert.equal((await admit(guard, req(number('+4477009002'), at, null, 'GB'))).ok, true)
    const last = await probe(until - 1)
    assert.equal(!last.ok && last.retryAfterSeconds, 1)

    // Cooled down: served again, and no new block (its sends left the window long ago).
    assert.equal((await request(guard, req(number(prefix), until, null, 'GB'))).ok, true)
    assert.equal((await blocksOf(prefix)).length, 1)
  })

  test('approvals keep a busy range open; too few of them do not', async () => {
    const guard = createVerifyGuard(settings(), store)
    const burst = async (prefix: string, approved: number) => {
      for (let i = 0; i < 10; i++) {
        const r = await request(guard, req(number(prefix), T0 + i * SEC))
        if (i < approved) await approve(guard, r.id as string, T0 + 5 * MIN)
      }
      return admit(guard, req(number(prefix), T0 + 6 * MIN))
    }
    // 2 of 10 (the minimum rate, 20 %): open.
    assert.equal((await burst('+1212555', 2)).ok, true)
    assert.deepEqual(await blocksOf('+1212555'), [])
    // 1 of 10: blocked.
    const v = await burst('+1212556', 1)
    assert.equal(!v.ok && v.code, 'verification_blocked')
    const [row] = await blocksOf('+1212556')
    assert.deepEqual(
      (JSON.parse(row?.details as string) as { approvalRate: number }).approvalRate,
      0.1,
    )
  })

  test('fresh sends are not failures, and detection can be switched off', async () => {
    const guard = createVerifyGuard(settings(), store)
    const prefix = '+1312555'
    for (let i = 0; i < 15; i++) await request(guard, req(number(prefix), T0 + i * SEC))
    // All within the last 2 minutes: nothing has had time to be approved.
    assert.equal((await admit(guard, req(number(prefix), T0 + 2 * MIN))).ok, true)
    const off = createVerifyGuard(settings({ burst: null }), store)
    assert.equal((await admit(off, req(number(prefix), T0 + 3 * MIN))).ok, true)
    assert.deepEqual(await blocksOf(prefix), [])
    // Once they matured, the default guard blocks it.
    assert.equal((await admit(guard, req(number(prefix), T0 + 3 * MIN))).ok, false)
  })

  test('requests at once for one number count each other', async () => {
    const guard = createVerifyGuard(settings(), store)
    const to = number()
    const all = await Promise.all(
      Array.from({ length: 12 }, (_, i) => request(guard, req(to, T0 + i))),
    )
    assert.equal(all.filter((v) => v.ok).length, 5)
    assert.equal(all.filter((v) => !v.ok && v.code === 'verification_rate_limited').length, 7)
  })
})

describe(`GET /v1/verifications/blocks (${TEST_DB})`, () => {
  let t: TestSwitchboard
  let now = T0
  before(async () => {
    t = await startTestSwitchboard({ WORKER_THREAD: 'false' }, { now: () => now })
  })
  after(() => t.close())

  test('lists the blocks velocity detection made, active or expired, page by page', async () => {
    const guard = createVerifyGuard(t.config.verifyAbuse, t.sb.store)
    const prefix = '+3361234'
    for (let i = 0; i < 10; i++) {
      await t.sb.store.tx(function* () {
        yield run(
          'INSERT INTO verification_sends (verification_id, to_number, prefix, country, client_ip, at) VALUES (?, ?, ?, ?, ?, ?)',
          [`ver_x${i}`, `${prefix}000${i}`, prefix, 'FR', null, T0 + i * SEC],
        )
      })
    }
    const at = T0 + 5 * MIN
    const v = await t.sb.store.tx(() =>
      guard.admit({ to: `${prefix}1111`, country: 'FR', prefix, clientIp: null, now: at }),
    )
    assert.equal(!v.ok && v.code, 'verification_blocked')
    await t.sb.store.db.kysely
      .insertInto('verification_blocks')
      .values([
        {
          kind: 'ip',
          value: '203.0.113.9',
          reason: 'manual',
          details: null,
          created_at: T0 - 2 * HOUR,
          until: T0 - HOUR,
        },
        {
          kind: 'country',
          value: 'XK',
          reason: 'manual',
          details: null,
          created_at: at + SEC,
          until: at + HOUR,
        },
      ])
      .execute()
    now = at + 2 * SEC

    const get = async (query: string, key = t.keys.admin) =>
      t.inject({ method: 'GET', url: `/v1/verifications/blocks${query}`, headers: t.auth(key) })
    const active = await get('')
    assert.equal(active.statusCode, 200)
    const body = active.json<{ data: Record<string, unknown>[]; nextCursor: string | null }>()
    assert.deepEqual(
      body.data.map((b) => b.value),
      ['XK', prefix],
    )
    assert.equal(body.nextCursor, null)
    assert.deepEqual(body.data[1], {
      id: body.data[1]?.id,
      kind: 'prefix',
      value: prefix,
      reason: 'low_approval_burst',
      details: {
        sends: 10,
        approved: 0,
        approvalRate: 0,
        minApprovalRate: 0.2,
        minSends: 10,
        windowSeconds: 600,
        graceSeconds: 120,
      },
      createdAt: new Date(at).toISOString(),
      until: new Date(at + 12 * HOUR).toISOString(),
      active: true,
    })

    const expired = (await get('?status=expired')).json<{
      data: { value: string; active: boolean }[]
    }>()
    assert.deepEqual(
      expired.data.map((b) => [b.value, b.active]),
      [['203.0.113.9', false]],
    )

    const page1 = (await get('?status=all&limit=2')).json<{
      data: { value: string }[]
      nextCursor: string
    }>()
    assert.deepEqual(
      page1.data.map((b) => b.value),
      ['XK', '203.0.113.9'],
    )
    const page2 = (await get(`?status=all&limit=2&cursor=${page1.nextCursor}`)).json<{
      data: { value: string }[]
      nextCursor: string | null
    }>()
    assert.deepEqual(
      page2.data.map((b) => b.value),
      [prefix],
    )
    assert.equal(page2.nextCursor, null)

    // When the block ends it is listed as expired.
    now = at + 12 * HOUR
    const ended = (await get('?status=expired')).json<{ data: { value: string }[] }>()
    assert.deepEqual(
      ended.data.map((b) => b.value),
      ['XK', '203.0.113.9', prefix],
    )

    assert.equal((await get('', t.keys.read)).statusCode, 403)
    const bad = await get('?cursor=bm9wZQ')
    assert.equal(bad.statusCode, 422)
    assert.equal(bad.json<{ error: { code: string } }>().error.code, 'invalid_cursor')
    assert.equal((await get('?status=old')).statusCode, 422)
  })
})

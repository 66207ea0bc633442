// Risk covered: routes let through, or silently drop, messages they should refuse (a message no
// route accepts must be refused at intake, 422 no_route, per item in a batch, and never
// queued); a recipient who opted out of a sender is sent to again; a message that waited for a
// provider loses an attempt it never made; a send whose outcome is unknown can no longer be
// moved on by its delivery report.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { prepareMessage } from '../../src/domain/messages/prepare.js'
import { loadConfig } from '../../src/config.js'
import { packRows } from '../../src/store/rows.js'
import {
  openTestStore,
  optInToMarketing,
  startTestSwitchboard,
  statusCounts,
  TEST_DB,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'
import { childEnv, ROOT } from '../support/processes.js'

const PROVIDERS = JSON.stringify([
  { name: 'sim-a', type: 'simulator', dlrDelayMs: 5 },
  { name: 'sim-b', type: 'simulator', dlrDelayMs: 5 },
])

describe(`routes at intake (${TEST_DB})`, () => {
  let t: TestSwitchboard

  before(async () => {
    t = await startTestSwitchboard({
      PROVIDERS,
      ROUTES: JSON.stringify([
        { match: { countries: ['US'], type: 'marketing' }, providers: ['sim-b'] },
        { match: { prefixes: ['+44'] }, providers: ['sim-a'] },
      ]),
    })
    await optInToMarketing(t, '+12125550100')
  })
  after(() => t.close())

  test('a message no route accepts is 422 no_route and is not stored', async () => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(t.keys.write),
      payload: { to: '+12125550100', body: 'hi', type: 'transactional' },
    })
    assert.equal(res.statusCode, 422, res.body)
    assert.deepEqual(res.json(), {
      error: {
        code: 'no_route',
        message: 'No route accepts this message',
        details: { country: 'US', type: 'transactional' },
      },
    })
    assert.deepEqual(await statusCounts(t), {})
  })

  test('in a batch, the items no route accepts get no_route and the others are stored', async () => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: t.auth(t.keys.write),
      payload: {
        messages: [
          { to: '+12125550100', body: 'us marketing', type: 'marketing' },
          { to: '+33612345678', body: 'france' },
          { to: '+447400123456', body: 'uk' },
        ],
      },
    })
    assert.equal(res.statusCode, 202, res.body)
    const body = res.json<{
      accepted: number
      failed: number
      data: { index: number; message?: unknown; error?: { code: string; details: unknown } }[]
    }>()
    assert.equal(body.accepted, 2)
    assert.equal(body.failed, 1)
    assert.ok(body.data[0]?.message && body.data[2]?.message)
    assert.deepEqual(body.data[1]?.error, {
      code: 'no_route',
      message: 'No route accepts this message',
      details: { country: 'FR', type: 'transactional' },
    })
    const stored = await t.sb.store.db.kysely.selectFrom('messages').select('to_number').execute()
    assert.deepEqual(stored.map((r) => r.to_number).sort(), ['+12125550100', '+447400123456'])
  })
})

describe(`suppressions (${TEST_DB})`, () => {
  let t: TestSwitchboard
  const OPTED_OUT = '+14155550199'
  const SENDER = '+14155550100'

  before(async () => {
    t = await startTestSwitchboard({
      PROVIDERS: JSON.stringify([
        {
          name: 'sim',
          type: 'simulator',
          dlrDelayMs: 5,
          rules: [{ match: OPTED_OUT, outcome: 'opted_out' }],
        },
      ]),
      ROUTES: JSON.stringify([{ providers: ['sim'], senders: [SENDER] }]),
    })
  })
  after(() => t.close())

  const send = async (payload: Record<string, unknown>) => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(t.keys.write),
      payload: { body: 'hi', ...payload },
    })
    assert.equal(res.statusCode, 202, res.body)
    return res.json<{ id: string }>().id
  }
  const final = (id: string) =>
    waitFor(async () => {
      const m = await t.sb.store.getMessage(id)
      return m && ['failed', 'delivered'].includes(m.status) ? m : undefined
    }, 30_000)
  const attempts = (id: string) =>
    t.sb.store.db.kysely.selectFrom('attempts').selectAll().where('message_id', '=', id).execute()

  test('an opt-out is recorded for the sender, and later messages to the number are not sent', async () => {
    const first = await final(await send({ to: OPTED_OUT }))
    assert.equal(first.status, 'failed')
    assert.equal(first.error_code, 'recipient_opted_out')
    const tried = await attempts(first.id)
    assert.deepEqual(
      tried.map((a) => [a.provider, a.sender, a.outcome, a.error_code]),
      [['sim', SENDER, 'rejected', 'recipient_opted_out']],
      'sent once, from the sticky sender',
    )
    const suppressions = await t.sb.store.db.kysely.selectFrom('suppressions').selectAll().execute()
    assert.deepEqual(
      suppressions.map((s) => [s.recipient, s.sender_key, s.provider, s.error_code]),
      [[OPTED_OUT, SENDER, 'sim', 'recipient_opted_out']],
    )

    // The provider's opt-out is in the consent ledger too (source provider, that sender): the
    // next message from that sender is refused at intake, not stored (docs/compliance.md).
    const second = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(t.keys.write),
      payload: { body: 'hi', to: OPTED_OUT },
    })
    assert.equal(second.statusCode, 422, second.body)
    assert.deepEqual(second.json<{ error: { code: string; details: unknown } }>().error, {
      code: 'recipient_opted_out',
      message: 'The recipient opted out of messages of this scope',
      details: { scope: SENDER },
    })

    // From another sender the number is not suppressed: it goes to the provider.
    const other = await final(await send({ to: OPTED_OUT, from: 'ACME' }))
    assert.equal((await attempts(other.id)).length, 1)
    // Other numbers from the suppressed sender go out as usual.
    assert.equal((await final(await send({ to: '+14155550123' }))).status, 'delivered')
  })
})

describe(`what a message went out through (${TEST_DB})`, () => {
  let t: TestSwitchboard
  const SENDERS = ['+14155550100', '+14155550101', '+14155550102']

  before(async () => {
    t = await startTestSwitchboard({
      PROVIDERS: JSON.stringify([{ name: 'sim', type: 'simulator', dlrDelayMs: 5 }]),
      ROUTES: JSON.stringify([{ providers: ['sim'], senders: SENDERS }]),
      PRICES: JSON.stringify([{ provider: 'sim', country: 'US', price: 0.0079, currency: 'USD' }]),
    })
  })
  after(() => t.close())

  interface View {
    status: string
    from: string | null
    provider: string | null
    sender: string | null
    segments: number
    cost: { estimated: { amount: number; currency: string } | null }
  }
  const sendAndGet = async (payload: Record<string, unknown>): Promise<View> => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(t.keys.write),
      payload,
    })
    assert.equal(res.statusCode, 202, res.body)
    const id = res.json<{ id: string }>().id
    return waitFor(async () => {
      const m = (
        await t.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: t.auth() })
      ).json<View>()
      return m.status === 'delivered' ? m : undefined
    }, 30_000)
  }

  test('the instance, the sticky sender (the same for a recipient every time) and the estimated cost', async () => {
    const body = 'x'.repeat(200) // 2 segments
    const first = await sendAndGet({ to: '+12125550100', body })
    assert.equal(first.provider, 'sim')
    assert.equal(first.from, null, 'the request had no from')
    assert.ok(first.sender && SENDERS.includes(first.sender))
    assert.deepEqual(first.cost.estimated, { amount: 0.0158, currency: 'USD' })
    for (let i = 0; i < 3; i++) {
      assert.equal((await sendAndGet({ to: '+12125550100', body: 'again' })).sender, first.sender)
    }
    // Its own from is kept.
    assert.equal(
      (await sendAndGet({ to: '+12125550100', body: 'own', from: 'ACME' })).sender,
      'ACME',
    )
    // No price for the destination's country: no estimate.
    assert.equal((await sendAndGet({ to: '+447400123456', body: 'uk' })).cost.estimated, null)
  })
})

describe(`dispatch records in the store (${TEST_DB})`, () => {
  let s: Awaited<ReturnType<typeof openTestStore>>
  const NOW = 1_800_000_000_000
  const OWNER = 'wrk_test'

  before(async () => {
    s = await openTestStore()
  })
  after(() => s.close())

  const claimOne = async (to: string) => {
    const r = prepareMessage(
      { to, body: 'x' },
      { apiKeyId: null, now: NOW, policy: loadConfig({}).messages },
    )
    assert.ok(r.ok)
    const { store } = s
    await store.tx(() =>
      store.messages.insertSubmissions([{ idempotency: null, rows: packRows([r.message]) }]),
    )
    const claimed = await store.tx(() => store.messages.claim(OWNER, 100, NOW, 30_000))
    const m = claimed.find((c) => c.id === r.message.id)
    assert.ok(m)
    return m
  }

  test('a release gives back the attempt its claim counted, and keeps the error code unless given', async () => {
    const { store } = s
    const m = await claimOne('+14155550131')
    assert.equal(m.attempts, 1)
    await store.tx(() =>
      store.messages.recordOutcomes(
        OWNER,
        [
          {
            kind: 'release',
            id: m.id,
            nextAttemptAt: NOW + 500,
            errorCode: 'no_provider_available',
          },
        ],
        NOW,
      ),
    )
    const released = await store.getMessage(m.id)
    assert.deepEqual(
      [released?.status, released?.attempts, released?.error_code, released?.next_attempt_at],
      ['queued', 0, 'no_provider_available', NOW + 500],
    )
    await store.tx(() => store.messages.claim(OWNER, 100, NOW + 500, 30_000))
    await store.tx(() =>
      store.messages.recordOutcomes(
        OWNER,
        [{ kind: 'release', id: m.id, nextAttemptAt: NOW + 600, errorCode: null }],
        NOW + 500,
      ),
    )
    const again = await store.getMessage(m.id)
    assert.deepEqual([again?.attempts, again?.error_code], [0, 'no_provider_available'])
    const events = await store.listEvents(m.id)
    assert.deepEqual(
      events.map((e) => e.status),
      ['queued', 'sending', 'queued', 'sending', 'queued'],
    )
  })

  test('an unknown outcome sent no more reads sent, and its delivery report still moves it', async () => {
    const { store } = s
    const m = await claimOne('+14155550132')
    await store.tx(() =>
      store.messages.recordOutcomes(
        OWNER,
        [
          {
            kind: 'sent',
            id: m.id,
            provider: 'sim',
            providerMessageIds: [],
            sender: null,
            errorCode: 'provider_outcome_unknown',
            errorMessage: 'the provider may have sent it; it is not sent again',
            attempt: {
              number: 1,
              provider: 'sim',
              sender: null,
              startedAt: NOW,
              endedAt: NOW + 10,
              outcome: 'unknown',
              errorCode: 'provider_outcome_unknown',
              latencyMs: 10,
            },
          },
        ],
        NOW + 10,
      ),
    )
    const sent = await store.getMessage(m.id)
    assert.deepEqual(
      [sent?.status, sent?.error_code, sent?.provider, sent?.provider_message_id],
      ['sent', 'provider_outcome_unknown', 'sim', null],
    )
    const unmatched = await store.tx(() =>
      store.messages.applyReports(
        'sim',
        [
          {
            type: 'status',
            messageId: m.id,
            providerMessageId: 'SIM-late',
            status: 'delivered',
            at: NOW + 50,
          },
        ],
        NOW + 60,
      ),
    )
    assert.deepEqual(unmatched, [])
    assert.equal((await store.getMessage(m.id))?.status, 'delivered')
  })
})

describe('routing configuration at boot', () => {
  test('every routing problem is reported at once, with the others, and the server exits 78', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'start'], {
      cwd: ROOT,
      env: childEnv({
        DATABASE_URL: 'sqlite::memory:',
        PORT: 'not-a-port',
        PROVIDERS: JSON.stringify([
          { name: 'sim-a', type: 'simulator' },
          { name: 'sim-b', type: 'simulator' },
        ]),
        ROUTES: JSON.stringify([
          { match: { countries: ['USA'] }, providers: ['sim-c'] },
          { providers: ['sim-a'], senders: ['not a sender!'] },
          { providers: ['sim-b'] },
        ]),
        PRICES: JSON.stringify([{ provider: 'sim-a', country: 'US', price: -1, currency: 'USD' }]),
        CIRCUIT_FAILURES: '0',
        CIRCUIT_COOLDOWN_MS: 'later',
      }),
      encoding: 'utf8',
      timeout: 60_000,
    })
    assert.equal(r.status, 78, r.stderr)
    for (const problem of [
      /PORT must be/,
      /ROUTES\[0\]: "match.countries" must be ISO 3166-1 alpha-2 codes \(got USA\)/,
      /ROUTES\[0\]: "providers" names sim-c, which is not a configured instance \(sim-a, sim-b\)/,
      /ROUTES\[1\]: "senders\[0\]" must be an E.164 number/,
      /ROUTES\[2\]: is never used: route \[1\] before it takes every message/,
      /PRICES\[0\]: "price" must be a number of at least 0/,
      /CIRCUIT_FAILURES must be an integer between 1/,
      /CIRCUIT_COOLDOWN_MS must be an integer/,
    ]) {
      assert.match(r.stderr, problem)
    }
  })
})

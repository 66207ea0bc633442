// Risk covered: routes let through, or silently drop, messages they should refuse (a message no
// route accepts must be refused at intake, 422 no_route, per item in a batch, and never
// queued); a recipient who opted out of a sender is sent to again; a message that waited for a
// provider loses an attempt it never made; a send whose outcome is unknown can no longer be
// moved on by its delivery report.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { prepareMessage } from '../../src/domain/messages/prepare.js'
import { loadConfig } from '../../src/config.js'
import { packRows } from '../../src/store/rows.js'
import {
  openTestStore,
  startTestSwitchboard,
  statusCounts,
  TEST_DB,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'

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
    })
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

    const second = await final(await send({ to: OPTED_OUT }))
    assert.equal(second.status, 'failed')
    assert.equal(second.error_code, 'recipient_opted_out')
    assert.deepEqual(await attempts(second.id), [], 'not sent')

    // From another sender the number is not suppressed: it goes to the provider.
    const other = await final(await send({ to: OPTED_OUT, from: 'ACME' }))
    assert.equal((await attempts(other.id)).length, 1)
    // Other numbers from the suppressed sender go out as usual.
    assert.equal((await final(await send({ to: '+14155550123' }))).status, 'delivered')
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

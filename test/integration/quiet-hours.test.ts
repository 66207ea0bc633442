// Risk: a marketing message reaches a phone at night (a TCPA violation in the US), or a
// transactional one (a one-time code) waits for the morning. The server runs on an injected
// clock, placed around the 2026 daylight-saving changes.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { prepareMessage } from '../../src/domain/messages/prepare.js'
import { packRows } from '../../src/store/rows.js'
import {
  optInToMarketing,
  startTestSwitchboard,
  TEST_DB,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'

interface Msg {
  id: string
  status: string
  type: string
  sendAt: string | null
  validUntil: string
  attempts: number
  events: { status: string; detail: string | null }[]
}

const NEW_YORK = '+12125550100'
const SENT = new Set(['sent', 'delivered'])
const PARIS = '+33612345678'

describe(`quiet hours (${TEST_DB})`, () => {
  let t: TestSwitchboard
  // The server's clock runs, from a time the test sets (a frozen one would stall the worker's
  // claim allowance). Set to `at`, it reads `at` plus the few milliseconds since.
  let offset = 0
  const setClock = (iso: string) => (offset = Date.parse(iso) - Date.now())
  // 21:00 EST on 2026-03-07, the evening before clocks go forward in the US.
  setClock('2026-03-08T02:00:00Z')

  before(async () => {
    t = await startTestSwitchboard(
      { WORKER_THREAD: 'false', QUIET_HOURS: '{}' },
      { now: () => Date.now() + offset },
    )
    // Marketing needs a recorded opt-in (consent is not what this suite is about).
    await optInToMarketing(t, NEW_YORK, PARIS)
  })
  after(() => t.close())

  const send = async (payload: Record<string, unknown>) => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(t.keys.write),
      payload,
    })
    assert.equal(res.statusCode, 202, res.body)
    return res.json<Msg>()
  }
  const get = async (id: string) =>
    (await t.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: t.auth() })).json<Msg>()

  test('a marketing message at local night is scheduled for 08:00 local, a transactional one goes', async () => {
    const m = await send({ to: NEW_YORK, body: 'Spring sale', type: 'marketing' })
    assert.equal(m.status, 'scheduled')
    // 08:00 EDT, after the change: 12:00Z (a fixed EST offset would say 13:00Z).
    assert.equal(m.sendAt, '2026-03-08T12:00:00.000Z')
    // Its validity (10 hours by default) counts from then.
    assert.equal(m.validUntil, '2026-03-08T22:00:00.000Z')

    const code = await send({ to: NEW_YORK, body: 'Your code is 123456' })
    assert.equal(code.status, 'queued')
    assert.equal(code.sendAt, null)
    await waitFor(
      async () => (SENT.has((await get(code.id)).status) ? true : undefined),
      10_000,
      'the transactional message sent',
    )

    const held = await get(m.id)
    assert.equal(held.status, 'scheduled')
    assert.deepEqual(
      held.events.map((e) => [e.status, e.detail]),
      [
        [
          'scheduled',
          'quiet hours: held until 2026-03-08T12:00:00.000Z (window 08:00-21:00 in America/New_York)',
        ],
      ],
    )

    // 07:59 EDT: still held. 08:00: it goes.
    setClock('2026-03-08T11:59:00Z')
    await new Promise((r) => setTimeout(r, 200))
    assert.equal((await get(m.id)).status, 'scheduled')
    setClock('2026-03-08T12:00:00Z')
    await waitFor(
      async () => (SENT.has((await get(m.id)).status) ? true : undefined),
      10_000,
      'the held marketing message sent at 08:00',
    )
  })

  test('a requested sendAt at night is moved to the opening; one in the window is kept', async () => {
    setClock('2026-03-08T13:00:00Z')
    const night = await send({
      to: NEW_YORK,
      body: 'Flash sale',
      type: 'marketing',
      sendAt: '2026-03-09T03:30:00Z', // 23:30 EDT
    })
    assert.equal(night.status, 'scheduled')
    assert.equal(night.sendAt, '2026-03-09T12:00:00.000Z')
    const day = await send({
      to: NEW_YORK,
      body: 'Flash sale',
      type: 'marketing',
      sendAt: '2026-03-08T20:00:00Z',
    })
    assert.equal(day.sendAt, '2026-03-08T20:00:00.000Z')
    const events = (await get(day.id)).events
    assert.equal(events[0]?.detail, null)
  })

  test('Paris, the evening before the EU change: held until 08:00 CET; batches too', async () => {
    setClock('2026-10-24T19:30:00Z') // 21:30 CEST
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: t.auth(t.keys.write),
      payload: {
        messages: [
          { to: PARIS, body: 'Soldes', type: 'marketing' },
          { to: PARIS, body: 'Votre code: 123456', type: 'transactional' },
        ],
      },
    })
    assert.equal(res.statusCode, 202, res.body)
    const data = res.json<{ data: { message: { id: string; status: string } }[] }>().data
    assert.deepEqual(
      data.map((d) => d.message.status),
      ['scheduled', 'queued'],
    )
    const held = await get(data[0]?.message.id ?? '')
    assert.equal(held.sendAt, '2026-10-25T07:00:00.000Z')
    assert.match(
      held.events[0]?.detail ?? '',
      /held until 2026-10-25T07:00:00.000Z .*Europe\/Paris/,
    )
  })

  test('a marketing message that becomes due at night goes back to the queue until morning', async () => {
    // Queued before quiet hours applied to it (stored directly, as an older version would have):
    // the worker claims it at 23:00 EDT and gives it back, unsent, until 08:00 EDT.
    setClock('2026-07-02T03:00:00Z')
    const now = Date.parse('2026-07-02T03:00:00Z')
    const r = prepareMessage(
      { to: NEW_YORK, body: 'Late offer', type: 'marketing', validityPeriod: 86_400 },
      { apiKeyId: null, now, policy: t.config.messages },
    )
    assert.ok(r.ok)
    const store = t.sb.store
    await store.tx(() =>
      store.messages.insertSubmissions([{ idempotency: null, rows: packRows([r.message]) }]),
    )
    t.sb.sendWorker?.intakeCommitted()
    const m = await waitFor(
      async () => {
        const x = await get(r.message.id)
        return x.events.length >= 3 ? x : undefined
      },
      10_000,
      'the claim and its release',
    )
    assert.equal(m.status, 'queued')
    assert.equal(m.attempts, 0)
    assert.deepEqual(
      m.events.map((e) => [e.status, e.detail?.startsWith('attempt') ? 'attempt' : e.detail]),
      [
        ['queued', null],
        ['sending', 'attempt'],
        [
          'queued',
          'quiet hours: held until 2026-07-02T12:00:00.000Z (window 08:00-21:00 in America/New_York)',
        ],
      ],
    )
  })
})

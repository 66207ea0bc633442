// Risk covered: a number that opted out keeps getting messages (at intake, from a batch, or
// from the queue), a marketing message goes without a recorded opt-in, the ledger's state is
// not its latest entry, or a provider's own opt-out is forgotten.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestSwitchboard, waitFor, type TestSwitchboard } from '../support/harness.js'

const SENDER = '+15005550006'
const OTHER_SENDER = '+15005550007'
const ENV = {
  PROVIDERS: JSON.stringify([
    {
      name: 'sim',
      type: 'simulator',
      dlrDelayMs: 5,
      rules: [{ match: '+1415555019', outcome: 'opted_out' }],
    },
  ]),
  // One route with a sender: a message without `from` goes out from SENDER.
  ROUTES: JSON.stringify([{ providers: ['sim'], senders: [SENDER] }]),
}

let t: TestSwitchboard
let n = 0
/** A fresh US number per test, so tests do not see each other's ledger. */
const fresh = () => `+1415555${String(1000 + n++).padStart(4, '0')}`

before(async () => {
  t = await startTestSwitchboard(ENV)
})
after(async () => {
  await t.close()
})

async function consent(
  body: Record<string, unknown>,
  key = t.keys.admin,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await t.inject({
    method: 'POST',
    url: '/v1/consents',
    headers: t.auth(key),
    payload: { source: 'api', ...body },
  })
  return { status: res.statusCode, json: res.json() }
}

interface Answer {
  id?: string
  status?: string
  error?: { code: string; details?: unknown }
}

async function send(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await t.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: { ...t.auth(t.keys.write), ...headers },
    payload: { body: 'hello', ...body },
  })
  return { status: res.statusCode, json: res.json<Answer>(), raw: res.body }
}

async function state(phone: string) {
  const res = await t.inject({
    method: 'GET',
    url: `/v1/consents/${encodeURIComponent(phone)}`,
    headers: t.auth(t.keys.read),
  })
  assert.equal(res.statusCode, 200)
  return res.json<{
    phone: string
    state: { scope: string; status: string; since: string }[]
    history: { action: string; scope: string; source: string; at: string }[]
  }>()
}

describe('the consent ledger API', () => {
  test('records an entry and answers 201 with it, E.164 and ISO times', async () => {
    const phone = fresh()
    const r = await consent({
      phone: phone.slice(2),
      action: 'opt_in',
      scope: 'marketing',
      source: 'web_form',
      disclosure: 'marketing-sms-v3',
      evidence: {
        ip: '203.0.113.7',
        userAgent: 'Mozilla/5.0',
        formUrl: 'https://example.com/join',
      },
    })
    // A national number is refused without DEFAULT_COUNTRY: parse like messages' `to`.
    assert.equal(r.status, 422)
    assert.equal((r.json.error as { code: string }).code, 'invalid_phone_number')

    const ok = await consent({
      phone,
      action: 'opt_in',
      scope: 'marketing',
      source: 'web_form',
      disclosure: 'marketing-sms-v3',
      evidence: {
        ip: '203.0.113.7',
        userAgent: 'Mozilla/5.0',
        formUrl: 'https://example.com/join',
      },
    })
    assert.equal(ok.status, 201)
    assert.equal(ok.json.phone, phone)
    assert.equal(ok.json.scope, 'marketing')
    assert.equal(ok.json.source, 'web_form')
    assert.equal(ok.json.changed, true)
    assert.ok(!Number.isNaN(Date.parse(ok.json.at as string)))
    const s = await state(phone)
    assert.deepEqual(
      s.state.map((x) => [x.scope, x.status]),
      [['marketing', 'opted_in']],
    )
    assert.equal(s.history.length, 1)
    assert.deepEqual(s.history[0], {
      action: 'opt_in',
      scope: 'marketing',
      source: 'web_form',
      at: ok.json.at,
      disclosure: 'marketing-sms-v3',
      evidence: {
        ip: '203.0.113.7',
        userAgent: 'Mozilla/5.0',
        formUrl: 'https://example.com/join',
      },
    })
  })

  test('a number with no entry: 200, empty state and history', async () => {
    const phone = fresh()
    assert.deepEqual(await state(phone), { phone, state: [], history: [] })
  })

  test('state per scope is the latest entry; history keeps every entry in order', async () => {
    const phone = fresh()
    await consent({ phone, action: 'opt_in', scope: 'all' })
    await consent({ phone, action: 'opt_out', scope: SENDER })
    await consent({ phone, action: 'opt_out', scope: 'all' })
    await consent({ phone, action: 'opt_in', scope: 'all' })
    const s = await state(phone)
    assert.deepEqual(s.state.map((x) => [x.scope, x.status]).sort(), [
      [SENDER, 'opted_out'],
      ['all', 'opted_in'],
    ])
    assert.deepEqual(
      s.history.map((h) => `${h.action} ${h.scope}`),
      ['opt_in all', `opt_out ${SENDER}`, 'opt_out all', 'opt_in all'],
    )
  })

  test('consent.changed is raised for entries that change the state, not for a repeat', async () => {
    const phone = fresh()
    const count = async () =>
      (
        await t.sb.store.db.kysely
          .selectFrom('events')
          .select('data')
          .where('type', '=', 'consent.changed')
          .execute()
      )
        .map((r) => JSON.parse(r.data) as Record<string, unknown>)
        .filter((d) => d.phone === phone)
    const first = await consent({ phone, action: 'opt_out', scope: 'all' })
    const again = await consent({ phone, action: 'opt_out', scope: 'all' })
    assert.equal(first.json.changed, true)
    assert.equal(again.json.changed, false)
    await consent({ phone, action: 'opt_in', scope: 'all' })
    const events = await count()
    assert.deepEqual(
      events.map((e) => e.status),
      ['opted_out', 'opted_in'],
    )
    assert.deepEqual(Object.keys(events[0] ?? {}).sort(), [
      'at',
      'phone',
      'scope',
      'source',
      'status',
    ])
    assert.equal(events[0]?.at, first.json.at)
    // Every entry is kept, the repeat too (it is evidence).
    assert.equal((await state(phone)).history.length, 3)
  })

  test('writes need admin; reads need messages:read', async () => {
    const phone = fresh()
    const w = await consent({ phone, action: 'opt_out', scope: 'all' }, t.keys.write)
    assert.equal(w.status, 403)
    const r = await t.inject({
      method: 'GET',
      url: `/v1/consents/${phone}`,
      headers: t.auth(t.keys.write),
    })
    assert.equal(r.statusCode, 403)
  })

  test('bad scope, action or source is 4xx with a registry code', async () => {
    const phone = fresh()
    const bad = [
      { phone, action: 'opt_out', scope: 'everything!' },
      { phone, action: 'opt_out', scope: '+1' },
      { phone, action: 'maybe', scope: 'all' },
      { phone, action: 'opt_out', scope: 'all', source: 'guess' },
      { phone, action: 'opt_out', scope: 'all', evidence: { ip: 7 } },
    ]
    for (const b of bad) {
      const r = await consent(b)
      assert.equal(r.status, 422, JSON.stringify(b))
      assert.match(
        (r.json.error as { code: string }).code,
        /^(validation_failed|invalid_phone_number)$/,
      )
    }
    assert.deepEqual((await state(phone)).history, [])
  })

  test('a sender scope is stored as E.164', async () => {
    const phone = fresh()
    const r = await consent({ phone, action: 'opt_out', scope: ' +1 500 555 0006 ' })
    assert.equal(r.status, 201)
    assert.equal(r.json.scope, SENDER)
  })
})

describe('GET /v1/suppressions', () => {
  test('lists numbers currently opted out, filtered by scope, page by page', async () => {
    const phones = [fresh(), fresh(), fresh(), fresh()]
    for (const p of phones) await consent({ phone: p, action: 'opt_out', scope: 'transactional' })
    // Opted back in: no longer listed.
    await consent({ phone: phones[1], action: 'opt_in', scope: 'transactional' })
    const seen: { phone: string; scope: string; since: string }[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res: Awaited<ReturnType<typeof t.inject>> = await t.inject({
        method: 'GET',
        url: `/v1/suppressions?scope=transactional&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        headers: t.auth(t.keys.read),
      })
      assert.equal(res.statusCode, 200)
      const body = res.json<{ data: typeof seen; nextCursor: string | null }>()
      assert.ok(body.data.length <= 2)
      seen.push(...body.data)
      cursor = body.nextCursor
      pages++
    } while (cursor && pages < 10)
    assert.equal(pages, 2)
    assert.deepEqual(
      seen.map((s) => s.phone),
      [phones[3], phones[2], phones[0]],
    )
    assert.ok(seen.every((s) => s.scope === 'transactional' && !Number.isNaN(Date.parse(s.since))))
    const bad = await t.inject({
      method: 'GET',
      url: '/v1/suppressions?cursor=nope',
      headers: t.auth(t.keys.read),
    })
    assert.equal(bad.statusCode, 422)
    assert.equal(bad.json<Answer>().error?.code, 'invalid_cursor')
  })
})

describe('enforcement at intake', () => {
  test('transactional: refused by an opt-out of all, of its sender or of transactional', async () => {
    for (const scope of ['all', SENDER, 'transactional']) {
      const phone = fresh()
      assert.equal((await send({ to: phone })).status, 202)
      await consent({ phone, action: 'opt_out', scope })
      const r = await send({ to: phone })
      assert.equal(r.status, 422, scope)
      assert.equal(r.json.error?.code, 'recipient_opted_out')
      assert.deepEqual(r.json.error?.details, { scope })
    }
  })

  test('transactional: not refused by an opt-out of marketing or of another sender', async () => {
    const phone = fresh()
    await consent({ phone, action: 'opt_out', scope: 'marketing' })
    await consent({ phone, action: 'opt_out', scope: OTHER_SENDER })
    assert.equal((await send({ to: phone })).status, 202)
    assert.equal((await send({ to: phone, from: SENDER })).status, 202)
    // The sender's scope applies to a message naming it as `from` too.
    const r = await send({ to: phone, from: OTHER_SENDER })
    assert.equal(r.status, 422)
    assert.deepEqual(r.json.error?.details, { scope: OTHER_SENDER })
  })

  test('marketing needs an opt-in of marketing or all; an opt-out still wins', async () => {
    const phone = fresh()
    const none = await send({ to: phone, type: 'marketing' })
    assert.equal(none.status, 422)
    assert.equal(none.json.error?.code, 'consent_required')
    // An opt-in of another type or of a sender is no marketing consent.
    await consent({ phone, action: 'opt_in', scope: 'transactional' })
    await consent({ phone, action: 'opt_in', scope: SENDER })
    assert.equal(
      (await send({ to: phone, type: 'marketing' })).json.error?.code,
      'consent_required',
    )
    await consent({ phone, action: 'opt_in', scope: 'marketing' })
    assert.equal((await send({ to: phone, type: 'marketing' })).status, 202)
    await consent({ phone, action: 'opt_out', scope: SENDER })
    const out = await send({ to: phone, type: 'marketing' })
    assert.equal(out.json.error?.code, 'recipient_opted_out')
    await consent({ phone, action: 'opt_in', scope: SENDER })
    await consent({ phone, action: 'opt_out', scope: 'marketing' })
    const m = await send({ to: phone, type: 'marketing' })
    assert.equal(m.json.error?.code, 'recipient_opted_out')
    assert.deepEqual(m.json.error?.details, { scope: 'marketing' })
    // ... while transactional messages still go.
    assert.equal((await send({ to: phone })).status, 202)

    const other = fresh()
    await consent({ phone: other, action: 'opt_in', scope: 'all' })
    assert.equal((await send({ to: other, type: 'marketing' })).status, 202)
  })

  test('refusals store nothing, are counted, and a refused key can be used again', async () => {
    const phone = fresh()
    await consent({ phone, action: 'opt_out', scope: 'all' })
    const before = await t.sb.store.countConsentRefusals()
    const key = { 'idempotency-key': `refused-${phone}` }
    const r = await send({ to: phone }, key)
    assert.equal(r.status, 422)
    const m = await send({ to: phone, type: 'marketing' })
    assert.equal(m.status, 422)
    const listed = await t.inject({
      method: 'GET',
      url: `/v1/messages?to=${encodeURIComponent(phone)}`,
      headers: t.auth(t.keys.read),
    })
    assert.deepEqual(listed.json<{ data: unknown[] }>().data, [])
    const counted = await t.sb.store.countConsentRefusals()
    assert.equal((counted.recipient_opted_out ?? 0) - (before.recipient_opted_out ?? 0), 2)
    await consent({ phone, action: 'opt_in', scope: 'all' })
    const again = await send({ to: phone }, key)
    assert.equal(again.status, 202)
    const replay = await send({ to: phone }, key)
    assert.equal(replay.raw, again.raw)
  })

  test('a batch reports refusals per entry, stores the rest, and replays the same answer', async () => {
    const ok = fresh()
    const out = fresh()
    const marketing = fresh()
    await consent({ phone: out, action: 'opt_out', scope: 'all' })
    const payload = {
      messages: [
        { to: ok, body: 'a' },
        { to: out, body: 'b' },
        { to: 'not a number', body: 'c' },
        { to: marketing, body: 'd', type: 'marketing' },
        { to: ok, body: 'e' },
      ],
    }
    const post = () =>
      t.inject({
        method: 'POST',
        url: '/v1/messages/batch',
        headers: { ...t.auth(t.keys.write), 'idempotency-key': `batch-${ok}` },
        payload,
      })
    const res = await post()
    assert.equal(res.statusCode, 202)
    const body = res.json<{
      accepted: number
      failed: number
      data: {
        index: number
        message?: { id: string }
        error?: { code: string; details: unknown }
      }[]
    }>()
    assert.equal(body.accepted, 2)
    assert.equal(body.failed, 3)
    assert.deepEqual(
      body.data.map((d) => [d.index, d.message ? 'ok' : d.error?.code]),
      [
        [0, 'ok'],
        [1, 'recipient_opted_out'],
        [2, 'invalid_phone_number'],
        [3, 'consent_required'],
        [4, 'ok'],
      ],
    )
    assert.deepEqual(body.data[1]?.error?.details, { scope: 'all' })
    const stored = await t.sb.store.db.kysely
      .selectFrom('messages')
      .select('to_number')
      .where('to_number', 'in', [ok, out, marketing])
      .execute()
    assert.deepEqual(
      stored.map((s) => s.to_number),
      [ok, ok],
    )
    const replay = await post()
    assert.equal(replay.headers['idempotent-replayed'], 'true')
    assert.equal(replay.body, res.body)
  })
})

describe('enforcement before the send', () => {
  test('a scheduled message whose recipient opts out ends rejected, never sent', async () => {
    const phone = fresh()
    const r = await send({ to: phone, sendAt: new Date(Date.now() + 1500).toISOString() })
    assert.equal(r.status, 202)
    assert.equal(r.json.status, 'scheduled')
    await consent({ phone, action: 'opt_out', scope: SENDER })
    const m = await waitFor(async () => {
      const got = await t.sb.store.getMessage(r.json.id ?? '')
      return got && !['scheduled', 'queued', 'sending'].includes(got.status) ? got : undefined
    }, 15_000)
    assert.equal(m.status, 'rejected')
    assert.equal(m.error_code, 'recipient_opted_out')
    assert.deepEqual(await t.sb.store.listSendAttempts(m.id), [])
  })

  test("a provider's own opt-out is recorded in the ledger (source provider, its sender)", async () => {
    // The simulator refuses +1415555019x as opted out.
    const phone = '+14155550190'
    const r = await send({ to: phone })
    assert.equal(r.status, 202)
    const m = await waitFor(async () => {
      const got = await t.sb.store.getMessage(r.json.id ?? '')
      return got && got.status === 'failed' ? got : undefined
    })
    assert.equal(m.error_code, 'recipient_opted_out')
    const s = await state(phone)
    assert.deepEqual(
      s.state.map((x) => [x.scope, x.status]),
      [[SENDER, 'opted_out']],
    )
    assert.equal(s.history[0]?.source, 'provider')
    // And the next send is refused at intake.
    assert.equal((await send({ to: phone })).json.error?.code, 'recipient_opted_out')
  })
})

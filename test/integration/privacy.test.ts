// Risk covered: a GDPR erasure that leaves the number or a body somewhere (a table, an index,
// the outbox, an idempotency answer, the SQLite file or its write-ahead log), that loses an
// opt-out (the number could be texted again), or that writes the number into the audit log; an
// export that misses what is held; administrative actions that leave no audit entry.
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import type { ProviderEvent } from '../../src/providers/provider.js'
import { ReportIngestor } from '../../src/queue/report.ingestor.js'
import { inboundEffects } from '../../src/usecases/inbound.js'
import { startTestSwitchboard, TEST_DB, waitFor, type TestSwitchboard } from '../support/harness.js'

const PHONE = '+14155550199'
const NATIONAL = '4155550199'
const OTHER = '+14155550142'
const BODIES: readonly [string, string, string, string] = [
  'Erasable outbound zq81',
  'Erasable batch kx27',
  'Erasable inbound wv63',
  'Part one pj40',
]
const KEPT_BODY = 'Someone else entirely mb55'
const SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64')
const silent = pino({ level: 'silent' })

type Inbound = Extract<ProviderEvent, { type: 'inbound' }>
const inbound = (id: string, body: string, extra: Partial<Inbound> = {}): Inbound => ({
  type: 'inbound',
  providerMessageId: id,
  from: PHONE,
  to: '+15005550006',
  body,
  at: Date.now(),
  ...extra,
})

describe(`GDPR export, erasure and the audit log (${TEST_DB})`, () => {
  let t: TestSwitchboard

  before(async () => {
    t = await startTestSwitchboard({
      WORKER_THREAD: 'false',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      // Nothing listens there: deliveries wait in the outbox with their payloads.
      WEBHOOK_ENDPOINTS: JSON.stringify([{ url: 'http://127.0.0.1:9/hook', secret: SECRET }]),
    })
  })
  after(() => t.close())

  const store = () => t.sb.store
  const send = (payload: unknown, key?: string) =>
    t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...t.auth(), ...(key ? { 'idempotency-key': key } : {}) },
      payload: payload as Record<string, unknown>,
    })

  /** Every row of every table, as text. */
  async function everyRow(): Promise<Map<string, string>> {
    const db = store().db
    const tables =
      db.dialect === 'sqlite'
        ? await db.exec.query<{ name: string }>({
            sql: "SELECT name FROM sqlite_master WHERE type = 'table'",
            params: [],
            mode: 'rows',
          })
        : await db.exec.query<{ name: string }>({
            sql: 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()',
            params: [],
            mode: 'rows',
          })
    const out = new Map<string, string>()
    for (const { name } of tables) {
      const rows = await db.exec.query({ sql: `SELECT * FROM "${name}"`, params: [], mode: 'rows' })
      out.set(name, JSON.stringify(rows))
    }
    return out
  }

  test('export, then erase: nothing of the number or its bodies is left, its opt-out holds', async () => {
    // Outbound: a single send with an Idempotency-Key and a statusCallback, and a batch.
    const one = await send(
      {
        to: PHONE,
        body: BODIES[0],
        statusCallback: 'http://127.0.0.1:9/cb',
        metadata: { n: PHONE },
      },
      'erase-me-1',
    )
    assert.equal(one.statusCode, 202, one.body)
    const batch = await t.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: { ...t.auth(), 'idempotency-key': 'erase-me-batch' },
      payload: {
        messages: [
          { to: PHONE, body: BODIES[1] },
          { to: OTHER, body: KEPT_BODY },
        ],
      },
    })
    assert.equal(batch.statusCode, 202, batch.body)
    await waitFor(
      async () => {
        const rows = await store()
          .db.kysely.selectFrom('messages')
          .select('status')
          .where('direction', '=', 'outbound')
          .execute()
        return rows.length === 3 && rows.every((r) => r.status === 'delivered') ? true : undefined
      },
      15_000,
      'deliveries',
    )

    // Inbound: a whole SMS (message.received: an event and an outbox delivery) and a part of
    // a concatenated one still waiting for the rest.
    const s = store()
    const ingestor = new ReportIngestor(s, silent, Date.now, inboundEffects(s))
    await ingestor.ingest('simulator', [
      inbound('SMIN1', BODIES[2]),
      inbound('SMIN2', BODIES[3], { concat: { ref: '77', part: 1, total: 2 } }),
    ])
    // Consent: an opt-out of everything; the provider's own suppression of one sender.
    await s.tx(function* () {
      yield* s.consents.record([
        {
          phone: PHONE,
          action: 'opt_in',
          scope: 'marketing',
          source: 'api',
          at: Date.now() - 5000,
        },
        { phone: PHONE, action: 'opt_out', scope: 'all', source: 'keyword', at: Date.now() },
      ])
      yield* s.events.raise([
        { type: 'consent.changed', data: { phone: PHONE, scope: 'all' }, at: Date.now() },
      ])
    })
    await s.tx(() =>
      s.routing.suppress(
        [{ recipient: PHONE, senderKey: '+15005550006', provider: 'simulator', errorCode: 'x' }],
        Date.now(),
      ),
    )

    const before = await everyRow()
    for (const table of [
      'messages',
      'consents',
      'suppressions',
      'events',
      'webhook_deliveries',
      'idempotency_keys',
      'inbound_parts',
    ]) {
      assert.ok(before.get(table)?.includes(PHONE), `${table} holds the number before`)
    }

    // Export: everything held, by kind.
    const exp = await t.inject({
      method: 'GET',
      url: `/v1/privacy/export?phone=${encodeURIComponent(PHONE)}`,
      headers: t.auth(),
    })
    assert.equal(exp.statusCode, 200, exp.body)
    const data = exp.json<{ phone: string; data: Record<string, { body?: string }[]> }>()
    assert.equal(data.phone, PHONE)
    const d = data.data
    assert.deepEqual(
      d.messages?.map((m) => m.body).sort(),
      [BODIES[0], BODIES[1], BODIES[2]].sort(),
      'messages in both directions, no one else’s',
    )
    assert.equal(d.consents?.length, 2)
    assert.equal(d.suppressions?.length, 1)
    assert.equal(d.inboundParts?.length, 1)
    assert.ok((d.events?.length ?? 0) >= 2, 'message.received and consent.changed')
    assert.ok((d.webhookDeliveries?.length ?? 0) >= 4, 'status webhooks and events')
    assert.equal(d.idempotencyRecords?.length, 2)
    assert.ok((d.messageEvents?.length ?? 0) >= 9)
    assert.ok((d.sendAttempts?.length ?? 0) >= 2)

    const erased = await t.inject({
      method: 'POST',
      url: '/v1/privacy/erase',
      headers: t.auth(),
      payload: { phone: PHONE },
    })
    assert.equal(erased.statusCode, 200, erased.body)
    const r = erased.json<{ target: string; counts: Record<string, number>; optOutsKept: number }>()
    assert.match(r.target, /^phone:[0-9a-f]{64}$/)
    assert.equal(r.optOutsKept, 2, 'the opt-out of all and the provider suppression')
    assert.equal(r.counts.messages, 3)

    // Every table, every row: no number (E.164 or national digits), no erased body.
    const needles = [PHONE, NATIONAL, ...BODIES]
    for (const [table, text] of await everyRow()) {
      for (const n of needles) assert.ok(!text.includes(n), `${table} still holds ${n}`)
    }
    // The other recipient's message is untouched.
    const kept = await s.db.kysely
      .selectFrom('messages')
      .selectAll()
      .where('to_number', '=', OTHER)
      .execute()
    assert.equal(kept[0]?.body, KEPT_BODY)
    // Analytics stay: the erased rows keep status, segments, provider.
    const scrubbed = await s.db.kysely
      .selectFrom('messages')
      .selectAll()
      .where('to_number', '=', '')
      .execute()
    assert.equal(scrubbed.length, 2)
    for (const m of scrubbed) {
      assert.equal(m.status, 'delivered')
      assert.equal(m.provider, 'simulator')
      assert.equal(m.body, '')
    }

    if (s.dialect === 'sqlite') {
      // The raw bytes: the database file and its write-ahead log.
      const path = (t.config.database as { path: string }).path
      for (const file of [path, `${path}-wal`]) {
        if (!existsSync(file)) continue
        const bytes = readFileSync(file)
        for (const n of needles) {
          assert.equal(bytes.indexOf(Buffer.from(n, 'utf8')), -1, `${file} still holds ${n}`)
        }
      }
    }

    // The opt-outs survive: the consent state (what enforcement reads) and the suppression.
    const states = await s.tx(() => s.consents.states([PHONE]))
    assert.deepEqual(
      states.map((x) => [x.scope, x.status]),
      [['all', 'opted_out']],
    )
    assert.equal(await s.tx(() => s.privacy.isErasedOptOut(PHONE, null, 'transactional')), true)
    assert.equal(await s.tx(() => s.privacy.isErasedOptOut(OTHER, null, 'marketing')), false)
    assert.ok((await s.routing.suppressedAmong([PHONE])).has(`+15005550006|${PHONE}`))
    // A later opt-in (the person came back) wins over the erased opt-out, as any later entry.
    await s.tx(() =>
      s.consents.record([
        { phone: PHONE, action: 'opt_in', scope: 'all', source: 'web_form', at: Date.now() + 1000 },
      ]),
    )
    const again = await s.tx(() => s.consents.states([PHONE]))
    assert.deepEqual(
      again.map((x) => [x.scope, x.status]),
      [['all', 'opted_in']],
    )

    // The audit log names the erasure and the export by the keyed hash only.
    const audit = await t.inject({ method: 'GET', url: '/v1/audit?limit=2', headers: t.auth() })
    assert.equal(audit.statusCode, 200, audit.body)
    const entries = audit.json<{ data: { action: string; target: string; actor: string }[] }>().data
    assert.deepEqual(
      entries.map((e) => [e.action, e.target]),
      [
        ['privacy.erased', r.target],
        ['privacy.exported', r.target],
      ],
    )
    assert.ok(!audit.body.includes(NATIONAL))
  })

  test('an erasure of a number held nowhere is harmless; bad numbers get 422', async () => {
    const ok = await t.inject({
      method: 'POST',
      url: '/v1/privacy/erase',
      headers: t.auth(),
      payload: { phone: '+14155550177' },
    })
    assert.equal(ok.statusCode, 200)
    for (const res of [
      await t.inject({
        method: 'POST',
        url: '/v1/privacy/erase',
        headers: t.auth(),
        payload: { phone: 'abc' },
      }),
      await t.inject({ method: 'GET', url: '/v1/privacy/export?phone=12', headers: t.auth() }),
    ]) {
      assert.equal(res.statusCode, 422, res.body)
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'invalid_phone_number')
    }
    const read = await t.inject({
      method: 'GET',
      url: `/v1/privacy/export?phone=${encodeURIComponent(PHONE)}`,
      headers: t.auth(t.keys.read),
    })
    assert.equal(read.statusCode, 403)
  })

  test('keys created and revoked are audited with their actor; pages go newest first', async () => {
    const created = await t.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: t.auth(),
      payload: { name: 'audited', scopes: ['messages:read'] },
    })
    const id = created.json<{ id: string }>().id
    await t.inject({ method: 'POST', url: `/v1/keys/${id}/revoke`, headers: t.auth() })
    await t.inject({ method: 'POST', url: `/v1/keys/${id}/revoke`, headers: t.auth() })
    const admin = (await t.inject({ method: 'GET', url: '/v1/keys', headers: t.auth() }))
      .json<{ data: { id: string; name: string }[] }>()
      .data.find((k) => k.name === 'test admin')
    assert.ok(admin)

    const seen: { action: string; actor: string; target: string }[] = []
    let cursor: string | null = null
    do {
      const res: Awaited<ReturnType<TestSwitchboard['inject']>> = await t.inject({
        method: 'GET',
        url: `/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        headers: t.auth(),
      })
      assert.equal(res.statusCode, 200, res.body)
      const page = res.json<{ data: typeof seen; nextCursor: string | null }>()
      seen.push(...page.data)
      cursor = page.nextCursor
    } while (cursor)
    const mine = seen.filter((e) => e.target === id).map((e) => [e.action, e.actor])
    assert.deepEqual(mine, [
      ['api_key.revoked', admin.id],
      ['api_key.created', admin.id],
    ])
    // Keys made outside the API (first start, the harness) are audited as `system`.
    assert.ok(seen.some((e) => e.action === 'api_key.created' && e.actor === 'system'))
    const filtered = await t.inject({
      method: 'GET',
      url: '/v1/audit?action=api_key.revoked',
      headers: t.auth(),
    })
    assert.deepEqual(
      filtered.json<{ data: { target: string }[] }>().data.map((e) => e.target),
      [id],
    )
    const bad = await t.inject({ method: 'GET', url: '/v1/audit?cursor=nope', headers: t.auth() })
    assert.equal(bad.json<{ error: { code: string } }>().error.code, 'invalid_cursor')
  })

  test('a consent recorded through the API is audited with its actor, the number only hashed', async () => {
    const phone = '+14155550177'
    const res = await t.inject({
      method: 'POST',
      url: '/v1/consents',
      headers: t.auth(),
      payload: { phone, action: 'opt_in', scope: 'marketing', source: 'web_form' },
    })
    assert.equal(res.statusCode, 201, res.body)
    const audit = await t.inject({
      method: 'GET',
      url: '/v1/audit?action=consent.changed',
      headers: t.auth(),
    })
    assert.equal(audit.statusCode, 200, audit.body)
    const [entry] = audit.json<{
      data: { action: string; actor: string; target: string; details: Record<string, unknown> }[]
    }>().data
    assert.ok(entry)
    assert.match(entry.target, /^phone:[0-9a-f]{64}$/)
    assert.deepEqual(entry.details, { action: 'opt_in', scope: 'marketing', source: 'web_form' })
    assert.ok(!audit.body.includes('4155550177'), 'no number in clear')
  })
})

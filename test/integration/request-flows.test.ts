/**
 * Request rules beyond a single refusal: a batch answers per item (202 with registry codes),
 * cancel conflicts are 409, and input at the edge of the rules (invisible characters inside
 * text, a padded sender, multi-byte metadata, an empty JSON body on cancel) is accepted and
 * stored as documented rather than refused or altered.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import type { InjectOptions } from 'fastify'

import { errors, type ErrorCode } from '../../src/domain/errors.js'
import {
  optInToMarketing,
  startTestSwitchboard,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'
import { mulberry32 } from '../support/prng.js'
import { DAY, HOUR, VALID_TO, validMessage } from './bad-input/case.js'

/** Seeded, so every run sends exactly the same batches. */
const rand = mulberry32(0xbad_1d7)
const int = (n: number) => Math.floor(rand() * n)
function pick<T>(items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list')
  return items[int(items.length)] as T
}

interface ErrorPayload {
  code: string
  message: string
  details?: unknown
}

const REGISTRY = new Map<string, { status: number }>(Object.values(errors).map((d) => [d.code, d]))

let t: TestSwitchboard
let keys: TestSwitchboard['keys']
const itemCodes = new Map<string, number>()

before(async () => {
  t = await startTestSwitchboard()
  keys = t.keys
  await optInToMarketing(t, VALID_TO)
})

after(async () => {
  console.log('  batch item errors:', Object.fromEntries(itemCodes))
  await t?.close()
})

const send = (req: InjectOptions) => t.inject(req)

test('input at the edge of the rules is accepted and stored as documented', async () => {
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    send({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...t.auth(keys.write), ...headers },
      payload: payload as InjectOptions['payload'],
    })
  // Invisible characters inside visible text are kept.
  for (const body of ['ok\u200b', '\u200bok', '\u00a0x\u00a0']) {
    const res = await post({ to: VALID_TO, body })
    assert.equal(res.statusCode, 202, res.body)
    assert.equal(res.json<{ body: string }>().body, body)
  }
  // A sender with surrounding white space is stored trimmed.
  for (const [from, stored] of [
    ['  Acme  ', 'Acme'],
    ['\t12345 ', '12345'],
    [' +1 415 555 0101 ', '+14155550101'],
  ]) {
    const res = await post({ ...validMessage(), from })
    assert.equal(res.statusCode, 202, res.body)
    assert.equal(res.json<{ from: string }>().from, stored)
  }
  // Multi-byte metadata within 4,096 bytes: 2 x 650 euro signs are 3,900 bytes.
  const metadata = { a: '€'.repeat(650), b: '€'.repeat(650) }
  const meta = await post({ ...validMessage(), metadata })
  assert.equal(meta.statusCode, 202, meta.body)
  assert.deepEqual(meta.json<{ metadata: unknown }>().metadata, metadata)
  // A string value's limit counts characters: 1,024 euro signs (3,072 bytes) are fine.
  const long = await post({ ...validMessage(), metadata: { a: '€'.repeat(1024) } })
  assert.equal(long.statusCode, 202, long.body)
  // UTF-8 declared explicitly, in any spelling, is fine; and the caller's request id comes back.
  for (const contentType of [
    'application/json; charset=utf-8',
    'application/json;charset="UTF8"',
    'APPLICATION/JSON; CHARSET=UTF-8',
  ]) {
    const res = await post(JSON.stringify(validMessage()), {
      'content-type': contentType,
      'x-request-id': 'edge-1',
    })
    assert.equal(res.statusCode, 202, res.body)
    assert.equal(res.headers['x-request-id'], 'edge-1')
  }
  // Cancel with Content-Type: application/json and an empty body.
  const scheduled = await post({
    ...validMessage(),
    sendAt: new Date(Date.now() + HOUR).toISOString(),
  })
  const id = scheduled.json<{ id: string }>().id
  const cancel = await send({
    method: 'POST',
    url: `/v1/messages/${id}/cancel`,
    headers: { ...t.auth(keys.write), 'content-type': 'application/json' },
    payload: '',
  })
  assert.equal(cancel.statusCode, 200, cancel.body)
  assert.equal(cancel.json<{ status: string }>().status, 'canceled')
  assert.match(String(cancel.headers['x-request-id']), /^[0-9a-f-]{36}$/)
})

test('a batch mixing valid and invalid items is a 202 with registry codes per item', async () => {
  const inAnHour = new Date(Date.now() + HOUR).toISOString()
  const pool: { item: Record<string, unknown>; code: ErrorCode | null }[] = [
    { item: validMessage(), code: null },
    { item: { to: '+447911123456', body: 'Hi from the UK test' }, code: null },
    { item: { ...validMessage(), from: 'Switchboard', type: 'marketing' }, code: null },
    { item: { ...validMessage(), from: '12345', sendAt: inAnHour }, code: null },
    { item: { ...validMessage(), to: '+1' }, code: 'invalid_phone_number' },
    { item: { ...validMessage(), to: 'not a number' }, code: 'invalid_phone_number' },
    { item: { ...validMessage(), to: "'; DROP TABLE messages; --" }, code: 'invalid_phone_number' },
    { item: { ...validMessage(), from: 'AB!@#' }, code: 'invalid_sender' },
    { item: { ...validMessage(), from: 'TWELVECHARSX' }, code: 'invalid_sender' },
    { item: { ...validMessage(), from: '+1' }, code: 'invalid_phone_number' },
    { item: { ...validMessage(), sendAt: '2000-01-01T00:00:00Z' }, code: 'invalid_send_at' },
    {
      item: { ...validMessage(), sendAt: new Date(Date.now() + 400 * DAY).toISOString() },
      code: 'invalid_send_at',
    },
    { item: { ...validMessage(), body: 'x'.repeat(1531) }, code: 'segment_limit_exceeded' },
    { item: { ...validMessage(), body: '😀'.repeat(400) }, code: 'segment_limit_exceeded' },
    { item: { ...validMessage(), body: '   ' }, code: 'validation_failed' },
    { item: { ...validMessage(), body: '\u200b\u2060' }, code: 'validation_failed' },
    { item: { ...validMessage(), body: 'ok\u200b' }, code: null },
    { item: { ...validMessage(), from: '  Acme ' }, code: null },
    {
      item: {
        ...validMessage(),
        metadata: Object.fromEntries(
          Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'.repeat(90)]),
        ),
      },
      code: 'validation_failed',
    },
  ]
  const valid = pool.filter((p) => p.code === null)
  const invalid = pool.filter((p) => p.code !== null)
  for (let b = 0; b < 8; b++) {
    const size = 2 + int(40)
    const chosen = Array.from({ length: size }, (_, i) =>
      i === 0 ? pick(valid) : i === 1 ? pick(invalid) : pick(pool),
    ).sort(() => (rand() < 0.5 ? -1 : 1))
    const res = await send({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: t.auth(keys.write),
      payload: { messages: chosen.map((c) => c.item) },
    })
    assert.equal(res.statusCode, 202, res.body)
    const out = res.json<{
      accepted: number
      failed: number
      data: { index: number; message?: { id: string }; error?: ErrorPayload }[]
    }>()
    const expectedFailed = chosen.filter((c) => c.code !== null).length
    assert.equal(out.failed, expectedFailed)
    assert.equal(out.accepted, size - expectedFailed)
    assert.equal(out.data.length, size)
    out.data.forEach((entry, i) => {
      assert.equal(entry.index, i)
      const want = chosen[i]?.code ?? null
      if (want === null) {
        assert.match(entry.message?.id ?? '', /^msg_[0-9A-Z]{26}$/, `item ${i}`)
        assert.equal(entry.error, undefined)
      } else {
        assert.ok(entry.error, `item ${i} should have failed with ${want}`)
        assert.ok(REGISTRY.has(entry.error.code), `item ${i}: ${entry.error.code} not in registry`)
        assert.equal(entry.error.code, want, `item ${i}`)
        assert.equal(typeof entry.error.message, 'string')
        assert.equal(entry.message, undefined)
        itemCodes.set(entry.error.code, (itemCodes.get(entry.error.code) ?? 0) + 1)
      }
    })
  }
})

test('a message no longer scheduled or queued: cancel is 409 message_not_cancelable', async () => {
  const post = (url: string, payload?: unknown) =>
    send({ method: 'POST', url, headers: t.auth(keys.write), ...(payload ? { payload } : {}) })
  const scheduledRes = await post('/v1/messages', {
    ...validMessage(),
    sendAt: new Date(Date.now() + HOUR).toISOString(),
  })
  const id = scheduledRes.json<{ id: string }>().id
  assert.equal((await post(`/v1/messages/${id}/cancel`)).statusCode, 200)
  const twice = await post(`/v1/messages/${id}/cancel`)
  assert.equal(twice.statusCode, 409, twice.body)
  assert.equal(twice.json<{ error: ErrorPayload }>().error.code, 'message_not_cancelable')

  const sent = (await post('/v1/messages', validMessage())).json<{ id: string }>().id
  await waitFor(
    async () => {
      const m = await t.inject({
        method: 'GET',
        url: `/v1/messages/${sent}`,
        headers: t.auth(keys.read),
      })
      return m.json<{ status: string }>().status === 'delivered' ? true : undefined
    },
    10_000,
    'delivery',
  )
  const late = await post(`/v1/messages/${sent}/cancel`)
  assert.equal(late.statusCode, 409, late.body)
  assert.equal(late.json<{ error: ErrorPayload }>().error.code, 'message_not_cancelable')
})

test('afterwards the server still answers a valid send correctly', async () => {
  const payload = {
    to: '+1 (415) 555-0100',
    body: "'; DROP TABLE messages; -- <script>{{x}}</script>",
  }
  const res = await send({
    method: 'POST',
    url: '/v1/messages',
    headers: t.auth(keys.write),
    payload,
  })
  assert.equal(res.statusCode, 202, res.body)
  const msg = res.json<{ id: string; to: string; body: string; status: string }>()
  assert.match(msg.id, /^msg_[0-9A-Z]{26}$/)
  assert.equal(msg.to, VALID_TO)
  assert.equal(msg.body, payload.body)
  assert.equal(msg.status, 'queued')
  const delivered = await waitFor(
    async () => {
      const m = await t.inject({
        method: 'GET',
        url: `/v1/messages/${msg.id}`,
        headers: t.auth(keys.read),
      })
      const body = m.json<{ status: string; body: string; events: { status: string }[] }>()
      return body.status === 'delivered' ? body : undefined
    },
    10_000,
    'delivery',
  )
  assert.equal(delivered.body, payload.body)
  assert.deepEqual(
    delivered.events.map((e) => e.status),
    ['queued', 'sending', 'sent', 'delivered'],
  )
  const list = await t.inject({
    method: 'GET',
    url: `/v1/messages?to=${encodeURIComponent(VALID_TO)}&limit=5`,
    headers: t.auth(keys.read),
  })
  assert.equal(list.statusCode, 200, list.body)
  assert.equal(list.json<{ data: { id: string }[] }>().data[0]?.id, msg.id)
})

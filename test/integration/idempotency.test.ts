/**
 * Idempotency-Key: a retry replays the first answer byte for byte, a key reused with another
 * payload or route is refused, a duplicate that arrives while the first is in flight gets 409,
 * and cancel honours keys too; a broken rule would store a message twice or answer wrongly.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import type { InjectOptions } from 'fastify'

import { InFlightKeys } from '../../src/domain/idempotency/idempotency.js'
import {
  optInToMarketing,
  startTestSwitchboard,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'
import { HOUR, VALID_TO, validMessage } from './bad-input/case.js'

interface ErrorPayload {
  code: string
  message: string
  details?: unknown
}

let t: TestSwitchboard
let keys: TestSwitchboard['keys']

before(async () => {
  // The in-flight case holds intake inside this thread's store transaction: no background thread.
  t = await startTestSwitchboard({ WORKER_THREAD: 'false' })
  keys = t.keys
  await optInToMarketing(t, VALID_TO)
})

after(async () => {
  await t?.close()
})

const send = (req: InjectOptions) => t.inject(req)

test('Idempotency-Key: replay, reuse with another payload, a duplicate in flight', async () => {
  const headers = (key: string) => ({ ...t.auth(keys.write), 'idempotency-key': key })
  const sendWith = (key: string, payload: object, url = '/v1/messages') =>
    send({ method: 'POST', url, headers: headers(key), payload })

  // Same key, same payload (keys in another order): the first answer is replayed.
  const first = await sendWith('replay-1', { to: VALID_TO, body: 'replay me', type: 'marketing' })
  assert.equal(first.statusCode, 202, first.body)
  assert.equal(first.headers['idempotent-replayed'], undefined)
  const again = await sendWith('replay-1', { type: 'marketing', body: 'replay me', to: VALID_TO })
  assert.equal(again.statusCode, 202, again.body)
  assert.equal(again.headers['idempotent-replayed'], 'true')
  assert.equal(again.json<{ id: string }>().id, first.json<{ id: string }>().id)
  assert.equal(again.body, first.body)

  // Same key, another payload or another route: 422 idempotency_key_reused.
  for (const [payload, url] of [
    [{ to: VALID_TO, body: 'replay me!', type: 'marketing' }, '/v1/messages'],
    [{ to: VALID_TO, body: 'replay me' }, '/v1/messages'],
    [{ messages: [{ to: VALID_TO, body: 'replay me', type: 'marketing' }] }, '/v1/messages/batch'],
  ] as const) {
    const res = await sendWith('replay-1', payload, url)
    assert.equal(res.statusCode, 422, res.body)
    assert.equal(res.json<{ error: ErrorPayload }>().error.code, 'idempotency_key_reused')
  }
  // Another API key has its own key space: the same key is new there.
  const other = await send({
    method: 'POST',
    url: '/v1/messages',
    headers: { ...t.auth(keys.admin), 'idempotency-key': 'replay-1' },
    payload: { to: VALID_TO, body: 'replay me', type: 'marketing' },
  })
  assert.equal(other.statusCode, 202, other.body)
  assert.notEqual(other.json<{ id: string }>().id, first.json<{ id: string }>().id)

  // A 255-character key is fine; a 256-character one is not (also checked in the corpus).
  const long = await sendWith('k'.repeat(255), validMessage())
  assert.equal(long.statusCode, 202, long.body)

  // Concurrent duplicate: hold the first request inside its database write (every store
  // transaction waits on a gate), watch the in-flight registry until it holds the key, then
  // send the same key again: 409 idempotency_request_in_progress, for the same payload or not.
  const store = t.sb.store
  const originalTx = store.tx.bind(store)
  const tryBegin = Object.getOwnPropertyDescriptor(InFlightKeys.prototype, 'tryBegin')
  assert.ok(tryBegin && typeof tryBegin.value === 'function')
  const originalTryBegin = tryBegin.value as (scope: string, key: string) => boolean
  const began: { key: string; ok: boolean }[] = []
  let open!: () => void
  const gate = new Promise<void>((resolve) => (open = resolve))
  store.tx = async (program) => {
    await gate
    return originalTx(program)
  }
  InFlightKeys.prototype.tryBegin = function (this: InFlightKeys, scope: string, key: string) {
    const ok = originalTryBegin.call(this, scope, key)
    began.push({ key, ok })
    return ok
  }
  try {
    const payload = { to: VALID_TO, body: 'slow first request' }
    const slow = sendWith('in-flight-1', payload)
    await waitFor(
      () => (began.some((b) => b.key === 'in-flight-1' && b.ok) ? true : undefined),
      5000,
      'the first request to be in flight',
    )
    for (const p of [payload, { ...payload, body: 'different payload' }]) {
      const dup = await sendWith('in-flight-1', p)
      assert.equal(dup.statusCode, 409, dup.body)
      assert.equal(
        dup.json<{ error: ErrorPayload }>().error.code,
        'idempotency_request_in_progress',
      )
    }
    assert.deepEqual(
      began.filter((b) => b.key === 'in-flight-1').map((b) => b.ok),
      [true, false, false],
    )
    let settled = false
    void slow.then(() => (settled = true))
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(settled, false, 'the first request finished while its write was held')
    open()
    const done = await slow
    assert.equal(done.statusCode, 202, done.body)
    // Finished: the same key now replays the first answer.
    const replay = await sendWith('in-flight-1', payload)
    assert.equal(replay.statusCode, 202, replay.body)
    assert.equal(replay.headers['idempotent-replayed'], 'true')
    assert.equal(replay.json<{ id: string }>().id, done.json<{ id: string }>().id)
  } finally {
    open()
    Reflect.deleteProperty(store, 'tx') // back to the prototype's method
    Object.defineProperty(InFlightKeys.prototype, 'tryBegin', tryBegin)
  }

  // Cancel with a key: replayed for the same message, reused for another one.
  const scheduled = async () => {
    const res = await send({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(keys.write),
      payload: { ...validMessage(), sendAt: new Date(Date.now() + HOUR).toISOString() },
    })
    assert.equal(res.statusCode, 202, res.body)
    return res.json<{ id: string }>().id
  }
  const [a, b] = [await scheduled(), await scheduled()]
  const cancel = (id: string) => sendWith('cancel-1', {}, `/v1/messages/${id}/cancel`)
  const c1 = await cancel(a)
  assert.equal(c1.statusCode, 200, c1.body)
  const c2 = await cancel(a)
  assert.equal(c2.statusCode, 200, c2.body)
  assert.equal(c2.headers['idempotent-replayed'], 'true')
  const c3 = await cancel(b)
  assert.equal(c3.statusCode, 422, c3.body)
  assert.equal(c3.json<{ error: ErrorPayload }>().error.code, 'idempotency_key_reused')
})

// Risk covered: the send worker's side of pacing. A send that waits for its slot times out before
// its request starts, waiting sends take the worker's concurrency from other senders, or a send
// handed back by the pacer is lost or counted as an attempt.
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { prepareMessage } from '../../src/domain/messages/prepare.js'
import type { SmsProvider } from '../../src/providers/provider.js'
import { PacingDeferred } from '../../src/queue/pacing/pacer.js'
import { SendWorker, type PaceFn } from '../../src/queue/send.worker.js'
import { packRows } from '../../src/store/rows.js'
import type { Store } from '../../src/store/store.js'
import { openTestStore, TEST_DB, waitFor } from '../support/harness.js'

let opened: Awaited<ReturnType<typeof openTestStore>>
let store: Store
let worker: SendWorker | undefined

before(async () => {
  opened = await openTestStore()
  store = opened.store
})
afterEach(async () => {
  await worker?.stop(2000)
  worker = undefined
  await store.db.kysely.deleteFrom('message_events').execute()
  await store.db.kysely.deleteFrom('messages').execute()
})
after(() => opened.close())

const config = (env: Record<string, string> = {}) =>
  loadConfig({ LOG_LEVEL: 'silent', WORKER_POLL_MS: '5', ...env }).worker

/** Queues messages from `from`, due in the order given. */
async function queue(from: string, count: number, first = 0): Promise<string[]> {
  const now = Date.now()
  const policy = loadConfig({}).messages
  const messages = Array.from({ length: count }, (_, i) => {
    const r = prepareMessage(
      { to: `+1415555${String(4000 + first + i)}`, body: 'hello', from },
      { apiKeyId: null, now, policy },
    )
    if (!r.ok) throw new Error('bad fixture')
    return { ...r.message, next_attempt_at: now - 10_000 + first + i }
  })
  await store.tx(() =>
    store.messages.insertSubmissions([{ idempotency: null, rows: packRows(messages) }]),
  )
  return messages.map((m) => m.id)
}

function recordingProvider(): SmsProvider & { sent: { id: string; aborted: boolean }[] } {
  const sent: { id: string; aborted: boolean }[] = []
  return {
    name: 'gateway',
    type: 'fake',
    deduplicates: false,
    sent,
    send: async (sms, signal) => {
      sent.push({ id: sms.id, aborted: signal.aborted })
      return { outcome: 'accepted', providerMessageIds: [`G-${sms.id}`] }
    },
  }
}

function start(pace: PaceFn, provider: SmsProvider, env: Record<string, string> = {}) {
  worker = new SendWorker({
    store,
    providers: new Map([[provider.name, provider]]),
    config: config(env),
    logger: pino({ level: 'silent' }),
    pace,
  })
  worker.start()
}

test(`a send's timeout starts with its request, not while it waits for its slot (${TEST_DB})`, async () => {
  const [id] = await queue('+14155550001', 1)
  const provider = recordingProvider()
  // The slot comes three provider timeouts after the claim.
  start(() => new Promise((resolve) => setTimeout(resolve, 300)), provider, {
    PROVIDER_TIMEOUT_MS: '100',
  })
  await waitFor(() => (provider.sent.length === 1 ? true : undefined), 5000, 'the send')
  assert.deepEqual(provider.sent, [{ id, aborted: false }])
})

test(`sends waiting for a slow sender's slots leave the worker's concurrency to others (${TEST_DB})`, async () => {
  await queue('+14155550002', 4)
  const fast = await queue('+14155550003', 4, 100)
  const provider = recordingProvider()
  // The slow sender's next slot never comes while the test runs; it goes back when stopped.
  const pace: PaceFn = (_provider, sender, _segments, signal) =>
    sender === '+14155550002'
      ? new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(new PacingDeferred(Date.now()))),
        )
      : Promise.resolve()
  start(pace, provider, { WORKER_CONCURRENCY: '4', WORKER_BATCH_SIZE: '4' })
  await waitFor(() => (provider.sent.length === 4 ? true : undefined), 5000, 'the fast sends')
  assert.deepEqual(provider.sent.map((s) => s.id).sort(), [...fast].sort())
})

test(`a send the pacer hands back is queued again until its slot, its attempt not counted (${TEST_DB})`, async () => {
  const [id] = await queue('+14155550004', 1)
  const provider = recordingProvider()
  const at = Date.now() + 60_000
  let asked = 0
  start(() => {
    asked++
    return Promise.reject(new PacingDeferred(at))
  }, provider)
  await waitFor(
    async () =>
      (await store.getMessage(id as string))?.status === 'queued' && asked > 0 ? true : undefined,
    5000,
    'the hand-back',
  )
  const m = await store.getMessage(id as string)
  assert.equal(m?.attempts, 0)
  assert.equal(m?.next_attempt_at, at)
  assert.equal(m?.error_code, null)
  const events = await store.listEvents(id as string)
  assert.deepEqual(
    events.map((e) => e.status),
    ['queued', 'sending', 'queued'],
  )
  assert.match(events.at(-1)?.detail ?? '', /^not sent; retry at /)
  assert.equal(provider.sent.length, 0)
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import type { MessageRecord } from '../domain/messages/message.js'
import { prepareMessage } from '../domain/messages/prepare.js'
import { PriceTable } from '../domain/routing/prices.js'
import { ProviderMonitor } from '../domain/routing/provider-monitor.js'
import type { Route } from '../domain/routing/route.js'
import { Router } from '../domain/routing/router.js'
import type { OutboundSms, SendResult, SmsProvider } from '../providers/provider.js'
import { Dispatcher, noPacing, type Dispatched, type PaceFn } from './dispatch.js'

const NOW = 1_800_000_000_000
const COOLDOWN = 10_000
const POLICY = { retryBaseMs: 1000, retryMaxMs: 60_000, maxAttempts: 5 }

interface Fake extends SmsProvider {
  sent: OutboundSms[]
  answer: (sms: OutboundSms, signal: AbortSignal) => Promise<SendResult> | SendResult
}

function fake(name: string, deduplicates = true): Fake {
  const p: Fake = {
    name,
    type: 'fake',
    deduplicates,
    sent: [],
    answer: (sms) => ({ outcome: 'accepted', providerMessageIds: [`${name}-${sms.id}`] }),
    send: async (sms, signal) => {
      p.sent.push(sms)
      return p.answer(sms, signal)
    },
  }
  return p
}

function setup(
  o: {
    routes?: Route[]
    failures?: number
    pace?: PaceFn
    timeoutMs?: number
    dedupe?: boolean
    reveal?: ConstructorParameters<typeof Dispatcher>[0]['reveal']
  } = {},
) {
  const a = fake('a', o.dedupe ?? true)
  const b = fake('b', o.dedupe ?? true)
  const providers = new Map<string, SmsProvider>([
    ['a', a],
    ['b', b],
  ])
  const clock = { now: NOW }
  const monitor = new ProviderMonitor(['a', 'b'], {
    failures: o.failures ?? 3,
    cooldownMs: COOLDOWN,
  })
  const d = new Dispatcher({
    providers,
    router: new Router(
      o.routes ?? [{ providers: ['a', 'b'], senders: [], failoverOnTimeout: false }],
    ),
    monitor,
    prices: new PriceTable([
      { provider: 'a', country: 'US', price: 0.0079, currency: 'USD' },
      { provider: 'b', country: '*', price: 0.01, currency: 'EUR' },
    ]),
    pace: o.pace ?? noPacing,
    policy: POLICY,
    providerTimeoutMs: o.timeoutMs ?? 1000,
    logger: pino({ level: 'silent' }),
    now: () => clock.now,
    random: () => 1,
    ...(o.reveal ? { reveal: o.reveal } : {}),
  })
  const never = new AbortController().signal
  const run = (m: MessageRecord, suppressed: ReadonlySet<string> = new Set()) =>
    d.dispatch(m, never, suppressed)
  return { a, b, d, monitor, clock, run }
}

let seq = 0
/** A claimed message (attempts counted), as the store hands it to dispatch. */
function message(o: Partial<MessageRecord> & { body?: string } = {}): MessageRecord {
  const r = prepareMessage(
    { to: '+12125550100', body: o.body ?? 'hello' },
    { apiKeyId: null, now: NOW, policy: POLICY_MESSAGES },
  )
  assert.ok(r.ok)
  return { ...r.message, id: `msg_${String(++seq)}`, status: 'sending', attempts: 1, ...o }
}
const POLICY_MESSAGES = {
  defaultCountry: undefined,
  maxSegments: 10,
  smartEncoding: false,
  defaultValidityPeriod: 3600,
  maxValidityPeriod: 86_400,
  maxScheduleAheadSeconds: 86_400,
  allowPremiumDestinations: false,
  allowPrivateCallbacks: false,
}

/** The message as the store keeps it after `d` (what the next claim hands to dispatch). */
function after(m: MessageRecord, d: Dispatched): MessageRecord {
  assert.ok(d.kind === 'retry' || d.kind === 'release', `expected a retry, got ${d.kind}`)
  return {
    ...m,
    provider: d.kind === 'retry' ? d.provider : m.provider,
    error_code: d.errorCode ?? m.error_code,
    attempts: d.kind === 'retry' ? m.attempts + 1 : m.attempts,
  }
}

const unavailable: SendResult = { outcome: 'retry', code: 'provider_unavailable' }
const unknown: SendResult = { outcome: 'unknown', code: 'provider_outcome_unknown' }

test('a message goes to the first instance of its route, with its estimated cost', async () => {
  const { a, b, run } = setup()
  const d = await run(message({ body: 'x'.repeat(200) })) // 2 segments
  assert.equal(d.kind, 'sent')
  assert.equal(a.sent.length, 1)
  assert.equal(b.sent.length, 0)
  assert.ok(d.kind === 'sent')
  assert.deepEqual(d.providerMessageIds, [`a-${d.id}`])
  assert.deepEqual(d.estimatedCost, { amount: 0.0158, currency: 'USD' })
  assert.equal(d.attempt?.provider, 'a')
  assert.deepEqual(d.attempt?.cost, { amount: 0.0158, currency: 'USD' })
})

test('a retryable failure sends the next attempt to the next instance, at once', async () => {
  const { a, b, run } = setup()
  a.answer = () => ({ ...unavailable, after: 30_000 })
  const m = message()
  const first = await run(m)
  // Failing over: no backoff, and the first instance's Retry-After is its own.
  assert.deepEqual(
    { ...first, attempt: undefined },
    {
      kind: 'retry',
      id: m.id,
      provider: 'a',
      nextAttemptAt: NOW,
      errorCode: 'provider_unavailable',
      errorMessage: null,
      attempt: undefined,
    },
  )
  const second = await run(after(m, first))
  assert.equal(second.kind, 'sent')
  assert.equal(b.sent.length, 1)
  assert.equal(b.sent[0]?.attempt, 2)
  // Priced as b prices it: its "*" entry, in its currency.
  assert.ok(second.kind === 'sent')
  assert.deepEqual(second.estimatedCost, { amount: 0.01, currency: 'EUR' })
})

test('failing on the last instance waits for the backoff (and Retry-After) before going round', async () => {
  const { a, b, run } = setup()
  a.answer = () => unavailable
  b.answer = () => ({ ...unavailable, after: 5000 })
  const m = message()
  const first = await run(m)
  const second = await run(after(m, first))
  assert.ok(second.kind === 'retry')
  assert.equal(second.provider, 'b')
  assert.equal(second.nextAttemptAt, NOW + 5000)
})

test('CIRCUIT_FAILURES consecutive failures open the circuit: new messages skip the instance', async () => {
  const { a, b, run, monitor, clock } = setup({ failures: 3 })
  a.answer = () => unavailable
  for (let i = 0; i < 3; i++) await run(message())
  assert.equal(monitor.snapshot(clock.now)[0]?.circuit.state, 'open')
  const d = await run(message())
  assert.equal(d.kind, 'sent')
  assert.equal(a.sent.length, 3)
  assert.equal(b.sent.length, 1)
  // After the cooldown one probe goes to the primary; it answers, and the circuit closes.
  a.answer = (sms) => ({ outcome: 'accepted', providerMessageIds: [`a-${sms.id}`] })
  clock.now += COOLDOWN
  assert.ok((await run(message())).kind === 'sent')
  assert.equal(a.sent.length, 4)
  assert.equal(monitor.snapshot(clock.now)[0]?.circuit.state, 'closed')
  await run(message())
  assert.equal(a.sent.length, 5)
})

test('refused credentials open the circuit at once', async () => {
  const { a, b, run, monitor, clock } = setup({ failures: 5 })
  a.answer = () => ({ outcome: 'retry', code: 'provider_auth_failed', fault: 'instance' })
  await run(message())
  assert.equal(monitor.snapshot(clock.now)[0]?.circuit.state, 'open')
  await run(message())
  assert.equal(a.sent.length, 1)
  assert.equal(b.sent.length, 1)
})

test('every instance open: the message waits for the first probe without using an attempt', async () => {
  const { a, b, run, clock } = setup({ failures: 1 })
  a.answer = () => unavailable
  b.answer = () => unavailable
  await run(message())
  clock.now += 100
  await run(message())
  const m = message()
  const d = await run(m)
  assert.deepEqual(d, {
    kind: 'release',
    id: m.id,
    nextAttemptAt: NOW + COOLDOWN,
    errorCode: 'no_provider_available',
  })
  assert.equal(a.sent.length + b.sent.length, 2)
  // Never past its validity: it is then claimed and expires.
  const short = message({ valid_until: NOW + 5000 })
  assert.equal(((await run(short)) as { nextAttemptAt: number }).nextAttemptAt, NOW + 5000)
})

test('an unknown outcome goes back to the same instance when it deduplicates', async () => {
  const { a, b, run } = setup({ dedupe: true })
  a.answer = () => unknown
  const m = message()
  const first = await run(m)
  assert.ok(first.kind === 'retry')
  assert.equal(first.errorCode, 'provider_outcome_unknown')
  assert.equal(first.nextAttemptAt, NOW + 1000) // backoff, not failover
  a.answer = (sms) => ({ outcome: 'accepted', providerMessageIds: [`a-${sms.id}`] })
  const second = await run(after(m, first))
  assert.equal(second.kind, 'sent')
  assert.equal(a.sent.length, 2)
  assert.equal(b.sent.length, 0)
})

test('pinned after an unknown outcome, it waits for that instance while its circuit is open', async () => {
  const { a, b, run } = setup({ failures: 1 })
  a.answer = () => unknown
  const m = message()
  const first = await run(m)
  const d = await run(after(m, first))
  assert.deepEqual(d, {
    kind: 'release',
    id: m.id,
    nextAttemptAt: NOW + COOLDOWN,
    errorCode: 'provider_outcome_unknown',
  })
  assert.equal(b.sent.length, 0)
})

test('an unknown outcome is not sent again when the instance cannot deduplicate', async () => {
  const { a, b, run } = setup({ dedupe: false })
  a.answer = () => unknown
  const m = message()
  const d = await run(m)
  assert.deepEqual(
    { ...d, attempt: undefined },
    {
      kind: 'sent',
      id: m.id,
      provider: 'a',
      sender: null,
      providerMessageIds: [],
      errorCode: 'provider_outcome_unknown',
      errorMessage: 'the provider may have sent it; it is not sent again',
      attempt: undefined,
    },
  )
  assert.equal(d.kind === 'sent' && d.attempt?.outcome, 'unknown')
  // It may have been taken: its cost is counted.
  assert.deepEqual(d.kind === 'sent' && d.attempt?.cost, { amount: 0.0079, currency: 'USD' })
  assert.equal(b.sent.length, 0)
})

test('with failoverOnTimeout an unknown outcome moves on to the next instance', async () => {
  const { a, b, run } = setup({
    dedupe: false,
    routes: [{ providers: ['a', 'b'], senders: [], failoverOnTimeout: true }],
  })
  a.answer = () => unknown
  const m = message()
  const first = await run(m)
  assert.ok(first.kind === 'retry')
  assert.equal(first.nextAttemptAt, NOW)
  assert.equal((await run(after(m, first))).kind, 'sent')
  assert.equal(b.sent.length, 1)
})

test('out of attempts after an unknown outcome, it stays sent (outcome unknown), not failed', async () => {
  const { a, run } = setup({ dedupe: true })
  a.answer = () => unknown
  const d = await run(message({ attempts: POLICY.maxAttempts }))
  assert.equal(d.kind, 'sent')
  assert.equal(d.kind === 'sent' && d.errorCode, 'provider_outcome_unknown')
  // A retryable answer on the last attempt fails as before.
  a.answer = () => unavailable
  const failed = await run(message({ attempts: POLICY.maxAttempts }))
  assert.equal(failed.kind === 'final' && failed.errorCode, 'max_attempts_exceeded')
})

test('an opted-out recipient is suppressed for the sender, and not sent to again', async () => {
  const { a, run } = setup({
    routes: [{ providers: ['a'], senders: [{ from: '+14155550100' }], failoverOnTimeout: false }],
  })
  a.answer = () => ({ outcome: 'rejected', code: 'recipient_opted_out', suppress: true })
  const m = message()
  const d = await run(m)
  assert.ok(d.kind === 'final')
  assert.equal(d.errorCode, 'recipient_opted_out')
  assert.deepEqual(d.suppression, {
    recipient: '+12125550100',
    senderKey: '+14155550100',
    provider: 'a',
    errorCode: 'recipient_opted_out',
  })
  assert.equal(d.attempt?.cost, undefined) // refused: not billed
  const later = await run(message(), new Set(['+14155550100|+12125550100']))
  assert.ok(later.kind === 'final')
  assert.equal(later.errorCode, 'recipient_opted_out')
  assert.equal(a.sent.length, 1, 'not sent')
  // Another sender to the same number still goes out.
  a.answer = (sms) => ({ outcome: 'accepted', providerMessageIds: [`a-${sms.id}`] })
  const other = await run(message({ from_number: 'ACME' }), new Set(['+14155550100|+12125550100']))
  assert.equal(other.kind, 'sent')
  assert.equal(a.sent[1]?.from, 'ACME')
})

test('without a sender the suppression is keyed by the instance (its default sender)', async () => {
  const { a, run } = setup()
  a.answer = () => ({ outcome: 'rejected', code: 'recipient_opted_out', suppress: true })
  const d = await run(message())
  assert.equal(d.kind === 'final' && d.suppression?.senderKey, '@a')
  const later = await run(message(), new Set(['@a|+12125550100']))
  assert.equal(later.kind === 'final' && later.errorCode, 'recipient_opted_out')
  assert.equal(a.sent.length, 1)
})

test('a sticky sender goes out as from, and pacing is asked for instance, sender and segments', async () => {
  const calls: unknown[] = []
  const { a, run } = setup({
    routes: [{ providers: ['a'], senders: [{ from: 'ACME' }], failoverOnTimeout: false }],
    pace: async (...args) => {
      calls.push(args.slice(0, 3))
    },
  })
  const d = await run(message({ body: 'x'.repeat(200) }))
  assert.equal(d.kind === 'sent' && d.sender, 'ACME')
  assert.equal(a.sent[0]?.from, 'ACME')
  assert.deepEqual(calls, [['a', 'ACME', 2]])
})

test('a pacing wait that is cut short releases the message and gives back a probe', async () => {
  const { a, monitor, clock, run } = setup({
    failures: 1,
    pace: () => Promise.reject(new DOMException('paced out', 'AbortError')),
  })
  const m = message({ error_code: 'provider_unavailable' })
  assert.deepEqual(await run(m), { kind: 'release', id: m.id, nextAttemptAt: NOW, errorCode: null })
  assert.equal(a.sent.length, 0)
  monitor.record('a', false, 'failure', 1, NOW)
  clock.now += COOLDOWN
  await run(message())
  // The probe it took was handed back: the next one may probe.
  assert.deepEqual(monitor.admit('a', clock.now), { admitted: true, probe: true })
})

test('a pacer that hands the send back with a time queues it until then, within its validity', async () => {
  const deferred = (at: number) => Object.assign(new Error('paced'), { name: 'PacingDeferred', at })
  let at = NOW + 2000
  const { a, run } = setup({ pace: () => Promise.reject(deferred(at)) })
  const m = message()
  assert.deepEqual(await run(m), {
    kind: 'release',
    id: m.id,
    nextAttemptAt: NOW + 2000,
    errorCode: null,
  })
  at = NOW + 10_000_000
  const short = message({ valid_until: NOW + 5000 })
  assert.deepEqual(await run(short), {
    kind: 'release',
    id: short.id,
    nextAttemptAt: NOW + 5000,
    errorCode: null,
  })
  assert.equal(a.sent.length, 0)
})

test("each send's timeout starts when its request starts, after pacing", async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const turn = () => new Promise((r) => setImmediate(r))
  let signal: AbortSignal | undefined
  const { a, run } = setup({
    timeoutMs: 40,
    pace: () => new Promise((r) => setTimeout(r, 80)),
  })
  a.answer = async (_sms, s) => {
    signal = s
    await new Promise((r) => s.addEventListener('abort', r, { once: true }))
    return unknown
  }
  const sending = run(message())
  await turn()
  t.mock.timers.tick(80) // the pacing wait ends: the request starts now
  await turn()
  assert.equal(signal?.aborted, false, 'the pacing wait used none of the send timeout')
  t.mock.timers.tick(39)
  await turn()
  assert.equal(signal?.aborted, false)
  t.mock.timers.tick(1)
  assert.equal(signal?.aborted, true, 'aborted PROVIDER_TIMEOUT_MS after the request started')
  assert.equal((await sending).kind, 'retry')
})

test('an expired message is neither paced nor sent, nor one that expires while paced', async () => {
  const clock = { paced: 0 }
  const s = setup({
    pace: async () => {
      clock.paced++
      s.clock.now += 10_000
    },
  })
  const late = await s.run(message({ valid_until: NOW }))
  assert.equal(late.kind === 'final' && late.errorCode, 'validity_expired')
  assert.equal(clock.paced, 0)
  const expiring = await s.run(message({ valid_until: NOW + 5000 }))
  assert.equal(expiring.kind === 'final' && expiring.errorCode, 'validity_expired')
  assert.equal(clock.paced, 1)
  assert.equal(s.a.sent.length, 0)
})

test('a message no route accepts any more fails with no_route, unsent', async () => {
  const { a, run } = setup({
    routes: [
      { match: { type: 'marketing' }, providers: ['a'], senders: [], failoverOnTimeout: false },
    ],
  })
  const unrouted = await run(message({ type: 'transactional' }))
  assert.deepEqual(unrouted.kind === 'final' && [unrouted.status, unrouted.errorCode], [
    'failed',
    'no_route',
  ])
  assert.equal(a.sent.length, 0)
})

test('health: every send counts for its instance', async () => {
  const { a, monitor, clock, run } = setup()
  await run(message())
  a.answer = () => ({ outcome: 'rejected', code: 'invalid_number' })
  await run(message())
  a.answer = () => unavailable
  await run(message())
  const h = monitor.snapshot(clock.now)[0]
  assert.equal(h?.health.sends, 3)
  assert.equal(h?.health.successRate, 2 / 3)
  assert.equal(h?.circuit.consecutiveFailures, 1)
})

test('a probe taken for a message that is then not sent is given back', async () => {
  const s = setup({
    failures: 1,
    pace: async () => {
      s.clock.now += 1000
    },
  })
  const reopened = () => {
    s.monitor.record('a', false, 'failure', 1, s.clock.now)
    s.clock.now += COOLDOWN
  }
  reopened()
  // Suppressed: refused before pacing.
  await s.run(message(), new Set(['@a|+12125550100']))
  assert.deepEqual(s.monitor.admit('a', s.clock.now), { admitted: true, probe: true })
  s.monitor.cancel('a', true)
  // Expired while paced.
  await s.run(message({ valid_until: s.clock.now + 500 }))
  assert.deepEqual(s.monitor.admit('a', s.clock.now), { admitted: true, probe: true })
  assert.equal(s.a.sent.length, 0)
})

test('a send that answered in time is never aborted later', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  let signal: AbortSignal | undefined
  const { a, run } = setup({ timeoutMs: 40 })
  a.answer = (sms, s) => {
    signal = s
    return { outcome: 'accepted', providerMessageIds: [`a-${sms.id}`] }
  }
  assert.equal((await run(message())).kind, 'sent')
  t.mock.timers.tick(1000)
  assert.equal(signal?.aborted, false)
})

test('a verification SMS goes out with its real text; once its verification ended, not at all', async () => {
  let state: 'open' | 'closed' = 'open'
  const { a, run } = setup({
    reveal: (verificationId, messageId) =>
      Promise.resolve(
        state === 'closed'
          ? { kind: 'closed' as const }
          : { kind: 'text' as const, text: `Your code is 482913 (${verificationId}/${messageId})` },
      ),
  })
  const m = message({
    body: 'Your code is ******',
    metadata: JSON.stringify({ verificationId: 'ver_1' }),
  })
  const sent = await run(m)
  assert.equal(sent.kind, 'sent')
  assert.equal(a.sent[0]?.body, `Your code is 482913 (ver_1/${m.id})`, 'the real text, opened now')

  state = 'closed' // approved, expired, locked, or replaced by a re-send with a new code
  const late = await run(message({ body: 'Your code is ******', metadata: m.metadata }))
  assert.equal(late.kind, 'final')
  assert.ok(late.kind === 'final' && late.status === 'expired')
  assert.equal(a.sent.length, 1, 'no provider call for an ended verification')
})

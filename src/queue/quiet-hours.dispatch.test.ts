/**
 * Quiet hours where messages are sent: a marketing message claimed outside its recipient's
 * window goes back until it opens, and its retries are set inside it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import type { MessageRecord } from '../domain/messages/message.js'
import { DEFAULT_QUIET_HOURS, QuietHours } from '../domain/quiet-hours/quiet-hours.js'
import { PriceTable } from '../domain/routing/prices.js'
import { ProviderMonitor } from '../domain/routing/provider-monitor.js'
import { Router } from '../domain/routing/router.js'
import type { OutboundSms, SendResult, SmsProvider } from '../providers/provider.js'
import { Dispatcher, noPacing } from './dispatch.js'

const at = (iso: string) => Date.parse(iso)
/** 23:00 EDT in New York. */
const NIGHT = at('2026-07-02T03:00:00Z')
/** 08:00 EDT. */
const OPENS = at('2026-07-02T12:00:00Z')

function setup(now: number, answer?: SendResult) {
  const sent: OutboundSms[] = []
  const provider: SmsProvider = {
    name: 'a',
    type: 'fake',
    deduplicates: true,
    send: async (sms) => {
      sent.push(sms)
      return answer ?? { outcome: 'accepted', providerMessageIds: [`a-${sms.id}`] }
    },
  }
  const d = new Dispatcher({
    providers: new Map([['a', provider]]),
    router: new Router([{ providers: ['a'], senders: [], failoverOnTimeout: false }]),
    monitor: new ProviderMonitor(['a'], { failures: 3, cooldownMs: 10_000 }),
    prices: new PriceTable([]),
    pace: noPacing,
    policy: { retryBaseMs: 1000, retryMaxMs: 60_000, maxAttempts: 5 },
    providerTimeoutMs: 1000,
    logger: pino({ level: 'silent' }),
    now: () => now,
    random: () => 1,
    quietHours: new QuietHours(DEFAULT_QUIET_HOURS),
  })
  const run = (m: MessageRecord) => d.dispatch(m, new AbortController().signal, new Set())
  return { run, sent }
}

function claimed(type: 'marketing' | 'transactional', validUntil: number): MessageRecord {
  return {
    id: 'msg_1',
    type,
    to_number: '+12125550100',
    from_number: null,
    body: 'Spring sale',
    encoding: 'GSM-7',
    segments: 1,
    smart_encoding: 0,
    status: 'sending',
    attempts: 1,
    provider: null,
    error_code: null,
    valid_until: validUntil,
  } as MessageRecord
}

test('a marketing message claimed at night goes back until the window opens, unsent', async () => {
  const { run, sent } = setup(NIGHT)
  const d = await run(claimed('marketing', NIGHT + 86_400_000))
  assert.deepEqual(d, {
    kind: 'release',
    id: 'msg_1',
    nextAttemptAt: OPENS,
    errorCode: null,
    detail:
      'quiet hours: held until 2026-07-02T12:00:00.000Z (window 08:00-21:00 in America/New_York)',
  })
  assert.equal(sent.length, 0)
})

test('one whose validity ends before the window opens waits until then (and expires)', async () => {
  const { run } = setup(NIGHT)
  const d = await run(claimed('marketing', NIGHT + 3_600_000))
  assert.equal(d.kind, 'release')
  assert.equal(d.kind === 'release' && d.nextAttemptAt, NIGHT + 3_600_000)
})

test('a transactional message goes at night; a marketing one inside its window', async () => {
  const night = setup(NIGHT)
  assert.equal((await night.run(claimed('transactional', NIGHT + 86_400_000))).kind, 'sent')
  assert.equal(night.sent.length, 1)
  const day = setup(OPENS)
  assert.equal((await day.run(claimed('marketing', OPENS + 86_400_000))).kind, 'sent')
})

test('a marketing retry that would fall in quiet hours is set for the opening', async () => {
  // 20:59:30 EDT; the provider asks to come back in a minute: 21:00:30, after closing.
  const now = at('2026-07-02T00:59:30Z')
  const busy: SendResult = { outcome: 'retry', code: 'provider_unavailable', after: 60_000 }
  const { run } = setup(now, busy)
  const d = await run(claimed('marketing', now + 86_400_000))
  assert.equal(d.kind, 'retry')
  assert.equal(d.kind === 'retry' && d.nextAttemptAt, OPENS)
  // Its validity ends first: expired now rather than sent at night.
  const short = await setup(now, busy).run(claimed('marketing', now + 3_600_000))
  assert.equal(short.kind, 'final')
  assert.equal(short.kind === 'final' && short.errorCode, 'validity_expired')
  // A transactional retry keeps its backoff.
  const t = await setup(now, busy).run(claimed('transactional', now + 86_400_000))
  assert.equal(t.kind === 'retry' && t.nextAttemptAt, now + 60_000)
})

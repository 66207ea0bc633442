// Risk covered: a number that texts STOP keeps getting messages, or gets no confirmation, or
// two; a keyword with other case, spaces or punctuation is missed; STOP covers only the number
// it was sent to and not its route pool; START does not lift an opt-out (STOPALL included);
// HELP does not answer with the program and "Reply STOP to opt out"; configured keywords and
// per-sender replies are ignored; a replayed inbound webhook changes consent or replies twice;
// free text that reads like an opt-out is acted on; the confirmation never reaches the send
// pipeline (the server's own wiring, over a provider's signed webhook).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { STANDARD_KEYWORDS } from '../../src/domain/consent/keywords.js'
import { createFanout } from '../../src/domain/webhooks/fanout.js'
import type { ProviderEvent } from '../../src/providers/provider.js'
import { closedPort } from '../../src/providers/test-upstream.js'
import { ReportIngestor } from '../../src/queue/report.ingestor.js'
import { Store } from '../../src/store/store.js'
import { inboundEffects } from '../../src/usecases/inbound.js'
import { isKeywordReply } from '../../src/usecases/keywords.js'
import { TwilioFake } from '../support/fakes/twilio.server.js'
import {
  openTestStore,
  startTestSwitchboard,
  TEST_DB,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'

const NOW = 1_800_000_000_000
const silent = pino({ level: 'silent' })
type Inbound = Extract<ProviderEvent, { type: 'inbound' }>

/** Numbers Switchboard sends from: A and B share a route pool, C has its own, D none. */
const A = '+15005550006'
const B = '+15005550007'
const C = '+15005550008'
const D = '+15005550009'
const SHORT = '72345'

let seq = 0
const sms = (from: string, to: string, body: string, id = `SM-kw-${++seq}`): Inbound => ({
  type: 'inbound',
  providerMessageId: id,
  from,
  to,
  body,
  at: NOW - 1000,
})
/** A distinct phone per test case. */
let phoneSeq = 0
const nextPhone = () => `+1415555${String(2000 + ++phoneSeq)}`

const CONFIG = loadConfig({
  DATABASE_URL: 'sqlite::memory:',
  ROUTES: JSON.stringify([
    { match: { from: C }, providers: ['simulator'], senders: [C] },
    { providers: ['simulator'], senders: [A, B] },
  ]),
  KEYWORDS: JSON.stringify({
    default: {
      programName: 'Acme Alerts',
      support: 'support@acme.example',
      extra: { ARRET: 'opt_out', 'opt-in': 'opt_in', AIDE: 'help', TOUTARRET: 'opt_out_all' },
    },
    senders: {
      [C]: {
        programName: 'Acme Codes',
        replies: { opt_out: 'Acme Codes: no more codes. Reply START to get them again.' },
        extra: { HALT: 'opt_out' },
      },
    },
  }),
})

describe(`inbound keywords (${TEST_DB})`, () => {
  let store: Store
  let close: () => Promise<void>
  let ingestor: ReportIngestor

  before(async () => {
    const opened = await openTestStore()
    close = opened.close
    store = new Store(
      opened.store.db,
      createFanout({ endpoints: [{ id: 'whe_app', url: 'https://app.example.com/hooks' }] }),
    )
    ingestor = new ReportIngestor(store, silent, () => NOW, inboundEffects(store, CONFIG))
  })
  after(async () => {
    await close()
  })

  const ledger = async (phone: string) =>
    (
      await store.db.kysely
        .selectFrom('consents')
        .selectAll()
        .where('phone', '=', phone)
        .orderBy('id')
        .execute()
    ).map((r) => [r.action, r.scope, r.source])
  const replies = (phone: string) =>
    store.db.kysely
      .selectFrom('messages')
      .selectAll()
      .where('direction', '=', 'outbound')
      .where('to_number', '=', phone)
      .orderBy('created_at')
      .orderBy('id')
      .execute()
  const replyBodies = async (phone: string) => (await replies(phone)).map((m) => m.body)
  const consentEvents = async (phone: string) =>
    (
      await store.db.kysely
        .selectFrom('events')
        .selectAll()
        .where('type', '=', 'consent.changed')
        .orderBy('id')
        .execute()
    )
      .map((e) => JSON.parse(e.data) as Record<string, string>)
      .filter((d) => d.phone === phone)
  const send = (...events: Inbound[]) => ingestor.ingest('twilio-us', events)

  const OPT_OUT_REPLY =
    'Acme Alerts: You are unsubscribed and will receive no further messages. Reply START to resubscribe.'
  const OPT_IN_REPLY =
    'Acme Alerts: You are subscribed. Msg & data rates may apply. Reply HELP for help. Reply STOP to opt out.'
  const HELP_REPLY =
    'Acme Alerts: For help, contact support@acme.example. Msg & data rates may apply. Reply STOP to opt out.'

  test('every standard keyword, with case, whitespace and punctuation variants, records the right rows', async () => {
    const variants = (w: string) => [
      w,
      w.toLowerCase(),
      `  ${w[0]}${w.slice(1).toLowerCase()}!\n`,
      `"${w}."`,
    ]
    for (const [kind, words] of Object.entries(STANDARD_KEYWORDS)) {
      for (const w of words) {
        for (const body of variants(w)) {
          const phone = nextPhone()
          await send(sms(phone, A, body))
          const rows = await ledger(phone)
          const label = `${kind} ${JSON.stringify(body)}`
          if (kind === 'opt_out') {
            assert.deepEqual(
              rows,
              [
                ['opt_out', A, 'keyword'],
                ['opt_out', B, 'keyword'],
              ],
              label,
            )
            assert.deepEqual(await replyBodies(phone), [OPT_OUT_REPLY], label)
          } else if (kind === 'opt_out_all') {
            assert.deepEqual(rows, [['opt_out', 'all', 'keyword']], label)
            assert.equal((await replyBodies(phone)).length, 1, label)
          } else if (kind === 'opt_in') {
            assert.deepEqual(
              rows,
              [
                ['opt_in', A, 'keyword'],
                ['opt_in', B, 'keyword'],
              ],
              label,
            )
            assert.deepEqual(await replyBodies(phone), [OPT_IN_REPLY], label)
          } else {
            assert.deepEqual(rows, [], label)
            assert.deepEqual(await replyBodies(phone), [HELP_REPLY], label)
          }
        }
      }
    }
  })

  test('STOP twice: one opt-out, one event, one confirmation; the reply is a queued transactional message from the number', async () => {
    const phone = nextPhone()
    await send(sms(phone, A, 'STOP'))
    await send(sms(phone, A, 'stop'))
    // And twice in one webhook batch.
    await send(sms(phone, A, 'Stop.'), sms(phone, A, 'STOP'))
    assert.deepEqual(await ledger(phone), [
      ['opt_out', A, 'keyword'],
      ['opt_out', B, 'keyword'],
    ])
    const [reply, ...more] = await replies(phone)
    assert.ok(reply)
    assert.deepEqual(more, [], 'one confirmation')
    assert.deepEqual(
      [reply.status, reply.type, reply.from_number, reply.to_number, reply.api_key_id],
      ['queued', 'transactional', A, phone, null],
    )
    assert.deepEqual([reply.encoding, reply.segments, reply.next_attempt_at], ['GSM-7', 1, NOW])
    const inbound = await store.db.kysely
      .selectFrom('messages')
      .select('id')
      .where('from_number', '=', phone)
      .orderBy('id')
      .executeTakeFirstOrThrow()
    assert.deepEqual(JSON.parse(reply.metadata ?? ''), {
      keywordReply: { kind: 'opt_out', inReplyTo: inbound.id },
    })
    assert.equal(isKeywordReply(reply), true)
    const evidence = await store.db.kysely
      .selectFrom('consents')
      .select(['evidence', 'disclosure', 'at'])
      .where('phone', '=', phone)
      .execute()
    assert.deepEqual(
      evidence.map((r): unknown[] => [
        JSON.parse(r.evidence ?? '') as unknown,
        r.disclosure,
        Number(r.at),
      ]),
      [0, 1].map(() => [{ messageId: inbound.id, keyword: 'STOP', to: A }, null, NOW]),
    )
    assert.deepEqual(
      (await store.listEvents(reply.id)).map((e) => e.status),
      ['queued'],
    )
    const events = await consentEvents(phone)
    assert.deepEqual(
      events.map((d) => [d.phone, d.scope, d.status, d.source, d.at]),
      [
        [phone, A, 'opted_out', 'keyword', new Date(NOW).toISOString()],
        [phone, B, 'opted_out', 'keyword', new Date(NOW).toISOString()],
      ],
    )
    const deliveries = await store.db.kysely
      .selectFrom('webhook_deliveries')
      .select('payload')
      .where('event_type', '=', 'consent.changed')
      .execute()
    assert.equal(
      deliveries.filter((d) => d.payload.includes(phone)).length,
      2,
      'one webhook per change',
    )
  })

  test('STOP then START: the opt-out is lifted and each is confirmed once', async () => {
    const phone = nextPhone()
    await send(sms(phone, B, 'STOP'))
    await send(sms(phone, B, 'START'))
    assert.deepEqual(await ledger(phone), [
      ['opt_out', B, 'keyword'],
      ['opt_out', A, 'keyword'],
      ['opt_in', B, 'keyword'],
      ['opt_in', A, 'keyword'],
    ])
    assert.deepEqual(await replyBodies(phone), [OPT_OUT_REPLY, OPT_IN_REPLY])
    assert.deepEqual(
      (await replies(phone)).map((m) => m.from_number),
      [B, B],
    )
    // START again changes nothing but is answered (the number may be messaged).
    await send(sms(phone, B, 'yes'))
    assert.equal((await ledger(phone)).length, 4)
    assert.deepEqual(await replyBodies(phone), [OPT_OUT_REPLY, OPT_IN_REPLY, OPT_IN_REPLY])
    assert.equal((await consentEvents(phone)).length, 4)
    // STOP again after START is a change again.
    await send(sms(phone, A, 'cancel'))
    assert.equal((await ledger(phone)).length, 6)
    assert.equal((await replies(phone)).length, 4)
  })

  test('STOPALL records scope all, once; START lifts it with the sender scopes', async () => {
    const phone = nextPhone()
    await send(sms(phone, D, 'STOPALL'))
    await send(sms(phone, D, 'stopall!'))
    assert.deepEqual(await ledger(phone), [['opt_out', 'all', 'keyword']])
    const first = await replies(phone)
    assert.deepEqual(
      first.map((m) => [m.from_number, m.body]),
      [
        [
          D,
          'Acme Alerts: You are unsubscribed from all our messages and will receive no further messages. Reply START to resubscribe.',
        ],
      ],
    )
    await send(sms(phone, D, 'UNSTOP'))
    assert.deepEqual((await ledger(phone)).slice(1), [
      ['opt_in', D, 'keyword'],
      ['opt_in', 'all', 'keyword'],
    ])
    assert.equal((await replies(phone)).length, 2)
  })

  test('route pools: STOP to a number covers its pool only; a number in no route, itself', async () => {
    const phone = nextPhone()
    await send(sms(phone, C, 'STOP'))
    assert.deepEqual(await ledger(phone), [['opt_out', C, 'keyword']])
    await send(sms(phone, D, 'STOP'))
    assert.deepEqual((await ledger(phone)).slice(1), [['opt_out', D, 'keyword']])
    await send(sms(phone, A, 'STOP'))
    assert.deepEqual((await ledger(phone)).slice(2), [
      ['opt_out', A, 'keyword'],
      ['opt_out', B, 'keyword'],
    ])
    // A short code is a sender too.
    await send(sms(phone, SHORT, 'END'))
    assert.deepEqual((await ledger(phone)).slice(4), [['opt_out', SHORT, 'keyword']])
  })

  test('HELP answers every time with program, support and opt-out instructions, and changes nothing', async () => {
    const phone = nextPhone()
    await send(sms(phone, A, 'help'))
    await send(sms(phone, A, ' Info? '))
    assert.deepEqual(await replyBodies(phone), [HELP_REPLY, HELP_REPLY])
    assert.deepEqual(await ledger(phone), [])
    assert.deepEqual(await consentEvents(phone), [])
    // HELP is answered to a number that opted out too.
    await send(sms(phone, A, 'STOP'))
    await send(sms(phone, A, 'HELP'))
    assert.deepEqual(await replyBodies(phone), [HELP_REPLY, HELP_REPLY, OPT_OUT_REPLY, HELP_REPLY])
  })

  test('configured keywords and per-sender programs', async () => {
    const phone = nextPhone()
    await send(sms(phone, A, 'Arret!'))
    assert.deepEqual(await ledger(phone), [
      ['opt_out', A, 'keyword'],
      ['opt_out', B, 'keyword'],
    ])
    await send(sms(phone, A, 'opt-in'))
    await send(sms(phone, A, 'aide'))
    await send(sms(phone, A, 'toutarret'))
    assert.deepEqual((await ledger(phone)).slice(2), [
      ['opt_in', A, 'keyword'],
      ['opt_in', B, 'keyword'],
      ['opt_out', 'all', 'keyword'],
    ])
    assert.deepEqual((await replyBodies(phone)).slice(0, 3), [
      OPT_OUT_REPLY,
      OPT_IN_REPLY,
      HELP_REPLY,
    ])
    // C's own keyword, reply and program name; the default's keywords apply there too.
    const other = nextPhone()
    await send(sms(other, C, 'halt'))
    await send(sms(other, C, 'HELP'))
    await send(sms(other, C, 'START'))
    await send(sms(other, C, 'ARRET'))
    assert.deepEqual(await replyBodies(other), [
      'Acme Codes: no more codes. Reply START to get them again.',
      'Acme Codes: For help, contact support@acme.example. Msg & data rates may apply. Reply STOP to opt out.',
      'Acme Codes: You are subscribed. Msg & data rates may apply. Reply HELP for help. Reply STOP to opt out.',
      'Acme Codes: no more codes. Reply START to get them again.',
    ])
    // HALT is C's only.
    const third = nextPhone()
    await send(sms(third, A, 'HALT'))
    assert.deepEqual(await ledger(third), [])
    assert.deepEqual(await replies(third), [])
  })

  test('a replayed inbound webhook changes consent and replies once', async () => {
    const phone = nextPhone()
    const stop = sms(phone, A, 'STOP', 'SM-replayed')
    await send(stop)
    await send(stop)
    await send(stop, stop)
    const start = sms(phone, A, 'START', 'SM-replayed-start')
    await send(start)
    await send(start)
    assert.equal((await ledger(phone)).length, 4)
    assert.equal((await replies(phone)).length, 2)
    assert.equal((await consentEvents(phone)).length, 4)
  })

  test('free text that reads like an opt-out is not acted on', async () => {
    const phone = nextPhone()
    for (const body of ['please stop texting me', 'unsubscribe me', 'STOP STOP', 'stop it']) {
      await send(sms(phone, A, body))
    }
    assert.deepEqual(await ledger(phone), [])
    assert.deepEqual(await replies(phone), [])
  })

  test('a reply no route accepts, or to a number it cannot send to, is not queued; the opt-out is recorded all the same', async () => {
    const usOnly = loadConfig({
      DATABASE_URL: 'sqlite::memory:',
      ROUTES: JSON.stringify([{ match: { countries: ['US'] }, providers: ['simulator'] }]),
    })
    const narrow = new ReportIngestor(store, silent, () => NOW, inboundEffects(store, usOnly))
    const uk = '+447911123456'
    const us = nextPhone()
    await narrow.ingest('twilio-us', [sms(uk, A, 'STOP'), sms(us, A, 'STOP')])
    assert.deepEqual(await ledger(uk), [['opt_out', A, 'keyword']])
    assert.deepEqual(await replies(uk), [])
    assert.equal((await replies(us)).length, 1)
    // A number Switchboard could not send to (libphonenumber finds it invalid): no reply either.
    const fictional = '+447700900123'
    await send(sms(fictional, D, 'STOP'))
    assert.deepEqual(await ledger(fictional), [['opt_out', D, 'keyword']])
    assert.deepEqual(await replies(fictional), [])
  })

  test('two STOPs from one number at once: one opt-out, one confirmation', async () => {
    const phones = Array.from({ length: 6 }, nextPhone)
    await Promise.all(phones.flatMap((p) => [send(sms(p, A, 'STOP')), send(sms(p, A, 'stop'))]))
    for (const p of phones) {
      assert.equal((await ledger(p)).length, 2, p)
      assert.equal((await replies(p)).length, 1, p)
    }
  })
})

describe(`a keyword over a provider's signed webhook, through the whole server (${TEST_DB})`, () => {
  const ACCOUNT = { accountSid: `AC${'6f'.repeat(16)}`, authToken: 'keywords-twilio-token' }
  const FROM = '+15017122661'
  let fake: TwilioFake
  let ts: TestSwitchboard
  let publicUrl: string

  before(async () => {
    fake = await TwilioFake.start({ ...ACCOUNT })
    const port = await closedPort()
    publicUrl = `http://127.0.0.1:${port}`
    ts = await startTestSwitchboard({
      PROVIDERS: JSON.stringify([
        { name: 'twilio-us', type: 'twilio', ...ACCOUNT, baseUrl: fake.url },
      ]),
      PUBLIC_URL: publicUrl,
      KEYWORDS: JSON.stringify({ default: { programName: 'Acme Alerts' } }),
    })
    await ts.sb.app?.listen({ port, host: '127.0.0.1' })
  })
  after(async () => {
    await ts.close()
    await fake.close()
  })

  test('STOP is recorded before the webhook is answered; the confirmation goes out from the number', async () => {
    const phone = '+14155550188'
    const answer = await fake.inbound(`${publicUrl}/webhooks/twilio-us/inbound`, {
      From: phone,
      To: FROM,
      Body: 'Stop',
    })
    assert.equal(answer.status, 200)
    const rows = await ts.sb.store.db.kysely
      .selectFrom('consents')
      .select(['action', 'scope', 'source'])
      .where('phone', '=', phone)
      .execute()
    assert.deepEqual(rows, [{ action: 'opt_out', scope: FROM, source: 'keyword' }])
    const sent = await waitFor(
      () => fake.sends.find((s) => s.form.get('To') === phone),
      30_000,
      'the confirmation sent',
    )
    assert.equal(sent.form.get('From'), FROM)
    assert.equal(
      sent.form.get('Body'),
      'Acme Alerts: You are unsubscribed and will receive no further messages. Reply START to resubscribe.',
    )
  })
})

// Risk covered: concurrent sends racing an opt-out. Once the opt-out is answered, a send to the
// number must not be accepted, and a message accepted before it but still queued must not
// reach the provider after it (it ends `rejected`). Only a message already handed to a send
// (claimed) before the opt-out committed may still go.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startTestSwitchboard, TEST_DB, waitFor, type TestSwitchboard } from '../support/harness.js'

const SENDER = '+15005550006'
const SENDERS_AT_ONCE = 16
/** How long the senders keep going after the opt-out is answered. */
const AFTER_MS = 400

let t: TestSwitchboard

/** A fresh server per race: the load of one race must not queue ahead of the next. */
async function start(): Promise<void> {
  t = await startTestSwitchboard({
    // A slow instance keeps a backlog queued while the opt-out lands.
    PROVIDERS: JSON.stringify([{ name: 'sim', type: 'simulator', dlrDelayMs: 5, mps: 40 }]),
    ROUTES: JSON.stringify([{ providers: ['sim'], senders: [SENDER] }]),
  })
}

interface Tried {
  startedAt: number
  status: number
  code: string | undefined
  id: string | undefined
}

/** Records the opt-out; resolves with the HTTP status of its answer. */
type OptOut = (phone: string) => Promise<{ statusCode: number; body: string }>

const byApi: OptOut = (phone) =>
  t.inject({
    method: 'POST',
    url: '/v1/consents',
    headers: t.auth(),
    payload: { phone, action: 'opt_out', scope: 'all', source: 'api' },
  })

/** STOP texted to the sender, through the path a gateway's inbound webhook takes. */
const byStop: OptOut = (phone) =>
  t.inject({
    method: 'POST',
    url: '/v1/simulator/inbound',
    headers: t.auth(),
    payload: { from: phone, to: SENDER, body: 'Stop' },
  })

test(`sends racing an opt-out by API: none accepted after its answer, none queued sent after it (${TEST_DB})`, async (ctx) => {
  await start()
  ctx.after(() => t.close())
  await race(ctx, '+14155550142', byApi, 201)
})

test(`sends racing a STOP webhook: none accepted after its answer, none queued sent after it (${TEST_DB})`, async (ctx) => {
  await start()
  ctx.after(() => t.close())
  await race(ctx, '+14155550143', byStop, 201)
})

async function race(
  ctx: { diagnostic: (m: string) => void },
  PHONE: string,
  optOut: OptOut,
  answered: number,
): Promise<void> {
  const tried: Tried[] = []
  let answeredAt = Infinity
  let stopAt = Infinity
  const sender = async (i: number) => {
    for (let k = 0; Date.now() < stopAt; k++) {
      const startedAt = Date.now()
      const res = await t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(t.keys.write),
        payload: { to: PHONE, body: `race ${i}.${k}` },
      })
      const json = res.json<{ id?: string; error?: { code: string } }>()
      tried.push({ startedAt, status: res.statusCode, code: json.error?.code, id: json.id })
      // Other load beside it: a batch to other numbers now and then.
      if (k % 10 === 0) {
        await t.inject({
          method: 'POST',
          url: '/v1/messages/batch',
          headers: t.auth(t.keys.write),
          payload: {
            messages: Array.from({ length: 20 }, (_, j) => ({
              to: `+1415555${String(2000 + ((i * 20 + j) % 1000)).padStart(4, '0')}`,
              body: 'load',
            })),
          },
        })
      }
    }
  }
  const senders = Array.from({ length: SENDERS_AT_ONCE }, (_, i) => sender(i))
  // Let a backlog build up, then opt out while the senders keep going.
  await waitFor(() => (tried.filter((x) => x.status === 202).length >= 100 ? true : undefined))
  const res = await optOut(PHONE)
  answeredAt = Date.now()
  assert.equal(res.statusCode, answered, res.body)
  stopAt = answeredAt + AFTER_MS
  await Promise.all(senders)

  // 1. After the answer, no send to the number is accepted.
  const later = tried.filter((x) => x.startedAt >= answeredAt)
  assert.ok(later.length >= SENDERS_AT_ONCE, `only ${later.length} sends after the opt-out`)
  for (const x of later) {
    assert.deepEqual([x.status, x.code], [422, 'recipient_opted_out'])
  }
  const accepted = tried.filter((x) => x.status === 202).map((x) => x.id as string)
  assert.ok(accepted.length >= 100)

  // 2. Every accepted message ends sent (it reached the provider) or rejected (it did not).
  const rows = await waitFor(
    async () => {
      const found = await t.sb.store.db.kysely
        .selectFrom('messages')
        .select(['id', 'status', 'error_code'])
        .where('to_number', '=', PHONE)
        // The API's sends (a STOP's confirmation is Switchboard's own, without a key).
        .where('api_key_id', 'is not', null)
        .execute()
      return found.every((m) => !['queued', 'scheduled', 'sending'].includes(m.status))
        ? found
        : undefined
    },
    60_000,
    'every message to the number to be final',
  )
  assert.equal(rows.length, accepted.length)
  const attempts = await t.sb.store.db.kysely
    .selectFrom('attempts')
    .select(['message_id'])
    .where('message_id', 'in', accepted)
    .execute()
  const reached = new Set(attempts.map((a) => a.message_id))
  const claims = await t.sb.store.db.kysely
    .selectFrom('message_events')
    .select(['message_id', 'at'])
    .where('message_id', 'in', accepted)
    .where('status', '=', 'sending')
    .execute()
  const lastClaim = new Map<string, number>()
  for (const c of claims) {
    lastClaim.set(c.message_id, Math.max(lastClaim.get(c.message_id) ?? 0, Number(c.at)))
  }
  let rejected = 0
  for (const m of rows) {
    if (reached.has(m.id)) {
      assert.ok(['sent', 'delivered'].includes(m.status), `${m.id} ${m.status}`)
      // 3. What reached the provider was claimed before the opt-out was answered: nothing still
      //    queued then was sent after it.
      const claimedAt = lastClaim.get(m.id) ?? Infinity
      assert.ok(claimedAt <= answeredAt, `${m.id} claimed ${claimedAt - answeredAt} ms after`)
    } else {
      assert.deepEqual([m.status, m.error_code], ['rejected', 'recipient_opted_out'])
      rejected++
    }
  }
  ctx.diagnostic(
    `accepted ${accepted.length}, sent ${reached.size}, rejected ${rejected}, refused after the answer ${later.length}`,
  )
  // The race was real: some messages were queued when the opt-out came, and ended rejected.
  assert.ok(rejected > 0, 'no queued message was left when the opt-out came')
  assert.ok(reached.size > 0, 'nothing was sent before the opt-out')
}

// Risk covered: Switchboard sends to premium-rate or shared-cost numbers (the classic toll-fraud
// target) without the operator asking for it, or refuses them when the operator allowed them.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestSwitchboard, type TestSwitchboard } from '../support/harness.js'

interface ItemResult {
  index: number
  message?: { id: string; to: string }
  error?: { code: string; details?: Record<string, unknown> }
}

/** One of each refused type, with the number type libphonenumber gives it. */
const REFUSED = [
  ['+19005550100', 'PREMIUM_RATE'],
  ['+449098790000', 'PREMIUM_RATE'],
  ['+33810123456', 'SHARED_COST'],
] as const
/** Other special types stay allowed: toll-free, and an ordinary number. */
const ALLOWED = ['+18002221111', '+14155550100']

function api(t: TestSwitchboard) {
  return {
    send: (to: string) =>
      t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(),
        payload: { to, body: 'hello' },
      }),
    batch: async (to: readonly string[]) => {
      const res = await t.inject({
        method: 'POST',
        url: '/v1/messages/batch',
        headers: t.auth(),
        payload: { messages: to.map((n) => ({ to: n, body: 'hello' })) },
      })
      return { status: res.statusCode, data: res.json<{ data: ItemResult[] }>().data }
    },
  }
}

describe('premium-rate and shared-cost destinations, by default', () => {
  let t: TestSwitchboard
  before(async () => {
    t = await startTestSwitchboard()
  })
  after(async () => {
    await t?.close()
  })

  test('a single send to each is refused with destination_not_allowed', async () => {
    for (const [to, numberType] of REFUSED) {
      const res = await api(t).send(to)
      assert.equal(res.statusCode, 422, `${to}: ${res.body}`)
      assert.deepEqual(res.json(), {
        error: {
          code: 'destination_not_allowed',
          message: 'The destination is not allowed on this server',
          details: { field: 'to', numberType },
        },
      })
    }
    for (const to of ALLOWED) assert.equal((await api(t).send(to)).statusCode, 202, to)
  })

  test('in a batch only those items are refused; the rest are accepted', async () => {
    const numbers = [ALLOWED[0] ?? '', ...REFUSED.map(([n]) => n), ALLOWED[1] ?? '']
    const { status, data } = await api(t).batch(numbers)
    assert.equal(status, 202)
    assert.deepEqual(
      data.map((d) => d.error?.code ?? d.message?.to),
      [ALLOWED[0], ...REFUSED.map(() => 'destination_not_allowed'), ALLOWED[1]],
    )
    assert.deepEqual(data[1]?.error?.details, { field: 'to', numberType: 'PREMIUM_RATE' })
    const stored = await t.sb.store.listMessages({ to: REFUSED[0][0], limit: 10 })
    assert.deepEqual(stored, [], 'nothing is stored for a refused destination')
  })
})

describe('premium-rate and shared-cost destinations, allowed by ALLOW_PREMIUM_DESTINATIONS', () => {
  let t: TestSwitchboard
  before(async () => {
    t = await startTestSwitchboard({ ALLOW_PREMIUM_DESTINATIONS: 'true' })
  })
  after(async () => {
    await t?.close()
  })

  test('single sends and batch items to them are accepted', async () => {
    for (const [to] of REFUSED) assert.equal((await api(t).send(to)).statusCode, 202, to)
    const { status, data } = await api(t).batch(REFUSED.map(([n]) => n))
    assert.equal(status, 202)
    assert.deepEqual(
      data.map((d) => d.message?.to),
      REFUSED.map(([n]) => n),
    )
  })
})

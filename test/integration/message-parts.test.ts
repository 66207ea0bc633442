// Risk: the message detail cannot show a message's parts (the provider's ids, each part's
// status and price), or shows another message's, or a message not sent yet shows parts.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestSwitchboard, waitFor, type TestSwitchboard } from '../support/harness.js'

interface Part {
  attempt: number
  part: number
  parts: number
  provider: string
  providerMessageId: string
  status: string | null
  errorCode: string | null
  price: unknown
}

describe('GET /v1/messages/{id}/parts', () => {
  let t: TestSwitchboard
  before(async () => {
    t = await startTestSwitchboard()
  })
  after(async () => t.close())

  const send = async (payload: Record<string, unknown>) => {
    const res = await t.inject({ method: 'POST', url: '/v1/messages', headers: t.auth(), payload })
    assert.equal(res.statusCode, 202, res.body)
    return res.json<{ id: string }>().id
  }
  const parts = (id: string, key?: string) =>
    t.inject({ method: 'GET', url: `/v1/messages/${id}/parts`, headers: t.auth(key) })

  test("a delivered message lists its provider id with the part's status", async () => {
    const id = await send({ to: '+14155550161', body: 'One part' })
    const other = await send({ to: '+14155550162', body: 'Another message' })
    const m = await waitFor(async () => {
      const r = await t.inject({ url: `/v1/messages/${id}`, headers: t.auth() })
      const body = r.json<{ status: string; providerMessageId: string | null }>()
      return body.status === 'delivered' ? body : undefined
    })
    const res = await parts(id, t.keys.read)
    assert.equal(res.statusCode, 200, res.body)
    const data = res.json<{ data: Part[] }>().data
    assert.deepEqual(
      data.map((p) => [p.attempt, p.part, p.parts, p.provider, p.providerMessageId, p.status]),
      [[1, 1, 1, 'simulator', m.providerMessageId, 'delivered']],
    )
    const others = (await parts(other)).json<{ data: Part[] }>().data
    assert.ok(others.every((p) => p.providerMessageId !== m.providerMessageId))
  })

  test('a message not sent yet has no parts; an unknown id is 404; a key needs messages:read', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString()
    const id = await send({ to: '+14155550163', body: 'Later', sendAt: later })
    assert.deepEqual((await parts(id)).json(), { data: [] })
    const missing = await parts('msg_01ARZ3NDEKTSV4RRFFQ69G5FAV')
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.json<{ error: { code: string } }>().error.code, 'not_found')
    const write = await parts(id, t.keys.write)
    assert.equal(write.statusCode, 403)
  })
})

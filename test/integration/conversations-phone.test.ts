// Risk covered: the contact's conversations cannot be found by their number (the dashboard's
// contact page links to them), a national number is not read like a message's `to`, or the
// filter leaks other contacts' conversations.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestSwitchboard, TEST_DB, type TestSwitchboard } from '../support/harness.js'

interface Conv {
  id: string
  contact: { phone: string }
  number: string
}

describe(`conversations by the contact's number (${TEST_DB})`, () => {
  let t: TestSwitchboard
  before(async () => {
    t = await startTestSwitchboard({
      SIMULATOR_NUMBERS: '+15005550006,+15005550007',
      DEFAULT_COUNTRY: 'US',
    })
  })
  after(async () => t.close())

  const text = async (from: string, to: string, body: string) => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/simulator/inbound',
      headers: t.auth(),
      payload: { from, to, body },
    })
    assert.equal(res.statusCode, 201, res.body)
  }
  const list = async (query: string, key = t.keys.read) => {
    const res = await t.inject({
      method: 'GET',
      url: `/v1/conversations?${query}`,
      headers: t.auth(key),
    })
    return {
      status: res.statusCode,
      body: res.json<{ data: Conv[]; nextCursor: string | null; error?: { code: string } }>(),
    }
  }

  test('`phone` keeps the conversations of that contact, with each of our numbers', async () => {
    await text('+14155550101', '+15005550006', 'Hello')
    await text('+14155550101', '+15005550007', 'Hello again, other number')
    await text('+14155550102', '+15005550006', 'Someone else')

    const mine = await list('phone=%2B14155550101')
    assert.equal(mine.status, 200)
    assert.deepEqual(mine.body.data.map((c) => [c.contact.phone, c.number]).sort(), [
      ['+14155550101', '+15005550006'],
      ['+14155550101', '+15005550007'],
    ])
    // A national number is read with DEFAULT_COUNTRY, as a message's `to` is.
    const national = await list('phone=(415)%20555-0101')
    assert.deepEqual(
      national.body.data.map((c) => c.id).sort(),
      mine.body.data.map((c) => c.id).sort(),
    )
    // Combined with the other filters, and paged like the rest.
    const paged = await list('phone=%2B14155550101&limit=1')
    assert.equal(paged.body.data.length, 1)
    assert.ok(paged.body.nextCursor)
    const next = await list(
      `phone=%2B14155550101&limit=1&cursor=${encodeURIComponent(paged.body.nextCursor)}`,
    )
    assert.equal(next.body.data.length, 1)
    assert.notEqual(next.body.data[0]!.id, paged.body.data[0]!.id)
    assert.equal(next.body.nextCursor, null)
    const closed = await list('phone=%2B14155550101&status=closed')
    assert.deepEqual(closed.body.data, [])

    // A number that never wrote has none.
    const none = await list('phone=%2B14155550199')
    assert.deepEqual(none.body, { data: [], nextCursor: null })
  })

  test('a number that is not one is refused in words', async () => {
    const bad = await list('phone=not-a-number')
    assert.equal(bad.status, 422)
    assert.equal(bad.body.error?.code, 'invalid_phone_number')
  })
})

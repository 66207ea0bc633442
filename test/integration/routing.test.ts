// Risk covered: routes let through, or silently drop, messages they should refuse: a message no
// route accepts must be refused at intake (422 no_route, per item in a batch) and never queued,
// and a message a route accepts must be stored as usual.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  startTestSwitchboard,
  statusCounts,
  TEST_DB,
  type TestSwitchboard,
} from '../support/harness.js'

const PROVIDERS = JSON.stringify([
  { name: 'sim-a', type: 'simulator', dlrDelayMs: 5 },
  { name: 'sim-b', type: 'simulator', dlrDelayMs: 5 },
])

describe(`routes at intake (${TEST_DB})`, () => {
  let t: TestSwitchboard

  before(async () => {
    t = await startTestSwitchboard({
      PROVIDERS,
      ROUTES: JSON.stringify([
        { match: { countries: ['US'], type: 'marketing' }, providers: ['sim-b'] },
        { match: { prefixes: ['+44'] }, providers: ['sim-a'] },
      ]),
    })
  })
  after(() => t.close())

  test('a message no route accepts is 422 no_route and is not stored', async () => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(t.keys.write),
      payload: { to: '+12125550100', body: 'hi', type: 'transactional' },
    })
    assert.equal(res.statusCode, 422, res.body)
    assert.deepEqual(res.json(), {
      error: {
        code: 'no_route',
        message: 'No route accepts this message',
        details: { country: 'US', type: 'transactional' },
      },
    })
    assert.deepEqual(await statusCounts(t), {})
  })

  test('in a batch, the items no route accepts get no_route and the others are stored', async () => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: t.auth(t.keys.write),
      payload: {
        messages: [
          { to: '+12125550100', body: 'us marketing', type: 'marketing' },
          { to: '+33612345678', body: 'france' },
          { to: '+447400123456', body: 'uk' },
        ],
      },
    })
    assert.equal(res.statusCode, 202, res.body)
    const body = res.json<{
      accepted: number
      failed: number
      data: { index: number; message?: unknown; error?: { code: string; details: unknown } }[]
    }>()
    assert.equal(body.accepted, 2)
    assert.equal(body.failed, 1)
    assert.ok(body.data[0]?.message && body.data[2]?.message)
    assert.deepEqual(body.data[1]?.error, {
      code: 'no_route',
      message: 'No route accepts this message',
      details: { country: 'FR', type: 'transactional' },
    })
    const stored = await t.sb.store.db.kysely.selectFrom('messages').select('to_number').execute()
    assert.deepEqual(stored.map((r) => r.to_number).sort(), ['+12125550100', '+447400123456'])
  })
})

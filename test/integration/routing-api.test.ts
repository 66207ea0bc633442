// Risk covered: the operator APIs leak a secret or a callback token, answer keys without the
// admin scope, show routes other than those in force, or show health and circuits that are not
// the sending process's (in the background thread) or, on an API node of a cluster, nothing.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  freshDatabase,
  startTestSwitchboard,
  TEST_DB,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'

const VONAGE_SECRET = 'vonage-api-secret-never-shown'
const COOLDOWN_MS = 600_000
const ENV = {
  PROVIDERS: JSON.stringify([
    { name: 'sim', type: 'simulator', dlrDelayMs: 5, mps: 50 },
    { name: 'flaky', type: 'simulator', rules: [{ match: '+1303', outcome: 'server_error' }] },
    {
      name: 'vonage-eu',
      type: 'vonage',
      apiKey: 'abcd1234',
      apiSecret: VONAGE_SECRET,
      baseUrl: 'http://127.0.0.1:9',
    },
  ]),
  ROUTES: JSON.stringify([
    { match: { prefixes: ['+1303'] }, providers: ['flaky'] },
    {
      match: { countries: ['GB'], type: 'marketing' },
      providers: ['vonage-eu', 'sim'],
      senders: ['ACME', { from: '+14155550100', mps: 1 }],
      failoverOnTimeout: true,
    },
    { providers: ['sim'] },
  ]),
  PRICES: JSON.stringify([
    { provider: 'sim', country: 'US', price: 0.0079, currency: 'USD' },
    { provider: 'sim', country: '*', price: 0.05, currency: 'USD' },
  ]),
  CIRCUIT_FAILURES: '2',
  CIRCUIT_COOLDOWN_MS: String(COOLDOWN_MS),
}

interface ProviderView {
  name: string
  type: string
  settings: Record<string, unknown>
  mps: number | null
  callbackUrls: { status: string; inbound: string } | null
  prices: { country: string; price: number; currency: string }[]
  health: {
    sends: number
    successRate: number | null
    latencyP50Ms: number | null
    latencyP99Ms: number | null
    windowMs: number
    consecutiveFailures: number
  } | null
  circuit: { state: string; openedAt: string | null; nextProbeAt: string | null } | null
}

describe(`GET /v1/providers and /v1/routes (${TEST_DB})`, () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>
  let t: TestSwitchboard
  /** An API-only process on the same database, as in a cluster: it sends nothing. */
  let apiNode: TestSwitchboard

  before(async () => {
    db = await freshDatabase()
    t = await startTestSwitchboard(ENV, { database: db })
    apiNode = await startTestSwitchboard(ENV, { database: db, role: 'api' })
  })
  after(async () => {
    await apiNode?.close()
    await t?.close()
    await db?.drop()
  })

  const get = (on: TestSwitchboard, url: string, key = on.keys.admin) =>
    on.inject({ method: 'GET', url, headers: on.auth(key) })
  const providers = async (on: TestSwitchboard) => {
    const res = await get(on, '/v1/providers')
    assert.equal(res.statusCode, 200, res.body)
    return { body: res.body, ...res.json<{ source: string; data: ProviderView[] }>() }
  }
  const send = async (to: string) => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(t.keys.write),
      payload: { to, body: 'hi' },
    })
    assert.equal(res.statusCode, 202, res.body)
    return res.json<{ id: string }>().id
  }

  test('both need the admin scope', async () => {
    for (const url of ['/v1/providers', '/v1/routes']) {
      for (const key of [t.keys.write, t.keys.read]) {
        const res = await get(t, url, key)
        assert.equal(res.statusCode, 403, `${url} ${res.body}`)
        assert.deepEqual(res.json(), {
          error: {
            code: 'insufficient_scope',
            message: 'The API key lacks the required scope',
            details: { required: 'admin' },
          },
        })
      }
      const none = await t.inject({ method: 'GET', url })
      assert.equal(none.statusCode, 401)
    }
  })

  test('the routes in force, in order', async () => {
    const res = await get(t, '/v1/routes')
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), {
      source: 'configuration',
      data: [
        {
          index: 0,
          match: { prefixes: ['+1303'] },
          providers: ['flaky'],
          senders: [],
          failoverOnTimeout: false,
        },
        {
          index: 1,
          match: { countries: ['GB'], type: 'marketing' },
          providers: ['vonage-eu', 'sim'],
          senders: [
            { from: 'ACME', mps: null },
            { from: '+14155550100', mps: 1 },
          ],
          failoverOnTimeout: true,
        },
        { index: 2, match: null, providers: ['sim'], senders: [], failoverOnTimeout: false },
      ],
    })
  })

  test('every instance with its settings, callback URLs and prices, and never a secret', async () => {
    const { data, body } = await providers(t)
    assert.deepEqual(
      data.map((p) => [p.name, p.type, p.mps]),
      [
        ['sim', 'simulator', 50],
        ['flaky', 'simulator', null],
        ['vonage-eu', 'vonage', null],
      ],
    )
    const vonage = data[2]
    // What its type's describe() shows: a secret only as set or not set.
    assert.deepEqual(vonage?.settings, {
      baseUrl: 'http://127.0.0.1:9',
      apiSecret: 'set',
      signatureSecret: 'not set',
    })
    // Its callbacks are authenticated by a token: shown masked.
    assert.deepEqual(vonage?.callbackUrls, {
      status: 'http://127.0.0.1:3000/webhooks/vonage-eu/status?token=…',
      inbound: 'http://127.0.0.1:3000/webhooks/vonage-eu/inbound?token=…',
    })
    const token = await t.sb.store.getSetting('provider_callback_token:vonage-eu')
    assert.ok(token && token.length > 10)
    assert.ok(!body.includes(token), 'the callback token is not shown')
    assert.ok(!body.includes(VONAGE_SECRET), 'the API secret is not shown')
    // The in-process simulator reports in-process: no callback URLs.
    assert.equal(data[0]?.callbackUrls, null)
    assert.deepEqual(data[0]?.prices, [
      { country: 'US', price: 0.0079, currency: 'USD' },
      { country: '*', price: 0.05, currency: 'USD' },
    ])
    assert.deepEqual(vonage?.prices, [])
  })

  test('health and circuits, live from the sending thread', async () => {
    const ok = await Promise.all(['+14155550101', '+14155550102', '+14155550103'].map(send))
    await send('+13035550101')
    await send('+13035550102')
    const seen = await waitFor(
      async () => {
        const r = await providers(t)
        const sim = r.data.find((p) => p.name === 'sim')
        const flaky = r.data.find((p) => p.name === 'flaky')
        return (sim?.health?.sends ?? 0) >= ok.length && flaky?.circuit?.state === 'open'
          ? { r, sim, flaky }
          : undefined
      },
      10_000,
      'sends recorded and the flaky circuit open',
    )
    assert.equal(seen.r.source, 'live')
    const { sim, flaky } = seen
    assert.equal(sim?.health?.successRate, 1)
    assert.equal(typeof sim?.health?.latencyP50Ms, 'number')
    assert.ok((sim?.health?.latencyP99Ms ?? -1) >= (sim?.health?.latencyP50Ms ?? 0))
    assert.equal(sim?.health?.windowMs, 300_000)
    assert.deepEqual(sim?.circuit, { state: 'closed', openedAt: null, nextProbeAt: null })
    assert.equal(flaky?.health?.successRate, 0)
    assert.ok((flaky?.health?.consecutiveFailures ?? 0) >= 2)
    const openedAt = Date.parse(flaky?.circuit?.openedAt ?? '')
    assert.equal(Date.parse(flaky?.circuit?.nextProbeAt ?? ''), openedAt + COOLDOWN_MS)
    // An instance nothing was sent through yet: reported, with no sends.
    const vonage = seen.r.data.find((p) => p.name === 'vonage-eu')
    assert.equal(vonage?.health?.sends, 0)
    assert.equal(vonage?.health?.successRate, null)
    assert.equal(vonage?.circuit?.state, 'closed')
  })

  test('an API node of a cluster shows what the sending processes last wrote', async () => {
    const seen = await waitFor(
      async () => {
        const r = await providers(apiNode)
        const flaky = r.data.find((p) => p.name === 'flaky')
        return flaky?.circuit?.state === 'open' ? r : undefined
      },
      15_000,
      'the snapshot with the open circuit',
    )
    assert.equal(seen.source, 'snapshot')
    assert.equal(seen.data.find((p) => p.name === 'sim')?.health?.successRate, 1)
    // Its routes are its own configuration's.
    const routes = await get(apiNode, '/v1/routes')
    assert.equal(routes.json<{ data: unknown[] }>().data.length, 3)
  })
})

describe(`GET /v1/routes without ROUTES (${TEST_DB})`, () => {
  let t: TestSwitchboard
  before(async () => {
    t = await startTestSwitchboard({})
  })
  after(() => t.close())

  test('one default route over every instance', async () => {
    const res = await t.inject({ method: 'GET', url: '/v1/routes', headers: t.auth() })
    assert.deepEqual(res.json(), {
      source: 'default',
      data: [
        { index: 0, match: null, providers: ['simulator'], senders: [], failoverOnTimeout: false },
      ],
    })
  })
})

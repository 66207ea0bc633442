// Risk: the webhook secret cannot be read or rotated (so nobody can verify statusCallback
// signatures), a rotation breaks receivers mid-switch, or an endpoint removed from the
// configuration keeps receiving events after a restart.
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { verifyWebhook } from '../../src/domain/webhooks/signing.js'
import {
  freshDatabase,
  startTestSwitchboard,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'

interface Hit {
  path: string
  headers: IncomingMessage['headers']
  body: string
}

/** A local receiver: records every request; paths under /down answer 503. */
async function receiver(): Promise<{ url: string; hits: Hit[]; close: () => Promise<void> }> {
  const hits: Hit[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      hits.push({ path: req.url ?? '', headers: req.headers, body })
      res.writeHead(req.url?.startsWith('/down') ? 503 : 204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise((r) => server.close(() => r())),
  }
}

const secretOf = (n: number) => `whsec_${Buffer.alloc(32, n).toString('base64')}`

const verifies = (secret: string, h: Hit) =>
  verifyWebhook(
    secret,
    {
      id: String(h.headers['webhook-id']),
      timestamp: String(h.headers['webhook-timestamp']),
      signature: String(h.headers['webhook-signature']),
    },
    h.body,
  )

describe('webhook secret and endpoints', () => {
  let rx: Awaited<ReturnType<typeof receiver>>
  before(async () => {
    rx = await receiver()
  })
  after(() => rx.close())

  describe('a generated secret', () => {
    let t: TestSwitchboard
    /** The server's clock runs with real time plus `skipped`; workers re-read secrets each second. */
    let skipped = 0
    before(async () => {
      t = await startTestSwitchboard(
        { WEBHOOK_ALLOW_PRIVATE: 'true', WORKER_THREAD: 'false' },
        { now: () => Date.now() + skipped },
      )
    })
    after(() => t.close())

    const sendWithCallback = async (path: string) => {
      const res = await t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(),
        payload: { to: '+14155550100', body: 'hi', statusCallback: `${rx.url}${path}` },
      })
      assert.equal(res.statusCode, 202, res.body)
      return waitFor(
        () => rx.hits.find((h) => h.path === path && h.body.includes('message.delivered')),
        10_000,
        `delivered webhook at ${path}`,
      )
    }

    test('GET /v1/webhooks/secret shows the secret that signs statusCallbacks (admin only)', async () => {
      const denied = await t.inject({
        method: 'GET',
        url: '/v1/webhooks/secret',
        headers: t.auth(t.keys.write),
      })
      assert.equal(denied.statusCode, 403)
      const res = await t.inject({ method: 'GET', url: '/v1/webhooks/secret', headers: t.auth() })
      assert.equal(res.statusCode, 200)
      const body = res.json<{ secret: string; source: string; previousExpiresAt: null }>()
      assert.match(body.secret, /^whsec_/)
      assert.equal(body.source, 'generated')
      assert.equal(body.previousExpiresAt, null)
      const hit = await sendWithCallback('/before')
      assert.ok(verifies(body.secret, hit), 'the shown secret verifies the delivery')
      assert.doesNotMatch(String(hit.headers['webhook-signature']), / /, 'one signature')
    })

    test('rotation: both secrets sign during the overlap, only the new one after it', async () => {
      const old = (
        await t.inject({ method: 'GET', url: '/v1/webhooks/secret', headers: t.auth() })
      ).json<{ secret: string }>().secret
      const rotated = await t.inject({
        method: 'POST',
        url: '/v1/webhooks/secret/rotate',
        headers: t.auth(),
        payload: { overlapSeconds: 3600 },
      })
      assert.equal(rotated.statusCode, 200, rotated.body)
      const r = rotated.json<{ secret: string; previousExpiresAt: string }>()
      assert.notEqual(r.secret, old)
      assert.ok(Date.parse(r.previousExpiresAt) > Date.now() + 3_500_000)
      skipped += 1100 // workers re-read secrets at most every second
      const during = await sendWithCallback('/during')
      assert.ok(verifies(r.secret, during), 'the new secret verifies')
      assert.ok(verifies(old, during), 'the old secret still verifies during the overlap')
      assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2)

      const again = await t.inject({
        method: 'POST',
        url: '/v1/webhooks/secret/rotate',
        headers: t.auth(),
        payload: { overlapSeconds: 0 },
      })
      const newest = again.json<{ secret: string; previousExpiresAt: null }>()
      assert.equal(newest.previousExpiresAt, null)
      skipped += 1100
      const afterwards = await sendWithCallback('/after')
      assert.ok(verifies(newest.secret, afterwards))
      assert.ok(!verifies(r.secret, afterwards), 'no overlap: the replaced secret no longer signs')
    })
  })

  test('WEBHOOK_SECRET from the configuration is shown and cannot be rotated by the API', async () => {
    const t = await startTestSwitchboard({ WEBHOOK_SECRET: secretOf(3) })
    try {
      const res = await t.inject({ method: 'GET', url: '/v1/webhooks/secret', headers: t.auth() })
      assert.deepEqual(res.json(), {
        secret: secretOf(3),
        source: 'configuration',
        previousExpiresAt: null,
      })
      const rotate = await t.inject({
        method: 'POST',
        url: '/v1/webhooks/secret/rotate',
        headers: t.auth(),
      })
      assert.equal(rotate.statusCode, 409)
      assert.equal(
        rotate.json<{ error: { code: string } }>().error.code,
        'webhook_secret_configured',
      )
    } finally {
      await t.close()
    }
  })

  test('an endpoint removed from WEBHOOK_ENDPOINTS stops receiving after a restart; its queue is dropped', async () => {
    const database = await freshDatabase()
    const keep = { url: `${rx.url}/keep`, secret: secretOf(4) }
    const gone = { url: `${rx.url}/down/gone`, secret: secretOf(5) }
    // A long retry schedule: the failing endpoint's deliveries stay pending.
    const env = { WEBHOOK_RETRY_SCHEDULE: '3600', WEBHOOK_ALLOW_PRIVATE: 'true' }
    let t = await startTestSwitchboard(
      { ...env, WEBHOOK_ENDPOINTS: JSON.stringify([keep, gone]) },
      { database },
    )
    try {
      const first = await t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(),
        payload: { to: '+14155550100', body: 'one' },
      })
      const firstId = first.json<{ id: string }>().id
      await waitFor(
        () => rx.hits.find((h) => h.path === '/down/gone' && h.body.includes('delivered')),
        10_000,
        'a first attempt at the failing endpoint',
      )
      await t.close()

      t = await startTestSwitchboard(
        { ...env, WEBHOOK_ENDPOINTS: JSON.stringify([keep]) },
        { database },
      )
      const listed = await t.inject({
        method: 'GET',
        url: '/v1/webhooks/endpoints',
        headers: t.auth(),
      })
      assert.equal(listed.statusCode, 200)
      const byUrl = new Map(
        listed
          .json<{ data: { url: string; status: string }[] }>()
          .data.map((e) => [e.url, e.status]),
      )
      assert.equal(byUrl.get(keep.url), 'active')
      assert.equal(byUrl.get(gone.url), 'removed')

      const log = await t.inject({
        method: 'GET',
        url: `/v1/messages/${firstId}/webhooks`,
        headers: t.auth(),
      })
      const goneDeliveries = log
        .json<{ data: { url: string; status: string; lastError: string | null }[] }>()
        .data.filter((d) => d.url === gone.url)
      assert.ok(goneDeliveries.length > 0)
      for (const d of goneDeliveries) {
        assert.equal(d.status, 'dropped')
        assert.equal(d.lastError, 'endpoint_removed')
      }

      const before = rx.hits.filter((h) => h.path === '/down/gone').length
      await t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(),
        payload: { to: '+14155550101', body: 'two' },
      })
      await waitFor(
        () => rx.hits.find((h) => h.path === '/keep' && h.body.includes('+14155550101')),
        10_000,
        'the kept endpoint receives the new message',
      )
      await new Promise((res) => setTimeout(res, 300))
      assert.equal(rx.hits.filter((h) => h.path === '/down/gone').length, before)
    } finally {
      await t.close()
      await database.drop()
    }
  })
})

// Risk: the webhook worker reaches internal addresses (an SSRF port scanner), leaks raw
// connection errors or credentials, counts a failed answer as delivered, loses its retry
// policy (jitter, 410 Gone), or lets one slow receiver stall deliveries to every other.
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, afterEach, before, describe, test } from 'node:test'
import pino from 'pino'
import type { WebhookDeliveryRecord } from '../../src/domain/webhooks/delivery.js'
import type { Resolver } from '../../src/net/destination-guard.js'
import { WebhookWorker, type WebhookWorkerOptions } from '../../src/queue/webhook.worker.js'
import { Store } from '../../src/store/store.js'
import { openTestStore, waitFor } from '../support/harness.js'

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`
const CLOCK = 1_800_000_000_000

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** A local receiver that counts connections and requests and answers with `handler`. */
class Receiver {
  connections = 0
  readonly requests: { url: string; headers: IncomingMessage['headers']; body: string }[] = []
  handler: Handler = (_req, res) => res.writeHead(204).end()
  readonly server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      this.requests.push({ url: req.url ?? '', headers: req.headers, body })
      this.handler(req, res)
    })
  })
  constructor() {
    this.server.on('connection', () => this.connections++)
  }
  async listen(host: string, port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, resolve)
    })
    return (this.server.address() as AddressInfo).port
  }
  close(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((r) => this.server.close(() => r()))
  }
}

describe('webhook worker', () => {
  let closeStore: () => Promise<void>
  let store: Store
  let worker: WebhookWorker | undefined
  let seq = 0

  before(async () => {
    ;({ store, close: closeStore } = await openTestStore())
  })
  afterEach(async () => {
    await worker?.stop()
    worker = undefined
    await store.db.kysely.deleteFrom('webhook_deliveries').execute()
  })
  after(async () => {
    await closeStore()
  })

  const start = (o: Partial<WebhookWorkerOptions> = {}) => {
    worker = new WebhookWorker({
      store,
      logger: pino({ level: 'silent' }),
      keys: { refresh: async () => undefined, for: () => [SECRET] },
      timeoutMs: 5_000,
      retryScheduleSeconds: [10, 20, 30],
      pollMs: 5,
      allowPrivate: false,
      now: () => CLOCK,
      random: () => 0.5,
      ...o,
    })
    worker.start()
    return worker
  }

  /** A pending delivery to `url`, due now, under its own message id. */
  const enqueue = async (url: string, due = CLOCK): Promise<WebhookDeliveryRecord> => {
    seq++
    const d: WebhookDeliveryRecord = {
      id: `whd_test${String(seq).padStart(6, '0')}`,
      message_id: `msg_test${String(seq).padStart(6, '0')}`,
      endpoint_id: null,
      url,
      destination: new URL(url).origin,
      event_type: 'message.sent',
      payload: JSON.stringify({ type: 'message.sent', n: seq }),
      status: 'pending',
      attempts: 0,
      next_attempt_at: due,
      lease_owner: null,
      lease_until: null,
      last_status_code: null,
      last_error: null,
      created_at: CLOCK,
      updated_at: CLOCK,
    }
    await store.db.kysely.insertInto('webhook_deliveries').values(d).execute()
    return d
  }
  const row = async (d: WebhookDeliveryRecord) => {
    const [r] = await store.listDeliveries(d.message_id ?? '')
    assert.ok(r)
    return r
  }
  /** The delivery once its first attempt is recorded. */
  const attempted = (d: WebhookDeliveryRecord) =>
    waitFor(async () => {
      const r = await row(d)
      return r.attempts > 0 ? r : undefined
    })

  test('loopback in every spelling is refused before connecting; the log holds only the reason', async () => {
    const v4 = new Receiver()
    const port = await v4.listen('127.0.0.1')
    const v6 = new Receiver()
    const hasV6 = await v6.listen('::1', port).then(
      () => true,
      () => false,
    )
    try {
      const spellings = [
        `http://127.0.0.1:${port}/`,
        `http://127.1:${port}/`,
        `http://2130706433:${port}/`,
        `http://0x7f.1:${port}/`,
        `http://0.0.0.0:${port}/`,
        `http://localhost:${port}/`,
        `http://localhost.:${port}/`,
        `http://[::ffff:127.0.0.1]:${port}/`,
        `https://127.0.0.1:${port}/`,
        ...(hasV6 ? [`http://[::1]:${port}/`, `http://[::]:${port}/`] : []),
      ]
      const ds = await Promise.all(spellings.map((u) => enqueue(u)))
      start()
      for (const d of ds) {
        const r = await attempted(d)
        assert.equal(r.last_error, 'destination_not_allowed', d.url)
        assert.equal(r.status, 'pending', 'a refusal is retried like any failure')
        const [a] = await store.listAttempts([d.id])
        assert.equal(a?.error, 'destination_not_allowed')
        assert.equal(a?.status_code, null)
      }
      assert.equal(v4.connections + v6.connections, 0, 'nothing reached a listener')
    } finally {
      await v4.close()
      if (hasV6) await v6.close()
    }
  })

  test('with WEBHOOK_ALLOW_PRIVATE the local listener receives the delivery', async () => {
    const r = new Receiver()
    const port = await r.listen('127.0.0.1')
    try {
      const d = await enqueue(`http://127.1:${port}/hook`)
      start({ allowPrivate: true })
      assert.equal((await attempted(d)).status, 'succeeded')
      assert.equal(r.requests.length, 1)
      assert.equal(r.requests[0]?.url, '/hook')
    } finally {
      await r.close()
    }
  })

  test('a delivery during a jump of the wall clock records its real duration', async () => {
    const r = new Receiver()
    const port = await r.listen('127.0.0.1')
    let clock = CLOCK
    // The clock jumps 30 days while the receiver answers (an injected clock, NTP): the duration
    // comes from the monotonic clock, not from the difference (which no integer column holds).
    r.handler = (_req, res) => {
      clock += 30 * 86_400_000
      res.writeHead(204).end()
    }
    try {
      const d = await enqueue(`http://127.1:${port}/hook`)
      start({ allowPrivate: true, now: () => clock })
      assert.equal((await attempted(d)).status, 'succeeded')
      const [a] = await store.db.kysely
        .selectFrom('webhook_attempts')
        .select(['duration_ms'])
        .where('delivery_id', '=', d.id)
        .execute()
      assert.ok(
        a && Number(a.duration_ms) >= 0 && Number(a.duration_ms) < 60_000,
        String(a?.duration_ms),
      )
    } finally {
      await r.close()
    }
  })

  test('a delivery whose endpoint left the configuration is dropped as endpoint_removed, never sent', async () => {
    const r = new Receiver()
    const port = await r.listen('127.0.0.1')
    try {
      const d = await enqueue(`http://127.0.0.1:${port}/gone`)
      await store.db.kysely
        .updateTable('webhook_deliveries')
        .set({ endpoint_id: 'wep_gone', destination: 'endpoint:wep_gone' })
        .where('id', '=', d.id)
        .execute()
      start({
        allowPrivate: true,
        keys: { refresh: async () => undefined, for: (id) => (id === null ? [SECRET] : undefined) },
      })
      const done = await attempted(d)
      assert.equal(done.status, 'dropped')
      assert.equal(done.last_error, 'endpoint_removed')
      assert.equal(r.requests.length, 0)
    } finally {
      await r.close()
    }
  })

  test('a public name resolving to an internal address is refused without connecting', async () => {
    const connects: string[] = []
    const internal = [
      '10.0.0.5',
      '172.16.3.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '127.0.0.1',
      'fc00::1',
      'fd12::1',
      'fe80::1',
      '::ffff:10.0.0.1',
      '::ffff:a00:1',
      '::1',
    ]
    const answers = new Map<string, string[]>([
      ...internal.map((a, i) => [`h${i}.example.com`, [a]] as [string, string[]]),
      // One internal address among public ones is enough to refuse the name.
      ['mixed.example.com', ['93.184.215.14', '10.1.2.3']],
    ])
    const resolve: Resolver = async (host) => {
      const found = answers.get(host)
      if (found) return found.map((address) => ({ address }))
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    }
    const refused = await Promise.all([...answers.keys()].map((h) => enqueue(`https://${h}/hooks`)))
    const unknown = await enqueue('https://nowhere.example.com/hooks')
    start({
      guard: {
        resolve,
        connector: (opts, cb) => {
          connects.push(opts.hostname)
          cb(new Error('tests never connect'), null)
        },
      },
    })
    for (const d of refused) {
      assert.equal((await attempted(d)).last_error, 'destination_not_allowed', d.url)
    }
    assert.equal((await attempted(unknown)).last_error, 'dns_error')
    assert.deepEqual(connects, [], 'no connection was attempted')
  })

  test('connection failures are recorded as a reason, never as the error text', async () => {
    const r = new Receiver()
    const port = await r.listen('127.0.0.1')
    await r.close() // nothing listens there now
    const d = await enqueue(`http://127.0.0.1:${port}/`)
    start({ allowPrivate: true })
    const got = await attempted(d)
    assert.equal(got.last_error, 'connection_refused')
    const [a] = await store.listAttempts([d.id])
    assert.equal(a?.error, 'connection_refused')
  })

  test('only 2xx is delivered: 3xx and 4xx are retried with ±10% jitter, 410 Gone stops at once', async () => {
    const r = new Receiver()
    const port = await r.listen('127.0.0.1')
    const answers: Record<string, number> = {
      '/ok': 200,
      '/created': 201,
      '/moved': 302,
      '/not-modified': 304,
      '/bad': 400,
      '/unauthorized': 401,
      '/not-found': 404,
      '/error': 500,
      '/gone': 410,
    }
    r.handler = (req, res) =>
      res.writeHead(answers[req.url ?? ''] ?? 500, { location: '/ok' }).end()
    try {
      const ds = new Map<string, WebhookDeliveryRecord>()
      for (const path of Object.keys(answers)) {
        ds.set(path, await enqueue(`http://127.0.0.1:${port}${path}`))
      }
      // random() = 1: the largest jitter, +10% of the first delay (10 s).
      start({ allowPrivate: true, random: () => 1 })
      for (const [path, d] of ds) {
        const got = await attempted(d)
        const code = answers[path]
        assert.equal(got.last_status_code, code, path)
        if (code === 200 || code === 201) {
          assert.equal(got.status, 'succeeded', path)
        } else if (code === 410) {
          assert.equal(got.status, 'failed', '410 Gone ends the retries')
          assert.equal(got.next_attempt_at, null)
        } else {
          assert.equal(got.status, 'pending', `${path}: ${code} is not a delivery`)
          assert.equal(got.next_attempt_at, CLOCK + 11_000, `${path}: 10 s + 10% jitter`)
        }
      }
      assert.equal(r.requests.length, ds.size, 'redirects are not followed')
    } finally {
      await r.close()
    }
  })

  test('jitter is drawn per retry: the smallest draw waits 90% of the scheduled delay', async () => {
    const r = new Receiver()
    const port = await r.listen('127.0.0.1')
    r.handler = (_req, res) => res.writeHead(503).end()
    try {
      const d = await enqueue(`http://127.0.0.1:${port}/`)
      start({ allowPrivate: true, random: () => 0 })
      assert.equal((await attempted(d)).next_attempt_at, CLOCK + 9_000)
    } finally {
      await r.close()
    }
  })

  test("a receiver's Retry-After is waited for when it is longer than the schedule's delay", async () => {
    const r = new Receiver()
    const port = await r.listen('127.0.0.1')
    r.handler = (_req, res) => res.writeHead(429, { 'retry-after': '60' }).end()
    try {
      const d = await enqueue(`http://127.0.0.1:${port}/`)
      start({ allowPrivate: true })
      assert.equal((await attempted(d)).next_attempt_at, CLOCK + 60_000)
    } finally {
      await r.close()
    }
  })

  test('user info in the URL is sent as Basic auth and never in the request', async () => {
    const r = new Receiver()
    const port = await r.listen('127.0.0.1')
    try {
      const d = await enqueue(`http://hook%20user:p%40ss:word@127.0.0.1:${port}/cb?x=1`)
      start({ allowPrivate: true })
      assert.equal((await attempted(d)).status, 'succeeded')
      const got = r.requests[0]
      assert.ok(got)
      assert.equal(got.url, '/cb?x=1')
      assert.equal(got.headers.host, `127.0.0.1:${port}`)
      assert.equal(
        got.headers.authorization,
        `Basic ${Buffer.from('hook user:p@ss:word').toString('base64')}`,
      )
    } finally {
      await r.close()
    }
  })

  test('a slow receiver holds only its own slots: others are claimed and delivered meanwhile', async () => {
    const slow = new Receiver()
    const fast = new Receiver()
    const slowPort = await slow.listen('127.0.0.1')
    const fastPort = await fast.listen('127.0.0.1')
    const held: ServerResponse[] = []
    let inFlight = 0
    let maxInFlight = 0
    slow.handler = (_req, res) => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      held.push(res)
    }
    try {
      // The slow receiver's deliveries are due first, so a claim in due order takes them all.
      const slowOnes: WebhookDeliveryRecord[] = []
      for (let i = 0; i < 10; i++) {
        slowOnes.push(await enqueue(`http://127.0.0.1:${slowPort}/slow`, CLOCK - 1000 + i))
      }
      const w = start({ allowPrivate: true, perDestination: 3 })
      await waitFor(() => (held.length === 3 ? true : undefined))
      // Work that arrives while the slow receiver holds its slots is still claimed.
      const fastOnes: WebhookDeliveryRecord[] = []
      for (let i = 0; i < 5; i++) fastOnes.push(await enqueue(`http://127.0.0.1:${fastPort}/`))
      w.wake()
      for (const d of fastOnes) assert.equal((await attempted(d)).status, 'succeeded')
      assert.equal(fast.requests.length, 5)
      assert.equal(held.length, 3, 'the slow receiver still has only its 3 slots')
      for (const d of slowOnes) assert.equal((await row(d)).attempts, 0)
      // Released, the slow receiver gets the rest, never more than 3 at a time.
      const release = () => {
        for (const res of held.splice(0)) {
          inFlight--
          res.writeHead(204).end()
        }
      }
      const done = await waitFor(async () => {
        release()
        const rows = await Promise.all(slowOnes.map((d) => row(d)))
        return rows.every((x) => x.status === 'succeeded') ? rows : undefined
      })
      assert.equal(done.length, 10)
      assert.equal(maxInFlight, 3)
    } finally {
      for (const res of held) res.destroy()
      await slow.close()
      await fast.close()
    }
  })
})

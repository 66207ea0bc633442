// Risk: webhook events cannot be put back in order by a receiver, a statusCallback password
// is echoed by the API or in payloads, or an internal destination is accepted at intake or
// at boot.
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { ConfigError, loadConfig } from '../../src/config.js'
import { startSwitchboard } from '../../src/main.js'
import { checkedAddress, systemResolver } from '../../src/net/destination-guard.js'
import {
  freshDatabase,
  startTestSwitchboard,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'

interface Hook {
  type: string
  sequence: number
  data: { id: string; status: string; statusCallback: string }
}

describe('webhook events', () => {
  let t: TestSwitchboard
  let receiver: Server
  let port = 0
  const received: { headers: IncomingMessage['headers']; hook: Hook }[] = []

  before(async () => {
    receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        received.push({ headers: req.headers, hook: JSON.parse(body) as Hook })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
    port = (receiver.address() as AddressInfo).port
    t = await startTestSwitchboard({
      DEFAULT_COUNTRY: 'US',
      MAX_ATTEMPTS: '2',
      SIMULATOR_RULES: JSON.stringify([{ match: '+14155550177', outcome: 'server_error' }]),
      // The receiver is on loopback, which webhooks may only reach with this opt-in.
      WEBHOOK_ALLOW_PRIVATE: 'true',
    })
  })
  after(async () => {
    await t.close()
    await new Promise((r) => receiver.close(r))
  })

  const send = (payload: Record<string, unknown>) =>
    t.inject({ method: 'POST', url: '/v1/messages', headers: t.auth(), payload })
  const hooksOf = (id: string, n: number) =>
    waitFor(() => {
      const hooks = received.filter((r) => r.hook.data.id === id)
      return hooks.length >= n ? hooks : undefined
    })
  const timeline = async (id: string) =>
    (await t.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: t.auth() }))
      .json<{ events: { status: string }[] }>()
      .events.map((e) => e.status)

  /** Sorted by sequence, the events read as the message's timeline (after queued). */
  const assertOrdered = async (id: string, statuses: string[]) => {
    const hooks = await hooksOf(id, statuses.length)
    const bySequence = [...hooks].sort((a, b) => a.hook.sequence - b.hook.sequence)
    assert.deepEqual(
      bySequence.map((h) => h.hook.sequence),
      statuses.map((_, i) => i + 1),
      'one strictly increasing sequence per message, from 1',
    )
    assert.deepEqual(
      bySequence.map((h) => h.hook.type),
      statuses.map((s) => `message.${s}`),
    )
    assert.deepEqual(await timeline(id), ['queued', ...statuses])
  }

  test('each event carries a per-message sequence that follows the status order', async () => {
    const url = `http://127.0.0.1:${port}/hook`
    const ok = (await send({ to: '+14155550170', body: 'a', statusCallback: url })).json<
      Hook['data']
    >()
    await assertOrdered(ok.id, ['sending', 'sent', 'delivered'])
    // A retry and a final failure: sending -> queued -> sending -> failed.
    const failing = (await send({ to: '+14155550177', body: 'b', statusCallback: url })).json<
      Hook['data']
    >()
    await assertOrdered(failing.id, ['sending', 'queued', 'sending', 'failed'])
    // A scheduled message canceled: its first webhook is the cancel (queued/scheduled make none).
    const later = (
      await send({
        to: '+14155550171',
        body: 'c',
        statusCallback: url,
        sendAt: new Date(Date.now() + 3_600_000).toISOString(),
      })
    ).json<Hook['data']>()
    const cancel = await t.inject({
      method: 'POST',
      url: `/v1/messages/${later.id}/cancel`,
      headers: t.auth(),
    })
    assert.equal(cancel.statusCode, 200)
    const [canceled] = await hooksOf(later.id, 1)
    assert.equal(canceled?.hook.type, 'message.canceled')
    assert.equal(canceled?.hook.sequence, 1)
  })

  test('a statusCallback password goes out as Basic auth and is shown masked everywhere', async () => {
    const url = `http://hook:s3cret@127.0.0.1:${port}/hook`
    const shown = `http://hook:****@127.0.0.1:${port}/hook`
    const accepted = await send({ to: '+14155550172', body: 'd', statusCallback: url })
    assert.equal(accepted.statusCode, 202)
    const m = accepted.json<Hook['data']>()
    assert.equal(m.statusCallback, shown)
    const hooks = await hooksOf(m.id, 3)
    for (const h of hooks) {
      assert.equal(h.hook.data.statusCallback, shown)
      assert.equal(
        h.headers.authorization,
        `Basic ${Buffer.from('hook:s3cret').toString('base64')}`,
      )
    }
    const views = [
      await t.inject({ method: 'GET', url: `/v1/messages/${m.id}`, headers: t.auth() }),
      await t.inject({ method: 'GET', url: '/v1/messages?limit=5', headers: t.auth() }),
      await t.inject({ method: 'GET', url: `/v1/messages/${m.id}/webhooks`, headers: t.auth() }),
    ]
    for (const v of views) {
      assert.equal(v.statusCode, 200)
      assert.ok(v.body.includes(shown), v.body.slice(0, 200))
      assert.doesNotMatch(v.body, /s3cret/)
    }
  })
})

describe('webhook destinations at intake and boot', () => {
  let t: TestSwitchboard
  before(async () => {
    t = await startTestSwitchboard({ DEFAULT_COUNTRY: 'US' })
  })
  after(async () => {
    await t.close()
  })

  test('a statusCallback naming an internal address literally is refused with 422', async () => {
    for (const statusCallback of [
      'http://127.0.0.1:3999/x',
      'http://127.1/x',
      'http://2130706433/x',
      'http://[::1]/x',
      'http://0.0.0.0/x',
      'http://localhost./x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::ffff:10.0.0.1]/x',
    ]) {
      const res = await t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(),
        payload: { to: '+14155550180', body: 'x', statusCallback },
      })
      assert.equal(res.statusCode, 422, statusCallback)
      const err = res.json<{ error: { code: string; details: Record<string, unknown> } }>().error
      assert.equal(err.code, 'validation_failed')
      assert.deepEqual(err.details, { field: 'statusCallback', reason: 'destination_not_allowed' })
    }
    const named = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(),
      payload: { to: '+14155550180', body: 'x', statusCallback: 'https://hooks.example.com/x' },
    })
    assert.equal(named.statusCode, 202, 'a host name is checked when it is connected to')
  })

  test("an endpoint whose name resolves to an internal address stops the boot (this machine's name)", async (ctx) => {
    // This machine's own name resolves through /etc/hosts to a loopback or private address
    // almost everywhere; where it does not, there is nothing to prove here.
    const name = hostname()
    const internal = await checkedAddress(name, systemResolver).then(
      () => false,
      (err: Error) => err.name === 'DestinationNotAllowedError',
    )
    if (!internal) return ctx.skip(`${name} does not resolve to an internal address`)
    const database = await freshDatabase()
    try {
      const config = loadConfig({
        ...database.env,
        LOG_LEVEL: 'silent',
        WORKER_THREAD: 'false',
        WEBHOOK_ENDPOINTS: JSON.stringify([
          {
            url: `http://${name}:9/hook`,
            secret: `whsec_${Buffer.alloc(32, 5).toString('base64')}`,
          },
        ]),
      })
      const outcome: unknown = await startSwitchboard(config, {
        listen: false,
        logger: pino({ level: 'silent' }),
      }).then(
        async (sb) => {
          await sb.stop()
          return 'started'
        },
        (err: unknown) => err,
      )
      assert.ok(outcome instanceof ConfigError, String(outcome))
      assert.match(outcome.message, /WEBHOOK_ALLOW_PRIVATE/)
    } finally {
      await database.drop()
    }
  })
})

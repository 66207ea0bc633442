// Risk covered: when the primary provider fails, messages are lost, sent twice, or stay with the
// failing provider; traffic never returns once it recovers; or, with every provider down,
// messages fail instead of waiting. Two simulator servers speak HTTP to two simulator-http
// instances; the primary is switched to answering 503 and back while messages keep coming.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  startSimulatorServer,
  type SimulatorServer,
} from '../../src/providers/simulator/simulator.server.js'
import { closedPort } from '../../src/providers/test-upstream.js'
import {
  startTestSwitchboard,
  statusCounts,
  TEST_DB,
  waitFor,
  type TestSwitchboard,
} from '../support/harness.js'

const SECRET = 'failover-test-secret'
const COOLDOWN_MS = 500
const ALL_FAIL = [{ match: '+', outcome: 'server_error' as const }]
/** The bound: traffic is on the secondary within 5 seconds of the primary failing. */
const MOVE_WITHIN_MS = 5000

describe(`failover between two providers (${TEST_DB})`, () => {
  let primary: SimulatorServer
  let secondary: SimulatorServer
  let t: TestSwitchboard
  let n = 0

  before(async () => {
    const port = await closedPort()
    const publicUrl = `http://127.0.0.1:${port}`
    const sim = (name: string) =>
      startSimulatorServer({
        webhookSecret: SECRET,
        callbackUrl: `${publicUrl}/webhooks/${name}/status`,
        dlrDelayMs: 5,
      })
    primary = await sim('primary')
    secondary = await sim('secondary')
    t = await startTestSwitchboard({
      PUBLIC_URL: publicUrl,
      PROVIDERS: JSON.stringify([
        { name: 'primary', type: 'simulator-http', url: primary.url, webhookSecret: SECRET },
        { name: 'secondary', type: 'simulator-http', url: secondary.url, webhookSecret: SECRET },
      ]),
      CIRCUIT_FAILURES: '5',
      CIRCUIT_COOLDOWN_MS: String(COOLDOWN_MS),
    })
    await t.sb.app?.listen({ port, host: '127.0.0.1' })
  })
  after(async () => {
    await t?.close()
    await primary?.close()
    await secondary?.close()
  })

  const send = async (): Promise<string> => {
    const to = `+1415555${String(1000 + (n++ % 9000))}`
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(t.keys.write),
      payload: { to, body: `failover ${n}` },
    })
    assert.equal(res.statusCode, 202, res.body)
    return res.json<{ id: string }>().id
  }
  /** Sends a message every 20 ms for `ms`; returns the ids with when each was submitted. */
  const traffic = async (ms: number) => {
    const sent: { id: string; at: number }[] = []
    const end = Date.now() + ms
    while (Date.now() < end) {
      sent.push({ id: await send(), at: Date.now() })
      await new Promise((r) => setTimeout(r, 20))
    }
    return sent
  }
  const rows = () =>
    t.sb.store.db.kysely
      .selectFrom('messages')
      .select(['id', 'status', 'provider', 'error_code', 'attempts'])
      .execute()
  const allDelivered = async (total: number) =>
    waitFor(
      async () => {
        const c = await statusCounts(t)
        return c.delivered === total ? c : undefined
      },
      30_000,
      `${total} messages delivered`,
    )
  /** Each message was accepted by exactly one of the two providers, once. */
  const acceptedOnce = (ids: readonly string[]) => {
    const a = new Set(primary.core.acceptedIds())
    const b = new Set(secondary.core.acceptedIds())
    for (const id of ids) {
      assert.ok(a.has(id) !== b.has(id), `${id}: accepted by exactly one provider`)
    }
    assert.equal(primary.core.stats().duplicates + secondary.core.stats().duplicates, 0)
  }

  test('the primary answers 503: traffic moves to the secondary, nothing lost, and comes back', async () => {
    const healthy = await traffic(400)
    await waitFor(async () =>
      (await statusCounts(t)).delivered === healthy.length ? true : undefined,
    )
    assert.ok(
      (await rows()).every((r) => r.provider === 'primary'),
      'healthy: all on the primary',
    )

    primary.core.setRules(ALL_FAIL)
    const failedAt = Date.now()
    const triedBefore = primary.core.stats().attempts
    const during = await traffic(1500)
    // Its open circuit kept it out of use: 5 failures, then a probe per cooldown (and the
    // sends already under way when it opened), not a try per message.
    const tried = primary.core.stats().attempts - triedBefore
    assert.ok(
      tried < during.length / 2,
      `${tried} tries on the failing primary for ${during.length}`,
    )
    const movedAt = await waitFor(
      () => (secondary.core.stats().uniqueAccepted > 0 ? Date.now() : undefined),
      MOVE_WITHIN_MS,
      'a message on the secondary',
    )
    assert.ok(movedAt - failedAt < MOVE_WITHIN_MS, `moved after ${movedAt - failedAt} ms`)

    primary.core.setRules([])
    const recoveredAt = Date.now()
    const later = await traffic(2000)

    const ids = [...healthy, ...during, ...later].map((s) => s.id)
    assert.deepEqual(await allDelivered(ids.length), { delivered: ids.length })
    acceptedOnce(ids)
    const byId = new Map((await rows()).map((r) => [r.id, r]))
    // Each message records the instance that took it.
    for (const id of ids) {
      const provider = new Set(primary.core.acceptedIds()).has(id) ? 'primary' : 'secondary'
      assert.equal(byId.get(id)?.provider, provider, id)
    }
    const on = (list: typeof during, p: string) =>
      list.filter((s) => byId.get(s.id)?.provider === p).length
    // While the primary failed, its circuit opened after 5 failures: the rest went to the
    // secondary (failing ones moved on at once), apart from nothing.
    assert.equal(on(during, 'primary'), 0, 'nothing accepted by the failing primary')
    assert.equal(on(during, 'secondary'), during.length)
    // Once a probe found it healthy again (within a cooldown and a send), traffic returned.
    const settled = later.filter((s) => s.at > recoveredAt + COOLDOWN_MS + 500)
    assert.ok(settled.length > 10)
    assert.equal(on(settled, 'primary'), settled.length, 'back on the primary')
  })

  test('every provider failing: messages wait (no_provider_available) and go out once one recovers', async () => {
    const before = (await rows()).length
    primary.core.setRules(ALL_FAIL)
    secondary.core.setRules(ALL_FAIL)
    const down = await traffic(300)
    const waiting = await waitFor(
      async () => {
        const mine = (await rows()).filter((r) => down.some((d) => d.id === r.id))
        const w = mine.filter(
          (r) => r.status === 'queued' && r.error_code === 'no_provider_available',
        )
        return w.length > 0 ? { w, mine } : undefined
      },
      5000,
      'messages waiting for a provider',
    )
    assert.ok(waiting.mine.every((r) => r.status !== 'failed'))
    // Waiting does not use up attempts: at most the probes each message happened to make.
    assert.ok(
      waiting.w.every((r) => r.attempts < 5),
      'attempts stay low while waiting',
    )

    primary.core.setRules([])
    secondary.core.setRules([])
    const total = before + down.length
    assert.deepEqual(await allDelivered(total), { delivered: total })
    acceptedOnce(down.map((d) => d.id))
  })
})

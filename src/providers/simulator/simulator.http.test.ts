import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { MalformedWebhook } from '../provider.js'
import { CallbackSender } from './callback-sender.js'
import { createSimulatorHttpProvider } from './simulator-http.provider.js'
import { signSimulatorBody } from './simulator-signature.js'
import { startSimulatorServer, type SimulatorServer } from './simulator.server.js'
import { makeSms, startReceiver, waitFor, type Receiver } from './test-helpers.js'

const SECRET = 'http-test-secret'
const signal = () => AbortSignal.timeout(5000)

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('simulator over HTTP', () => {
  let receiver: Receiver
  let sim: SimulatorServer
  let provider: ReturnType<typeof createSimulatorHttpProvider>

  before(async () => {
    receiver = await startReceiver()
    sim = await startSimulatorServer({
      webhookSecret: SECRET,
      callbackUrl: receiver.url,
      dlrDelayMs: 5,
      retryAfterMs: 1500,
      timeoutHoldMs: 5000,
      rules: [
        { match: '+1555000', outcome: 'server_error' },
        { match: '+1555001', outcome: 'rate_limited' },
        { match: '+1555002', outcome: 'timeout' },
        { match: '+1555003', outcome: 'invalid_number' },
        { match: '+1555004', outcome: 'opted_out' },
      ],
    })
    provider = createSimulatorHttpProvider({
      name: 'sim-http',
      url: sim.url,
      webhookSecret: SECRET,
      timeoutMs: 1000, // loaded CI machines answered ordinary sends in over 300 ms
    })
  })

  after(async () => {
    await provider.stop?.()
    await sim.close()
    await receiver.close()
  })

  test('each outcome class maps to the right SendResult', async () => {
    const accepted = await provider.send(makeSms('+447700900123'), signal())
    assert.equal(accepted.outcome, 'accepted')
    assert.match(accepted.outcome === 'accepted' ? accepted.providerMessageIds[0] : '', /^SIM/)
    assert.deepEqual(await provider.send(makeSms('+15550001'), signal()), {
      outcome: 'retry',
      code: 'provider_unavailable',
      message: 'HTTP 503',
    })
    assert.deepEqual(await provider.send(makeSms('+15550011'), signal()), {
      outcome: 'retry',
      code: 'provider_rate_limited',
      after: 2000,
    })
    assert.deepEqual(await provider.send(makeSms('+15550031'), signal()), {
      outcome: 'rejected',
      code: 'invalid_number',
    })
    assert.deepEqual(await provider.send(makeSms('+15550041'), signal()), {
      outcome: 'rejected',
      code: 'recipient_opted_out',
      suppress: true,
    })
  })

  test('a held request is an unknown outcome at timeoutMs, and the simulator did count it', async () => {
    const sms = makeSms('+15550021')
    const started = performance.now()
    const result = await provider.send(sms, signal())
    const elapsed = performance.now() - started
    assert.deepEqual(result, {
      outcome: 'unknown',
      code: 'provider_outcome_unknown',
      message: 'aborted',
    })
    assert.ok(elapsed >= 980, `gave up after ${elapsed} ms, before its timeout`)
    assert.equal(sim.core.acceptedCount(sms.id), 1)
    const res = await fetch(`${sim.url}/v1/stats`)
    const stats = (await res.json()) as Record<string, unknown>
    assert.equal(stats.timeouts, 1)
    assert.equal(stats.attempts, sim.core.stats().attempts)
  })

  test('connection refused is a provider_connection_error', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    const down = createSimulatorHttpProvider({ name: 'down', url, webhookSecret: SECRET })
    const result = await down.send(makeSms('+447700900124'), signal())
    assert.equal(result.outcome, 'retry')
    assert.equal(result.code, 'provider_connection_error')
    await down.stop?.()
  })

  test('an injected fetch transport works the same', async () => {
    const viaFetch = createSimulatorHttpProvider({
      name: 'f',
      url: sim.url,
      webhookSecret: SECRET,
      fetch,
    })
    assert.equal((await viaFetch.send(makeSms('+447700900125'), signal())).outcome, 'accepted')
    const limited = await viaFetch.send(makeSms('+15550012'), signal())
    assert.equal(limited.outcome === 'retry' ? limited.after : 0, 2000)
  })

  test('signed callbacks arrive and verify; tampering and stale timestamps fail', async () => {
    const result = await provider.send(makeSms('+447700900126'), signal())
    assert.ok(result.outcome === 'accepted')
    const request = await waitFor(() =>
      receiver.requests.find((r) => r.rawBody.toString().includes(result.providerMessageIds[0])),
    )
    assert.ok(request)
    const outcome = provider.handleWebhook?.(request)
    assert.equal(outcome?.verified, true)
    const events = outcome?.verified ? outcome.events : []
    assert.ok(
      events.some(
        (e) => e.type === 'status' && e.providerMessageId === result.providerMessageIds[0],
      ),
    )

    const tampered = {
      ...request,
      rawBody: Buffer.from(request.rawBody.toString().replace('delivered', 'undelivered')),
    }
    assert.equal(provider.handleWebhook?.(tampered).verified, false)
    const resigned = {
      ...request,
      headers: { ...request.headers, ...signSimulatorBody('wrong', request.rawBody) },
    }
    assert.equal(provider.handleWebhook?.(resigned).verified, false)

    const later = createSimulatorHttpProvider({
      name: 'later',
      url: sim.url,
      webhookSecret: SECRET,
      now: () => Date.now() + 6 * 60 * 1000,
    })
    assert.equal(later.handleWebhook?.(request).verified, false)
    const garbled = Buffer.from('{')
    assert.throws(
      () =>
        provider.handleWebhook?.({
          ...request,
          rawBody: garbled,
          headers: { ...request.headers, ...signSimulatorBody(SECRET, garbled) },
        }),
      MalformedWebhook,
    )
  })
})

describe('simulator callback retry', () => {
  test('a callback answered 500 is retried until the receiver answers 204', async () => {
    const receiver = await startReceiver()
    receiver.status = 500
    const sim = await startSimulatorServer({
      webhookSecret: SECRET,
      callbackUrl: receiver.url,
      dlrDelayMs: 1,
    })
    const provider = createSimulatorHttpProvider({ name: 's', url: sim.url, webhookSecret: SECRET })
    try {
      const result = await provider.send(makeSms('+447700900127'), signal())
      assert.ok(result.outcome === 'accepted')
      assert.ok(await waitFor(() => (receiver.requests.length >= 1 ? true : undefined)))
      receiver.status = 204
      await sim.drainCallbacks(5000)
      assert.ok(receiver.requests.length >= 2)
      const last = receiver.requests.at(-1)
      const outcome = last && provider.handleWebhook?.(last)
      assert.ok(outcome && outcome.verified)
      assert.equal(outcome.events[0]?.providerMessageId, result.providerMessageIds[0])
      const res = await fetch(`${sim.url}/v1/stats`)
      const stats = (await res.json()) as { callbacks: { delivered: number; dropped: number } }
      assert.deepEqual([stats.callbacks.delivered, stats.callbacks.dropped], [1, 0])
    } finally {
      await provider.stop?.()
      await sim.close()
      await receiver.close()
    }
  })
})

describe('CallbackSender', () => {
  test('reports queued while the receiver is down are merged and all delivered', async () => {
    const receiver = await startReceiver()
    receiver.status = 503
    const sender = new CallbackSender({
      url: receiver.url,
      webhookSecret: SECRET,
      concurrency: 1,
      maxBatch: 500,
      initialBackoffMs: 20,
      maxBackoffMs: 50,
    })
    try {
      for (let chunk = 0; chunk < 20; chunk++) {
        sender.enqueue(
          Array.from({ length: 100 }, (_, i) => ({
            messageId: `m-${chunk}-${i}`,
            providerMessageId: `SIM-${chunk}-${i}`,
            status: 'delivered' as const,
            at: Date.now(),
          })),
        )
      }
      assert.ok(await waitFor(() => (receiver.requests.length >= 3 ? true : undefined)))
      assert.equal(sender.stats().pending, 2000)
      const firstGood = receiver.requests.length
      receiver.status = 204
      await sender.drain(5000)
      const good = receiver.requests.slice(firstGood)
      const ids = good.flatMap((r) =>
        (JSON.parse(r.rawBody.toString()) as Array<{ messageId: string }>).map((x) => x.messageId),
      )
      assert.equal(new Set(ids).size, 2000)
      assert.ok(good.length <= 6, `${good.length} POSTs for 2000 reports`)
      assert.deepEqual(sender.stats(), {
        delivered: 2000,
        dropped: 0,
        failedPosts: firstGood,
        pending: 0,
      })
    } finally {
      await sender.close()
      await receiver.close()
    }
  })
})

import assert from 'node:assert/strict'
import { describe, mock, test } from 'node:test'
import type { AwaitingReport, ProviderEvent, ProviderRecords, SendResult } from '../provider.js'
import { createSimulatorProvider } from './simulator.provider.js'
import { makeSms, waitFor } from './test-helpers.js'

const signal = () => AbortSignal.timeout(5000)

describe('simulator provider (in-process)', () => {
  test('maps every simulator outcome', async () => {
    const sim = createSimulatorProvider({
      retryAfterMs: 750,
      rules: [
        { match: '+1555000', outcome: 'server_error' },
        { match: '+1555001', outcome: 'rate_limited' },
        { match: '+1555002', outcome: 'timeout' },
        { match: '+1555003', outcome: 'invalid_number' },
        { match: '+1555004', outcome: 'opted_out' },
      ],
    })
    const accepted = await sim.send(makeSms('+447700900123'), signal())
    assert.equal(accepted.outcome, 'accepted')
    assert.deepEqual(await sim.send(makeSms('+15550001'), signal()), {
      outcome: 'retry',
      code: 'provider_unavailable',
    })
    assert.deepEqual(await sim.send(makeSms('+15550011'), signal()), {
      outcome: 'retry',
      code: 'provider_rate_limited',
      after: 750,
    })
    const timedOut = makeSms('+15550021')
    assert.deepEqual(await sim.send(timedOut, signal()), {
      outcome: 'retry',
      code: 'provider_timeout',
    })
    assert.equal(sim.core.acceptedCount(timedOut.id), 1, 'a timeout is accepted at the provider')
    assert.deepEqual(await sim.send(makeSms('+15550031'), signal()), {
      outcome: 'rejected',
      code: 'invalid_number',
    })
    assert.deepEqual(await sim.send(makeSms('+15550041'), signal()), {
      outcome: 'rejected',
      code: 'recipient_opted_out',
      suppress: true,
    })
    assert.equal(sim.name, 'simulator')
    await sim.stop?.()
  })

  test('latency is respected, and no timer is used without latency', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const slow = createSimulatorProvider({ latencyMs: { min: 40, max: 40 } })
    let result: SendResult | undefined
    const sending = slow.send(makeSms('+447700900001'), new AbortController().signal)
    void sending.then((r) => (result = r))
    t.mock.timers.tick(39)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(result, undefined, 'no answer before the latency')
    t.mock.timers.tick(1)
    assert.equal((await sending).outcome, 'accepted')
    t.mock.timers.reset()

    const fast = createSimulatorProvider({})
    const spy = mock.method(globalThis, 'setTimeout')
    try {
      assert.equal((await fast.send(makeSms('+447700900002'), signal())).outcome, 'accepted')
      assert.equal(spy.mock.callCount(), 0)
    } finally {
      spy.mock.restore()
    }
  })

  test('an abort during the latency is a provider_timeout that never reaches the core', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const sim = createSimulatorProvider({ latencyMs: { min: 200, max: 200 } })
    const abort = new AbortController()
    const sending = sim.send(makeSms('+447700900003'), abort.signal)
    t.mock.timers.tick(20)
    abort.abort()
    assert.deepEqual(await sending, { outcome: 'retry', code: 'provider_timeout' })
    t.mock.timers.tick(500)
    assert.equal(sim.core.stats().attempts, 0)
  })

  test('delivery reports flow to the sink as status events until stop()', async (t) => {
    let clock = 0
    const advance = (ms: number) => {
      clock += ms
      t.mock.timers.tick(ms)
    }
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const sim = createSimulatorProvider({
      name: 'sim-a',
      dlrDelayMs: 5,
      now: () => 1_800_000_000_000 + clock,
      monotonic: () => clock,
      rules: [{ match: '+4477009009', outcome: 'undelivered' }],
    })
    const seen: Array<[string, ProviderEvent]> = []
    await sim.start?.((name, events) => events.forEach((e) => seen.push([name, e])))
    const ok = makeSms('+447700900100')
    const bad = makeSms('+447700900900')
    const okResult = await sim.send(ok, signal())
    await sim.send(bad, signal())
    advance(4)
    assert.equal(seen.length, 0, 'not before the delay')
    advance(1)
    assert.equal(seen.length, 2)
    assert.equal(okResult.outcome, 'accepted')
    const byId = new Map<string | undefined, [string, ProviderEvent]>()
    for (const [name, e] of seen) if (e.type === 'status') byId.set(e.messageId, [name, e])
    const [name, delivered] = byId.get(ok.id) ?? []
    assert.equal(name, 'sim-a')
    assert.ok(delivered?.type === 'status')
    assert.deepEqual(delivered, {
      type: 'status',
      messageId: ok.id,
      providerMessageId: okResult.outcome === 'accepted' ? okResult.providerMessageIds[0] : '',
      status: 'delivered',
      at: 1_800_000_000_005,
    })
    const undelivered = byId.get(bad.id)?.[1]
    assert.ok(undelivered?.type === 'status')
    assert.equal(undelivered.status, 'undelivered')
    assert.equal(undelivered.errorCode, 'undeliverable')

    await sim.stop?.()
    await sim.send(makeSms('+447700900101'), signal())
    advance(1000)
    assert.equal(seen.length, 2)
  })

  test('start() reports what it owed for messages accepted before a restart, as decided then', async () => {
    const options = {
      seed: 3,
      dlrDelayMs: 1000,
      undeliveredRate: 0.5,
      rules: [{ match: '+4477009009', outcome: 'undelivered' as const }],
    }
    const owed: AwaitingReport[] = Array.from({ length: 40 }, (_, i) => ({
      id: `owed-${i}`,
      to: i === 0 ? '+447700900900' : `+4477009001${String(i).padStart(2, '0')}`,
      providerMessageId: `SIM-recorded-${i}`,
      // Accepted long ago: due at once. The last one was accepted just now: due in a second.
      sentAt: i === 39 ? Date.now() : Date.now() - 60_000,
    }))
    // What the simulator decides for each message when it accepts it.
    const decided = new Map<string, string>()
    const reference = createSimulatorProvider({ ...options, dlrDelayMs: 0 })
    reference.core.setReportHandler((reports) =>
      reports.forEach((r) => decided.set(r.messageId, r.status)),
    )
    for (const m of owed) reference.core.submit({ ...m, from: null, body: '', attempt: 1 })
    assert.ok(await waitFor(() => (decided.size === 40 ? true : undefined)))
    reference.core.close()

    const pulled: number[] = []
    const records: ProviderRecords = {
      async *awaitingReport() {
        for (let i = 0; i < owed.length; i += 10) {
          pulled.push(i)
          yield owed.slice(i, i + 10)
        }
      },
    }
    const sim = createSimulatorProvider(options)
    const seen = new Map<string, ProviderEvent>()
    await sim.start?.((_name, events) => {
      for (const e of events) if (e.type === 'status') seen.set(e.messageId ?? '', e)
    }, records)
    assert.ok(await waitFor(() => (seen.size >= 39 ? true : undefined)))
    assert.deepEqual(pulled, [0, 10, 20, 30], 'read a page at a time')
    assert.equal(seen.size, 39)
    assert.equal(sim.core.pendingReports(), 1, 'a report not yet due waits for its time')
    for (const m of owed.slice(0, 39)) {
      const e = seen.get(m.id)
      assert.ok(e?.type === 'status', m.id)
      assert.equal(e.providerMessageId, m.providerMessageId)
      assert.equal(e.status, decided.get(m.id), m.id)
      assert.equal(e.errorCode, e.status === 'undelivered' ? 'undeliverable' : undefined)
    }
    const statuses = new Map([...seen].map(([id, e]) => [id, e.type === 'status' && e.status]))
    assert.equal(statuses.get('owed-0'), 'undelivered', 'rules decide as at acceptance')
    assert.ok(
      [...statuses.values()].includes('delivered') &&
        [...statuses.values()].filter((x) => x === 'undelivered').length > 5,
    )
    await sim.stop?.()
    assert.equal(sim.core.pendingReports(), 0)
  })

  test('stop() ends the recovery: nothing read after it is reported', async () => {
    const pulled: number[] = []
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    const records: ProviderRecords = {
      async *awaitingReport() {
        for (let page = 0; page < 5; page++) {
          pulled.push(page)
          yield [{ id: `stop-${page}`, to: '+447700900100', providerMessageId: 'x', sentAt: 0 }]
          await gate
        }
      },
    }
    const sim = createSimulatorProvider({})
    const seen: string[] = []
    await sim.start?.((_name, events) => {
      for (const e of events) if (e.type === 'status') seen.push(e.messageId ?? '')
    }, records)
    await new Promise((resolve) => setImmediate(resolve))
    const stopping = sim.stop?.()
    release()
    await stopping
    // The page in flight at the stop may be read, but no further one, and none is reported.
    assert.ok(pulled.length <= 2, `${pulled.length} pages read`)
    await new Promise((resolve) => setImmediate(resolve))
    assert.ok(
      seen.every((id) => id === 'stop-0'),
      seen.join(),
    )
    assert.equal(sim.core.pendingReports(), 0)
  })
})

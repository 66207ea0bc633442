import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createStopSignalHandler, REPEAT_WINDOW_MS } from './stop-signal.handler.js'

function setup(stopResult: 'ok' | 'fail' | 'pending' = 'ok') {
  let clock = 1_000
  const exits: number[] = []
  const logs: string[] = []
  let stops = 0
  const log = (msg: string) => logs.push(msg)
  const handle = createStopSignalHandler({
    stop: () => {
      stops++
      if (stopResult === 'pending') return new Promise(() => {})
      return stopResult === 'ok' ? Promise.resolve() : Promise.reject(new Error('boom'))
    },
    logger: {
      info: (_o: object, msg: string) => log(msg),
      warn: (_o: object, msg: string) => log(msg),
      error: (_o: object, msg: string) => log(msg),
    },
    exit: (code) => exits.push(code),
    now: () => clock,
  })
  return {
    handle,
    exits,
    logs,
    stops: () => stops,
    advance: (ms: number) => (clock += ms),
  }
}

const settle = () => new Promise((r) => setImmediate(r))

describe('stop signals', () => {
  test('the first signal stops gracefully and exits 0', async () => {
    const s = setup()
    s.handle('SIGTERM')
    await settle()
    assert.equal(s.stops(), 1)
    assert.deepEqual(s.exits, [0])
    assert.deepEqual(s.logs, ['shutting down'])
  })

  test('a failed stop exits 1', async () => {
    const s = setup('fail')
    s.handle('SIGTERM')
    await settle()
    assert.deepEqual(s.exits, [1])
  })

  test('the same Ctrl-C delivered twice (terminal and npm) is one request to stop', async () => {
    const s = setup('pending')
    s.handle('SIGINT')
    s.advance(REPEAT_WINDOW_MS - 1)
    s.handle('SIGINT')
    await settle()
    assert.equal(s.stops(), 1)
    assert.deepEqual(s.exits, [], 'the drain goes on')
  })

  test('a signal sent again later forces the exit without waiting for the drain', async () => {
    const s = setup('pending')
    s.handle('SIGINT')
    s.advance(REPEAT_WINDOW_MS)
    s.handle('SIGINT')
    await settle()
    assert.equal(s.stops(), 1)
    assert.deepEqual(s.exits, [130])
  })
})

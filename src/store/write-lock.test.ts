import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Worker } from 'node:worker_threads'
import { WriteLock } from './write-lock.js'

// A read-modify-write of a shared counter that is not atomic on its own: it reads, yields the
// CPU for a moment, then writes. Two threads doing it at once lose updates unless the lock
// keeps them apart. The other thread runs the same steps as plain JavaScript with Atomics,
// mirroring WriteLock.hold (it cannot import TypeScript without a loader).
const OTHER_THREAD = `
const { workerData, parentPort } = require('node:worker_threads')
const lock = new Int32Array(workerData.lock, 0, 1)
const counter = new Int32Array(workerData.counter)
parentPort.postMessage('ready')
// Start together with the test thread, so the two loops overlap.
while (Atomics.load(counter, 1) === 0);
for (let i = 0; i < workerData.rounds; i++) {
  while (Atomics.compareExchange(lock, 0, 0, 1) !== 0) Atomics.wait(lock, 0, 1, 100)
  const v = Atomics.load(counter, 0)
  for (let k = 0; k < 50; k++) Atomics.load(counter, 0)
  Atomics.store(counter, 0, v + 1)
  Atomics.store(lock, 0, 0)
  Atomics.notify(lock, 0, 1)
}
parentPort.postMessage('done')
`

test('WriteLock keeps two threads out of each other’s read-modify-write', async () => {
  const lock = new WriteLock()
  // [0]: the counter, [1]: the start signal.
  const counter = new Int32Array(new SharedArrayBuffer(8))
  const rounds = 20_000
  const other = new Worker(OTHER_THREAD, {
    eval: true,
    workerData: { lock: lock.buffer, counter: counter.buffer, rounds },
  })
  const next = () =>
    new Promise((resolve, reject) => {
      other.once('message', resolve)
      other.once('error', reject)
    })
  await next() // ready
  const done = next()
  Atomics.store(counter, 1, 1)
  for (let i = 0; i < rounds; i++) {
    lock.hold(() => {
      const v = Atomics.load(counter, 0)
      for (let k = 0; k < 50; k++) Atomics.load(counter, 0)
      Atomics.store(counter, 0, v + 1)
    })
  }
  await done
  await other.terminate()
  assert.equal(Atomics.load(counter, 0), 2 * rounds)
})

test('WriteLock releases the lock when the work throws', () => {
  const lock = new WriteLock()
  assert.throws(() =>
    lock.hold(() => {
      throw new Error('boom')
    }),
  )
  assert.equal(
    lock.hold(() => 'free again'),
    'free again',
  )
})

import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import { Batcher, LINGER_WHEN } from './loop.js'

function recording(lingerMs: number, maxBatch = 100) {
  const flushes: number[][] = []
  const batcher = new Batcher<number, number>(
    (items) => {
      flushes.push(items)
      return Promise.resolve(items.map((i) => i * 2))
    },
    maxBatch,
    1,
    lingerMs,
  )
  return { flushes, batcher }
}

test('items pushed in one turn go in one flush, each with its own result', async () => {
  const { flushes, batcher } = recording(0)
  const results = await Promise.all([1, 2, 3].map((i) => batcher.push(i)))
  assert.deepEqual(results, [2, 4, 6])
  assert.deepEqual(flushes, [[1, 2, 3]])
})

test('without a linger, items pushed after the previous flush go in flushes of their own', async () => {
  const { flushes, batcher } = recording(0)
  for (const i of [1, 2, 3]) assert.equal(await batcher.push(i), i * 2)
  assert.deepEqual(flushes, [[1], [2], [3]])
})

test('with a linger, a lone item at low load goes at once', async () => {
  const { flushes, batcher } = recording(60_000)
  const started = Date.now()
  assert.equal(await batcher.push(1), 2)
  assert.ok(Date.now() - started < 1_000)
  assert.deepEqual(flushes, [[1]])
})

test('with a linger, after a busy flush the items pushed within it share one flush', async () => {
  const { flushes, batcher } = recording(200)
  // A busy turn: LINGER_WHEN items at once.
  const busy = Array.from({ length: LINGER_WHEN }, (_, i) => 100 + i)
  await Promise.all(busy.map((i) => batcher.push(i)))
  const done: Promise<number>[] = []
  for (const i of [1, 2, 3]) {
    done.push(batcher.push(i))
    await sleep(5)
  }
  assert.deepEqual(await Promise.all(done), [2, 4, 6])
  assert.deepEqual(flushes, [busy, [1, 2, 3]])
})

test('a full batch goes at once, without waiting for the linger', async () => {
  const { flushes, batcher } = recording(2_000, 2)
  const started = Date.now()
  assert.deepEqual(await Promise.all([batcher.push(1), batcher.push(2)]), [2, 4])
  assert.ok(Date.now() - started < 1_000)
  assert.deepEqual(flushes, [[1, 2]])
})

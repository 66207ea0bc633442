// Risk covered: a sender's `mps` from ROUTES is not applied, or its backlog holds up another
// sender's messages on the same provider instance.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startFakeProvider, worstSecond, type FakeProvider } from '../support/fake-provider.js'
import { startTestSwitchboard, TEST_DB, waitFor, type TestSwitchboard } from '../support/harness.js'

const SLOW = '+14155550100'
const OTHER = '+14155550101'
const SLOW_MPS = 2
/** See test/integration/pacing.test.ts: this machine is shared and loaded. */
const MARGIN = 150

let provider: FakeProvider
let t: TestSwitchboard

before(async () => {
  provider = await startFakeProvider()
  t = await startTestSwitchboard({
    PROVIDERS: JSON.stringify([provider.entry('gateway')]),
    ROUTES: JSON.stringify([
      { providers: ['gateway'], senders: [{ from: SLOW, mps: SLOW_MPS }, OTHER] },
    ]),
    PACING_MARGIN_MS: String(MARGIN),
  })
})
after(async () => {
  await t?.close()
  await provider?.close()
})

test(`a ${SLOW_MPS} mps sender keeps its limit, and its backlog does not hold up another sender (${TEST_DB})`, async () => {
  const batch = (from: string, count: number) =>
    t.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: t.auth(),
      payload: {
        messages: Array.from({ length: count }, (_, i) => ({
          to: `+1415555${String(6000 + i)}`,
          from,
          body: `from ${from} ${i}`,
        })),
      },
    })
  // The slow sender's backlog is queued first.
  assert.equal((await batch(SLOW, 12)).statusCode, 202)
  assert.equal((await batch(OTHER, 30)).statusCode, 202)
  await waitFor(
    () => (provider.arrivals.filter((a) => a.from === OTHER).length === 30 ? true : undefined),
    15_000,
    'the other sender',
  )
  // All of the other sender's messages are out while the slow one's still trickle.
  const slowSoFar = provider.arrivals.filter((a) => a.from === SLOW).length
  assert.ok(slowSoFar < 12, `slow sender already sent ${slowSoFar}`)
  await waitFor(
    () => (provider.arrivals.filter((a) => a.from === SLOW).length === 12 ? true : undefined),
    30_000,
    'the slow sender',
  )
  const slow = provider.arrivals.filter((a) => a.from === SLOW)
  assert.ok(worstSecond(slow) <= SLOW_MPS, `worst second held ${worstSecond(slow)}`)
})

import { randomInt } from 'node:crypto'
import { waitFor, type TestSwitchboard } from './harness.js'

/**
 * A random source for Verify codes that draws the digits of the codes queued with `next`,
 * then falls back to the CSPRNG.
 */
export function scriptedDigits(): {
  random: (max: number) => number
  next: (code: string) => void
} {
  const queue: number[] = []
  return {
    random: (max) => queue.shift() ?? randomInt(max),
    next: (code) => void queue.push(...[...code].map(Number)),
  }
}

/**
 * What the simulated phone shows for a verification's newest SMS, once delivered. `tick` moves
 * an injected clock on while waiting: the send worker's claim allowance while intake is busy
 * refills with the clock's time, so a clock that stands still would starve it.
 */
export async function handsetText(
  t: TestSwitchboard,
  to: string,
  verificationId: string,
  tick: () => void = () => undefined,
) {
  const v = (
    await t.inject({
      method: 'GET',
      url: `/v1/verifications/${verificationId}`,
      headers: t.auth(t.keys.read),
    })
  ).json<{ messageId: string }>()
  const status = async () =>
    (
      await t.inject({
        method: 'GET',
        url: `/v1/messages/${v.messageId}?include=events`,
        headers: t.auth(t.keys.read),
      })
    ).body
  return waitFor(
    async () => {
      tick()
      const res = await t.inject({
        method: 'GET',
        url: `/v1/simulator/phones/${encodeURIComponent(to)}/messages`,
        headers: t.auth(t.keys.read),
      })
      const data = res.json<{ data: { id: string; body: string }[] }>().data
      return data.find((m) => m.id === v.messageId)?.body
    },
    10_000,
    'the verification SMS on the simulated phone',
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${await status()}`)
  })
}

/** The code in a text the phone received. */
export const codeIn = (text: string): string => /\b(\d{4,10})\b/.exec(text)?.[1] ?? ''

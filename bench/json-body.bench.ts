/**
 * Micro-benchmark: the strict request body parser (`parseJsonText`: UTF-8 check, JSON.parse,
 * prototype and duplicate-key checks) against plain `JSON.parse(buffer.toString())` on a typical
 * single-message body and on a 1,000-message batch body.
 *
 * Run directly: `npx tsx bench/json-body.bench.ts [milliseconds per round]` prints a table:
 * median time per body over 9 alternating rounds, and the median of the rounds' ratios.
 */
import { parseJsonText } from '../src/http/json-text.js'

const single = Buffer.from(
  JSON.stringify({
    to: '+14155550100',
    body: 'Your verification code is 482913. It expires in 10 minutes.',
    from: 'Switchboard',
    metadata: { orderId: 'A-10293', attempt: 1 },
  }),
)
const batch = Buffer.from(
  JSON.stringify({
    messages: Array.from({ length: 1000 }, (_, i) => ({
      to: `+1415555${String(i).padStart(4, '0')}`,
      body: `Hello customer ${i}, your order has shipped.`,
    })),
  }),
)

function perCall(fn: () => unknown, ms: number): number {
  for (let i = 0; i < 200; i++) fn() // warm-up
  let n = 0
  const start = process.hrtime.bigint()
  const until = start + BigInt(ms) * 1_000_000n
  let now = start
  while (now < until) {
    for (let i = 0; i < 50; i++) fn()
    n += 50
    now = process.hrtime.bigint()
  }
  return Number(now - start) / n / 1000 // µs
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

// The two alternate in short rounds and each round's ratio compares neighbours in time, so load
// from other processes on a shared machine hits both alike; the medians are printed.
const ms = Number(process.argv[2] ?? 300)
const rounds = 9
const rows = [
  ['single message', single],
  ['1,000-message batch', batch],
] as const
console.log('| body | bytes | JSON.parse (µs) | parseJsonText (µs) | ratio |')
console.log('| --- | ---: | ---: | ---: | ---: |')
for (const [label, buf] of rows) {
  const check = parseJsonText(buf)
  if (!check.ok) throw new Error(`${label} refused: ${JSON.stringify(check.problem)}`)
  const plain: number[] = []
  const strict: number[] = []
  const ratios: number[] = []
  for (let r = 0; r < rounds; r++) {
    const p = perCall(() => JSON.parse(buf.toString('utf8')) as unknown, ms)
    const s = perCall(() => parseJsonText(buf), ms)
    plain.push(p)
    strict.push(s)
    ratios.push(s / p)
  }
  console.log(
    `| ${label} | ${buf.length} | ${median(plain).toFixed(2)} | ${median(strict).toFixed(2)} | ${median(ratios).toFixed(2)} |`,
  )
}

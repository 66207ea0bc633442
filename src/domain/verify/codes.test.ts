import assert from 'node:assert/strict'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { test } from 'node:test'
import { codeHmac, codeMatches, deriveKeys, generateCode, open, prefixOf, seal } from './codes.js'

const keys = deriveKeys(randomBytes(32))

test('codes have the asked length, one uniform draw of 0-9 per digit', () => {
  const draws: number[] = []
  const code = generateCode(6, (max) => {
    draws.push(max)
    return draws.length % 10
  })
  assert.equal(code, '123456')
  assert.deepEqual(draws, [10, 10, 10, 10, 10, 10])
  for (const n of [4, 6, 10]) assert.match(generateCode(n), new RegExp(`^\\d{${n}}$`))
  assert.throws(() => generateCode(6, () => 10))
})

test('the CSPRNG digits are spread evenly (no modulo bias)', () => {
  const counts = Array.from({ length: 10 }, () => 0)
  const n = 20_000
  for (let i = 0; i < n / 10; i++) for (const d of generateCode(10)) counts[Number(d)]!++
  // Each digit is expected n/10 = 2,000 times; a biased source (bytes % 10) would give 0-5
  // about 2,100 and 6-9 about 1,850. The bounds are ~6 standard deviations.
  for (const c of counts) assert.ok(c > 1730 && c < 2270, `digit counts ${counts.join(',')}`)
})

test('a code matches only its own HMAC, compared in constant time on equal-length buffers', () => {
  const stored = codeHmac(keys, 'ver_1', '123456')
  assert.match(stored, /^[0-9a-f]{64}$/)
  assert.ok(!stored.includes('123456'))
  const calls: [number, number][] = []
  const spy = (a: Buffer, b: Buffer) => {
    calls.push([a.length, b.length])
    return timingSafeEqual(a, b)
  }
  assert.equal(codeMatches(keys, 'ver_1', stored, '123456', spy), true)
  assert.equal(codeMatches(keys, 'ver_1', stored, '123457', spy), false)
  // A shorter or longer candidate is still compared as a 32-byte HMAC.
  assert.equal(codeMatches(keys, 'ver_1', stored, '1', spy), false)
  assert.equal(codeMatches(keys, 'ver_1', stored, '1234567890', spy), false)
  assert.deepEqual(calls, [
    [32, 32],
    [32, 32],
    [32, 32],
    [32, 32],
  ])
  // Bound to the verification: the same code of another one does not match.
  assert.equal(codeMatches(keys, 'ver_2', stored, '123456'), false)
})

test('the default comparison is crypto.timingSafeEqual', async () => {
  const src = await import('node:fs').then((fs) =>
    fs.readFileSync(new URL('./codes.ts', import.meta.url), 'utf8'),
  )
  assert.match(src, /equal: Equal = timingSafeEqual/)
  assert.doesNotMatch(src, /stored ===|=== stored/)
})

test('sealed texts open only with their key and context', () => {
  const s = seal(keys, 'ver_1', 'Your code is 123456')
  assert.ok(!s.includes('123456'))
  assert.equal(open(keys, 'ver_1', s), 'Your code is 123456')
  assert.equal(open(keys, 'ver_2', s), null)
  assert.equal(open(deriveKeys(randomBytes(32)), 'ver_1', s), null)
  assert.equal(open(keys, 'ver_1', s.slice(0, -2) + 'AA'), null)
})

test('the prefix is the number without its last 4 digits', () => {
  assert.equal(prefixOf('+14155550123'), '+1415555')
})

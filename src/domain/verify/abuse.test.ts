import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  DEFAULT_VERIFY_ABUSE,
  DEFAULT_VERIFY_LIMITS,
  blockVerdict,
  clientIpKey,
  burstBounds,
  burstFinding,
  countryVerdict,
  firstRefusal,
  leadingParts,
  limitVerdict,
  prefixOf,
  readVerifyAbuse,
  refusalError,
  type BurstRule,
} from './abuse.js'
import type { GuardVerdict } from './guard.js'

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0)
const MIN = 60_000

test('prefixOf drops the last 4 digits; leadingParts lists every range a number is in', () => {
  assert.equal(prefixOf('+447700900123'), '+44770090')
  assert.deepEqual(leadingParts('+4477'), ['+4', '+44', '+447', '+4477'])
})

test('country allow list: all when unset; listed countries only, never a number of no country', () => {
  assert.deepEqual(countryVerdict(null, 'NG'), { ok: true })
  assert.deepEqual(countryVerdict(null, null), { ok: true })
  assert.deepEqual(countryVerdict(['US', 'GB'], 'GB'), { ok: true })
  assert.deepEqual(countryVerdict(['US', 'GB'], 'gb'), { ok: true })
  assert.deepEqual(countryVerdict(['US', 'GB'], 'NG'), {
    ok: false,
    code: 'verification_country_not_allowed',
    status: 403,
    details: { country: 'NG' },
  })
  const none = countryVerdict(['US'], null)
  assert.equal(none.ok, false)
})

test('a block refuses until it ends, with Retry-After when the last matching block ends', () => {
  const blocks = [
    { kind: 'prefix', reason: 'low_approval_burst', until: T0 + 3600_000 },
    { kind: 'ip', reason: 'manual', until: T0 + 7200_000 },
    { kind: 'number', reason: 'old', until: T0 },
  ]
  const v = blockVerdict(blocks, T0)
  assert.deepEqual(v, {
    ok: false,
    code: 'verification_blocked',
    status: 403,
    retryAfterSeconds: 7200,
    details: { kind: 'ip', reason: 'manual', until: new Date(T0 + 7200_000).toISOString() },
  })
  // A block ending exactly now no longer applies.
  assert.deepEqual(blockVerdict([{ kind: 'number', reason: 'old', until: T0 }], T0), { ok: true })
  assert.deepEqual(blockVerdict([], T0), { ok: true })
  // Part of a second left is a whole second.
  const v2 = blockVerdict([{ kind: 'prefix', reason: 'x', until: T0 + 1001 }], T0)
  assert.equal(!v2.ok && v2.retryAfterSeconds, 2)
})

test('a limit refuses while its nth newest send is in the window; Retry-After is when it leaves', () => {
  const limit = { sends: 5, windowSeconds: 600 }
  assert.deepEqual(limitVerdict('number', limit, undefined, T0), { ok: true })
  const oldest = T0 - 4 * MIN
  assert.deepEqual(limitVerdict('number', limit, oldest, T0), {
    ok: false,
    code: 'verification_rate_limited',
    status: 429,
    retryAfterSeconds: 360,
    details: { limit: 'number', sends: 5, windowSeconds: 600 },
  })
  // One millisecond before it leaves: still refused, for one second.
  const v = limitVerdict('number', limit, oldest, oldest + 600_000 - 1)
  assert.equal(!v.ok && v.retryAfterSeconds, 1)
  // The moment it leaves the window it no longer counts.
  assert.deepEqual(limitVerdict('number', limit, oldest, oldest + 600_000), { ok: true })
})

test('of several refusals, a block wins over a rate limit, else the longest wait', () => {
  const rl = (s: number): GuardVerdict => ({
    ok: false,
    code: 'verification_rate_limited',
    status: 429,
    retryAfterSeconds: s,
  })
  assert.deepEqual(firstRefusal([{ ok: true }, { ok: true }]), { ok: true })
  assert.deepEqual(firstRefusal([rl(5), { ok: true }, rl(30), rl(10)]), rl(30))
  const blocked: GuardVerdict = { ok: false, code: 'verification_blocked', status: 403 }
  assert.deepEqual(firstRefusal([rl(500), blocked]), blocked)
})

test('velocity detection: enough matured sends with too few approvals, and only then', () => {
  const rule: BurstRule = { sends: 10, windowSeconds: 600, graceSeconds: 120, minApprovalRate: 0.2 }
  assert.deepEqual(burstBounds(rule, T0), { after: T0 - 600_000, maturedBy: T0 - 120_000 })
  assert.equal(burstFinding(rule, { matured: 9, approved: 0 }), null)
  assert.deepEqual(burstFinding(rule, { matured: 10, approved: 1 }), {
    sends: 10,
    approved: 1,
    approvalRate: 0.1,
    minApprovalRate: 0.2,
    minSends: 10,
    windowSeconds: 600,
    graceSeconds: 120,
  })
  // Exactly the minimum rate is fine.
  assert.equal(burstFinding(rule, { matured: 10, approved: 2 }), null)
  assert.equal(burstFinding(rule, { matured: 30, approved: 5 })?.approvalRate, 0.167)
})

test('refusalError maps a verdict to its registry error', () => {
  const e = refusalError({
    ok: false,
    code: 'verification_rate_limited',
    status: 429,
    retryAfterSeconds: 3,
    details: { limit: 'ip' },
  })
  assert.equal(e.code, 'verification_rate_limited')
  assert.equal(e.status, 429)
  assert.deepEqual(e.details, { limit: 'ip' })
})

const read = (input: { countries?: string; limits?: unknown; blockHours?: string }) => {
  const problems: string[] = []
  const settings = readVerifyAbuse(
    { countries: input.countries, limits: input.limits, blockHours: input.blockHours },
    problems,
  )
  return { settings, problems }
}

test('configuration: defaults', () => {
  const { settings, problems } = read({})
  assert.deepEqual(problems, [])
  assert.deepEqual(settings, DEFAULT_VERIFY_ABUSE)
  assert.deepEqual(settings.limits.number, { sends: 5, windowSeconds: 600 })
  assert.equal(settings.blockHours, 12)
})

test('configuration: countries, limits switched off or changed field by field, block hours', () => {
  const { settings, problems } = read({
    countries: ' us, gb ,US',
    limits: { ip: null, prefix: { sends: 50 }, burst: { minApprovalRate: 0.5 } },
    blockHours: '0.5',
  })
  assert.deepEqual(problems, [])
  assert.deepEqual(settings.countries, ['US', 'GB'])
  assert.equal(settings.limits.ip, null)
  assert.deepEqual(settings.limits.number, DEFAULT_VERIFY_LIMITS.number)
  assert.deepEqual(settings.limits.prefix, { sends: 50, windowSeconds: 600 })
  assert.deepEqual(settings.limits.burst, {
    ...DEFAULT_VERIFY_LIMITS.burst,
    minApprovalRate: 0.5,
  })
  assert.equal(settings.blockHours, 0.5)
  assert.equal(read({ limits: { burst: null } }).settings.limits.burst, null)
})

test('configuration: every problem is reported at once', () => {
  const { problems } = read({
    countries: 'US,UK,xx1',
    limits: {
      number: { sends: 0 },
      ip: 'ten',
      prefix: { sends: 2.5, windowSeconds: 600, per: 1 },
      burst: { graceSeconds: 600, minApprovalRate: 2 },
      global: {},
    },
    blockHours: '0',
  })
  assert.deepEqual(problems, [
    'VERIFY_COUNTRIES: "UK" is not an ISO 3166-1 alpha-2 country code with phone numbers',
    'VERIFY_COUNTRIES: "xx1" is not an ISO 3166-1 alpha-2 country code with phone numbers',
    'VERIFY_BLOCK_HOURS must be a number of hours above 0 and at most 720 (got "0")',
    'VERIFY_LIMITS: unknown key "global" (number, ip, prefix, burst)',
    'VERIFY_LIMITS.number.sends must be an integer from 1 to 1000000',
    'VERIFY_LIMITS.ip must be an object or null (off)',
    'VERIFY_LIMITS.prefix: unknown key "per" (sends, windowSeconds)',
    'VERIFY_LIMITS.prefix.sends must be an integer from 1 to 1000000',
    'VERIFY_LIMITS.burst.minApprovalRate must be a number from 0 to 1',
    'VERIFY_LIMITS.burst.graceSeconds must be shorter than its windowSeconds',
  ])
  assert.deepEqual(read({ limits: [1] }).problems, ['VERIFY_LIMITS must be a JSON object'])
  assert.equal(read({ blockHours: '721' }).problems.length, 1)
})

test('clientIpKey: IPv4 as is, IPv6 by its /64, IPv4-mapped as IPv4', () => {
  assert.equal(clientIpKey(' 203.0.113.7 '), '203.0.113.7')
  assert.equal(clientIpKey('2001:DB8:0001:0002:aaaa::1'), '2001:db8:1:2::/64')
  assert.equal(clientIpKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64')
  assert.equal(clientIpKey('2001:db8::1'), '2001:db8:0:0::/64')
  assert.equal(clientIpKey('::1'), '0:0:0:0::/64')
  assert.equal(clientIpKey('::ffff:198.51.100.9'), '198.51.100.9')
  assert.equal(clientIpKey('not an ip'), 'not an ip')
})

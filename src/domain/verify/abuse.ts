import { isIPv4, isIPv6 } from 'node:net'
import { isSupportedCountry } from 'libphonenumber-js/max'
import { AppError, errors } from '../errors.js'
import type { GuardVerdict } from './guard.js'

/**
 * The Verify abuse protection's rules (issue 10 point 6, docs/verify.md): pure decisions over
 * what the store counted. Times are milliseconds from the caller's clock (`GuardRequest.now`).
 */

/** At most `sends` verification SMS in any `windowSeconds` (a sliding window). */
export interface WindowLimit {
  readonly sends: number
  readonly windowSeconds: number
}

/**
 * Velocity detection: among the sends to one prefix in the last `windowSeconds`, those older
 * than `graceSeconds` have had time to be approved. When at least `sends` of them are there
 * and fewer than `minApprovalRate` of them belong to an approved verification, the prefix is
 * blocked for `VERIFY_BLOCK_HOURS`.
 */
export interface BurstRule {
  readonly sends: number
  readonly windowSeconds: number
  readonly graceSeconds: number
  readonly minApprovalRate: number
}

/** `VERIFY_LIMITS`: null switches a limit (or the detection) off. */
export interface VerifyLimits {
  readonly number: WindowLimit | null
  readonly ip: WindowLimit | null
  readonly prefix: WindowLimit | null
  readonly burst: BurstRule | null
}

export interface VerifyAbuseSettings {
  /** `VERIFY_COUNTRIES`: ISO 3166-1 alpha-2 codes verification SMS may go to; null: all. */
  readonly countries: readonly string[] | null
  readonly limits: VerifyLimits
  /** `VERIFY_BLOCK_HOURS`: how long a prefix blocked by velocity detection stays blocked. */
  readonly blockHours: number
}

export const DEFAULT_VERIFY_LIMITS: VerifyLimits = {
  // Twilio Verify's own limit (error 60203): 5 sends to one number in 10 minutes.
  number: { sends: 5, windowSeconds: 600 },
  // Two people behind one address, each using every resend; raise it behind a carrier NAT.
  ip: { sends: 10, windowSeconds: 600 },
  // A prefix is the number without its last 4 digits: a range of 10,000 numbers.
  prefix: { sends: 20, windowSeconds: 600 },
  burst: { sends: 10, windowSeconds: 600, graceSeconds: 120, minApprovalRate: 0.2 },
}

export const DEFAULT_VERIFY_ABUSE: VerifyAbuseSettings = {
  countries: null,
  limits: DEFAULT_VERIFY_LIMITS,
  blockHours: 12,
}

/** The reason recorded with a block raised by velocity detection. */
export const LOW_APPROVAL_BURST = 'low_approval_burst'

/** The destination range limits and velocity detection group by: the number minus 4 digits. */
export function prefixOf(e164: string): string {
  return e164.slice(0, Math.max(2, e164.length - 4))
}

/**
 * Every leading part of a number (from `+` and one digit up to the whole number): a `prefix`
 * block on any of them covers it, so a block may name a range of any length.
 */
export function leadingParts(e164: string): string[] {
  const out: string[] = []
  for (let n = 2; n <= e164.length; n++) out.push(e164.slice(0, n))
  return out
}

/**
 * The key a client IP is limited and blocked by: an IPv4 address as is (an IPv4-mapped IPv6
 * one as its IPv4), an IPv6 address as its /64 (`2001:db8:1:2::/64`), since one subscriber
 * usually holds a whole /64 and could rotate through it. Anything else: trimmed, as given. The
 * Verify flow passes this both to `admit` and to the `verification_sends` row it records.
 */
export function clientIpKey(ip: string): string {
  const raw = ip.trim()
  if (isIPv4(raw)) return raw
  if (!isIPv6(raw)) return raw
  const lower = raw.toLowerCase()
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1]
  const [head = '', tail] = lower.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

const OK: GuardVerdict = Object.freeze({ ok: true })

/** The country allow list: a number of no country (non-geographic) is refused by any list. */
export function countryVerdict(
  countries: readonly string[] | null,
  country: string | null,
): GuardVerdict {
  if (countries === null) return OK
  if (country !== null && countries.includes(country.toUpperCase())) return OK
  return {
    ok: false,
    code: errors.verification_country_not_allowed.code,
    status: 403,
    details: { country },
  }
}

/** An active block that matched the request. */
export interface ActiveBlock {
  readonly kind: string
  readonly reason: string
  readonly until: number
}

/** Refused while any block matches; `Retry-After` when the last of them ends. */
export function blockVerdict(blocks: readonly ActiveBlock[], now: number): GuardVerdict {
  let last: ActiveBlock | undefined
  for (const b of blocks) if (b.until > now && (!last || b.until > last.until)) last = b
  if (!last) return OK
  return {
    ok: false,
    code: errors.verification_blocked.code,
    status: 403,
    retryAfterSeconds: secondsUntil(last.until, now),
    details: { kind: last.kind, reason: last.reason, until: new Date(last.until).toISOString() },
  }
}

/** Whole seconds from `now` until `at`, rounded up, at least 1. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000))
}

/** The time a send counts from in a window ending now: sends with `at > since` count. */
export const windowStart = (windowSeconds: number, now: number): number =>
  now - windowSeconds * 1000

/**
 * One sliding-window limit. `nthNewestAt`: the time of the `limit.sends`-th newest send still in
 * the window (undefined when fewer are there). With that many in the window the request is
 * refused until that send leaves it, which brings the count below the limit again.
 */
export function limitVerdict(
  name: 'number' | 'ip' | 'prefix',
  limit: WindowLimit,
  nthNewestAt: number | undefined,
  now: number,
): GuardVerdict {
  if (nthNewestAt === undefined || nthNewestAt <= windowStart(limit.windowSeconds, now)) return OK
  return {
    ok: false,
    code: errors.verification_rate_limited.code,
    status: 429,
    retryAfterSeconds: secondsUntil(nthNewestAt + limit.windowSeconds * 1000, now),
    details: { limit: name, sends: limit.sends, windowSeconds: limit.windowSeconds },
  }
}

/** Of several verdicts: the first refusal that is not a rate limit, else the longest wait. */
export function firstRefusal(verdicts: readonly GuardVerdict[]): GuardVerdict {
  let worst: GuardVerdict = OK
  for (const v of verdicts) {
    if (v.ok) continue
    if (v.status !== 429) return v
    if (worst.ok || (v.retryAfterSeconds ?? 0) > (worst.retryAfterSeconds ?? 0)) worst = v
  }
  return worst
}

/** The bounds of velocity detection's count: sends with `after < at <= maturedBy`. */
export function burstBounds(rule: BurstRule, now: number): { after: number; maturedBy: number } {
  return { after: windowStart(rule.windowSeconds, now), maturedBy: now - rule.graceSeconds * 1000 }
}

/** What velocity detection counted for one prefix. */
export interface BurstCount {
  /** Sends in the window older than the grace period. */
  readonly matured: number
  /** Of those, the ones whose verification was approved. */
  readonly approved: number
}

/** The details a `low_approval_burst` block records, or null when the prefix looks fine. */
export function burstFinding(rule: BurstRule, count: BurstCount): Record<string, number> | null {
  if (count.matured < rule.sends) return null
  const rate = count.approved / count.matured
  if (rate >= rule.minApprovalRate) return null
  return {
    sends: count.matured,
    approved: count.approved,
    approvalRate: Math.round(rate * 1000) / 1000,
    minApprovalRate: rule.minApprovalRate,
    minSends: rule.sends,
    windowSeconds: rule.windowSeconds,
    graceSeconds: rule.graceSeconds,
  }
}

/** The API error of a refusal, for the Verify route (set `Retry-After` from the verdict too). */
export function refusalError(verdict: Extract<GuardVerdict, { ok: false }>): AppError {
  const def = Object.values(errors).find((e) => e.code === verdict.code) ?? errors.internal_error
  return new AppError(def, verdict.details)
}

// --- configuration -------------------------------------------------------------------------

/** The raw values of VERIFY_COUNTRIES, VERIFY_LIMITS (parsed JSON) and VERIFY_BLOCK_HOURS. */
export interface VerifyAbuseInput {
  readonly countries: string | undefined
  readonly limits: unknown
  readonly blockHours: string | undefined
}

/** Reads the settings, pushing every problem found onto `problems` (config.ts reports them). */
export function readVerifyAbuse(input: VerifyAbuseInput, problems: string[]): VerifyAbuseSettings {
  let countries: string[] | null = null
  if (input.countries !== undefined && input.countries.trim() !== '') {
    countries = []
    for (const raw of input.countries.split(',')) {
      const c = raw.trim().toUpperCase()
      if (/^[A-Z]{2}$/.test(c) && isSupportedCountry(c)) {
        if (!countries.includes(c)) countries.push(c)
      } else {
        problems.push(
          `VERIFY_COUNTRIES: "${raw.trim()}" is not an ISO 3166-1 alpha-2 country code with phone numbers`,
        )
      }
    }
  }

  let blockHours = DEFAULT_VERIFY_ABUSE.blockHours
  if (input.blockHours !== undefined && input.blockHours !== '') {
    const n = Number(input.blockHours)
    if (!Number.isFinite(n) || n <= 0 || n > 720) {
      problems.push(
        `VERIFY_BLOCK_HOURS must be a number of hours above 0 and at most 720 (got "${input.blockHours}")`,
      )
    } else {
      blockHours = n
    }
  }

  return { countries, limits: readLimits(input.limits, problems), blockHours }
}

const LIMIT_NAMES = ['number', 'ip', 'prefix'] as const

function readLimits(raw: unknown, problems: string[]): VerifyLimits {
  if (raw === undefined) return DEFAULT_VERIFY_LIMITS
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push('VERIFY_LIMITS must be a JSON object')
    return DEFAULT_VERIFY_LIMITS
  }
  const obj = raw as Record<string, unknown>
  for (const k of Object.keys(obj)) {
    if (!(LIMIT_NAMES as readonly string[]).includes(k) && k !== 'burst') {
      problems.push(`VERIFY_LIMITS: unknown key "${k}" (number, ip, prefix, burst)`)
    }
  }
  const num = (
    where: string,
    o: Record<string, unknown>,
    key: string,
    def: number,
    min: number,
    max: number,
    integer = true,
  ): number => {
    const v = o[key]
    if (v === undefined) return def
    if (typeof v !== 'number' || (integer && !Number.isInteger(v)) || v < min || v > max) {
      problems.push(
        `VERIFY_LIMITS.${where}.${key} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
      )
      return def
    }
    return v
  }
  const entry = (
    name: string,
    def: Record<string, number> | null,
    allowed: readonly string[],
  ): Record<string, unknown> | null | undefined => {
    const v = obj[name]
    if (v === undefined) return def === null ? null : {}
    if (v === null) return null
    if (typeof v !== 'object' || Array.isArray(v)) {
      problems.push(`VERIFY_LIMITS.${name} must be an object or null (off)`)
      return undefined
    }
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) {
        problems.push(`VERIFY_LIMITS.${name}: unknown key "${k}" (${allowed.join(', ')})`)
      }
    }
    return v as Record<string, unknown>
  }

  const limits: Record<string, unknown> = {}
  for (const name of LIMIT_NAMES) {
    const def = DEFAULT_VERIFY_LIMITS[name] as WindowLimit
    const e = entry(name, { ...def }, ['sends', 'windowSeconds'])
    limits[name] =
      e === null
        ? null
        : e === undefined
          ? def
          : {
              sends: num(name, e, 'sends', def.sends, 1, 1_000_000),
              windowSeconds: num(name, e, 'windowSeconds', def.windowSeconds, 1, 86_400),
            }
  }
  const defBurst = DEFAULT_VERIFY_LIMITS.burst as BurstRule
  const b = entry('burst', { ...defBurst }, [
    'sends',
    'windowSeconds',
    'graceSeconds',
    'minApprovalRate',
  ])
  let burst: BurstRule | null = null
  if (b === undefined) burst = defBurst
  else if (b !== null) {
    burst = {
      sends: num('burst', b, 'sends', defBurst.sends, 1, 1_000_000),
      windowSeconds: num('burst', b, 'windowSeconds', defBurst.windowSeconds, 60, 86_400),
      graceSeconds: num('burst', b, 'graceSeconds', defBurst.graceSeconds, 0, 3600),
      minApprovalRate: num('burst', b, 'minApprovalRate', defBurst.minApprovalRate, 0, 1, false),
    }
    if (burst.graceSeconds >= burst.windowSeconds) {
      problems.push('VERIFY_LIMITS.burst.graceSeconds must be shorter than its windowSeconds')
    }
  }
  return { ...(limits as Omit<VerifyLimits, 'burst'>), burst }
}

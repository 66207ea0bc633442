import { maskPhone } from '../messages/phone.js'
import { parseSender } from '../messages/sender.js'

/** What a route accepts; every field is optional and all given fields must match. */
export interface RouteMatch {
  /** ISO 3166-1 alpha-2 codes of the destination's country (any of them). */
  readonly countries?: readonly string[]
  /** E.164 prefixes of the destination, `+` included (any of them). */
  readonly prefixes?: readonly string[]
  readonly type?: 'transactional' | 'marketing'
  /** The message's own `from`, normalised as intake stores it. */
  readonly from?: string
}

/**
 * A sender a route gives messages that have no `from`. `mps`: segments per second this sender
 * may be sent (the pacer reads it, see {@link senderLimits}); undefined: no limit of its own.
 */
export interface RouteSender {
  readonly from: string
  readonly mps?: number | undefined
}

/**
 * One entry of `ROUTES`, parsed. A route without `match` is a default route and takes every
 * message. `providers` name configured instances, tried in this order on failover.
 */
export interface Route {
  readonly match?: RouteMatch | undefined
  readonly providers: readonly string[]
  readonly senders: readonly RouteSender[]
  /** A send whose outcome is unknown may go to another provider (it may arrive twice). */
  readonly failoverOnTimeout: boolean
}

const COUNTRY = /^[A-Z]{2}$/
const PREFIX = /^\+[0-9]{1,15}$/
const ROUTE_KEYS = new Set(['match', 'providers', 'senders', 'failoverOnTimeout'])
const MATCH_KEYS = new Set(['countries', 'prefixes', 'type', 'from'])
const SENDER_KEYS = new Set(['from', 'mps'])

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const isEmpty = (o: object) => Object.keys(o).length === 0

/** Without ROUTES: one default route over every provider instance, in configured order. */
export function defaultRoutes(providers: readonly string[]): Route[] {
  return [{ providers: [...providers], senders: [], failoverOnTimeout: false }]
}

/**
 * Reads `ROUTES` (already JSON-parsed). Every problem is reported, each naming its route by
 * position; the routes are only usable when `problems` is empty.
 */
export function parseRoutes(
  raw: unknown,
  instances: readonly string[],
): { routes: Route[]; problems: string[] } {
  const problems: string[] = []
  if (!Array.isArray(raw) || raw.length === 0) {
    return { routes: [], problems: ['must be a non-empty JSON array of routes'] }
  }
  const routes: Route[] = []
  let catchAll: number | undefined
  raw.forEach((item, i) => {
    const at = (m: string) => problems.push(`[${i}]: ${m}`)
    if (!isObject(item)) return at('must be an object with "providers"')
    for (const k of Object.keys(item)) if (!ROUTE_KEYS.has(k)) at(`unknown setting "${k}"`)
    const match = item.match === undefined ? undefined : readMatch(item.match, at)
    const providers = readProviders(item.providers, instances, at)
    const senders = readSenders(item.senders, at)
    const failover = item.failoverOnTimeout ?? false
    if (typeof failover !== 'boolean') at('"failoverOnTimeout" must be true or false')
    if (catchAll !== undefined) {
      at(`is never used: route [${catchAll}] before it takes every message`)
    } else if (item.match === undefined || (isObject(item.match) && isEmpty(item.match))) {
      catchAll = i
    }
    routes.push({
      ...(match && !isEmpty(match) ? { match } : {}),
      providers,
      senders,
      failoverOnTimeout: failover === true,
    })
  })
  return { routes, problems }
}

function readMatch(v: unknown, at: (m: string) => void): RouteMatch | undefined {
  if (!isObject(v)) {
    at('"match" must be an object')
    return undefined
  }
  for (const k of Object.keys(v)) if (!MATCH_KEYS.has(k)) at(`unknown "match" field "${k}"`)
  const match: { -readonly [K in keyof RouteMatch]: RouteMatch[K] } = {}
  const countries = readList(v.countries, 'countries', at)
  if (countries) {
    const upper = countries.map((c) => c.toUpperCase())
    const bad = upper.filter((c) => !COUNTRY.test(c))
    if (bad.length > 0)
      at(`"match.countries" must be ISO 3166-1 alpha-2 codes (got ${bad.join(', ')})`)
    match.countries = upper
  }
  const prefixes = readList(v.prefixes, 'prefixes', at)
  if (prefixes) {
    const bad = prefixes.filter((p) => !PREFIX.test(p))
    if (bad.length > 0)
      at(`"match.prefixes" must be "+" and 1 to 15 digits (got ${bad.join(', ')})`)
    match.prefixes = prefixes
  }
  if (v.type !== undefined) {
    if (v.type === 'transactional' || v.type === 'marketing') match.type = v.type
    else at('"match.type" must be transactional or marketing')
  }
  if (v.from !== undefined) {
    const from = typeof v.from === 'string' ? parseSender(v.from) : undefined
    if (from?.ok) match.from = from.from
    else at('"match.from" must be an E.164 number, a short code or an alphanumeric sender id')
  }
  return match
}

function readList(v: unknown, name: string, at: (m: string) => void): string[] | undefined {
  if (v === undefined) return undefined
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string')) {
    at(`"match.${name}" must be a non-empty array of strings`)
    return undefined
  }
  return v as string[]
}

function readProviders(
  v: unknown,
  instances: readonly string[],
  at: (m: string) => void,
): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string')) {
    at('"providers" must be a non-empty array of provider instance names')
    return []
  }
  const names = v as string[]
  for (const name of names) {
    if (!instances.includes(name)) {
      at(`"providers" names ${name}, which is not a configured instance (${instances.join(', ')})`)
    }
  }
  const twice = names.filter((n, k) => names.indexOf(n) !== k)
  if (twice.length > 0) at(`"providers" names ${twice.join(', ')} more than once`)
  return names
}

function readSenders(v: unknown, at: (m: string) => void): RouteSender[] {
  if (v === undefined) return []
  if (!Array.isArray(v)) {
    at('"senders" must be an array of senders or { "from", "mps" } objects')
    return []
  }
  const out: RouteSender[] = []
  v.forEach((s: unknown, k) => {
    const raw = isObject(s) ? s.from : s
    if (isObject(s)) {
      for (const key of Object.keys(s)) {
        if (!SENDER_KEYS.has(key)) at(`"senders[${k}]" has unknown setting "${key}"`)
      }
    }
    const parsed = typeof raw === 'string' ? parseSender(raw) : undefined
    if (!parsed?.ok) {
      at(`"senders[${k}]" must be an E.164 number, a short code or an alphanumeric sender id`)
      return
    }
    let mps: number | undefined
    if (isObject(s) && s.mps !== undefined) {
      if (typeof s.mps === 'number' && Number.isFinite(s.mps) && s.mps > 0 && s.mps <= 100_000) {
        mps = s.mps
      } else {
        at(`"senders[${k}].mps" must be a number above 0 and at most 100000`)
      }
    }
    if (out.some((o) => o.from === parsed.from)) {
      at(`"senders[${k}]" repeats an earlier sender`)
      return
    }
    out.push(mps === undefined ? { from: parsed.from } : { from: parsed.from, mps })
  })
  return out
}

/**
 * The per-sender pacing limits of all routes: sender -> segments per second. A sender listed
 * by several routes has one limit; differing ones are a configuration problem (returned).
 */
export function senderLimits(routes: readonly Route[]): {
  limits: Map<string, number>
  problems: string[]
} {
  const limits = new Map<string, number>()
  const problems: string[] = []
  for (const r of routes) {
    for (const s of r.senders) {
      if (s.mps === undefined) continue
      const known = limits.get(s.from)
      if (known !== undefined && known !== s.mps) {
        problems.push(
          `sender ${maskPhone(s.from)} has "mps" ${known} in one route and ${s.mps} in another`,
        )
      }
      if (known === undefined) limits.set(s.from, s.mps)
    }
  }
  return { limits, problems }
}

/**
 * Quiet hours: a marketing message goes only inside the recipient's local sending window
 * (docs/compliance.md). The recipient's time zone is inferred from the number: the area code
 * for North American (+1) numbers, else the country; where that leaves several zones, the
 * window must be open in all of them.
 */
import type { MessageRecord } from '../messages/message.js'
import { parsePhone } from '../messages/phone.js'
import { AREA_CODE_ZONES } from './area-codes.js'
import { COUNTRY_ZONES } from './countries.js'
import { commonState, zoneState, type WindowRule, type WindowState } from './window.js'
import { DAY, offsetAt } from './zone-clock.js'

export type { WindowRule } from './window.js'

/** `QUIET_HOURS` as validated (plain data: the configuration is cloned into the worker thread). */
export interface QuietHoursConfig {
  readonly default: WindowRule
  /** Per country (ISO 3166-1 alpha-2): replaces the default there. */
  readonly countries: Readonly<Record<string, WindowRule>>
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const
const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6] as const

/** 08:00 to 21:00 every day: the TCPA's calling hours (47 CFR 64.1200(c)(1)). */
export const DEFAULT_QUIET_HOURS: QuietHoursConfig = {
  default: { start: 8 * 60, end: 21 * 60, days: EVERY_DAY },
  countries: {},
}

/** Where numbers have no known zone (non-geographic codes such as +800). */
const FALLBACK_ZONES = ['UTC'] as const

/** "08:00" for 480 minutes. */
export function hhmm(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`
}

/** The zones a number's local time is taken from, and its country (libphonenumber-js). */
export function zonesOf(e164: string): { zones: readonly string[]; country: string | undefined } {
  const parsed = parsePhone(e164)
  const country = parsed.ok ? parsed.country : undefined
  if (e164.startsWith('+1')) {
    const byArea = AREA_CODE_ZONES.get(e164.slice(2, 5))
    if (byArea) return { zones: byArea, country }
  }
  const byCountry = country === undefined ? undefined : COUNTRY_ZONES[country]
  return { zones: byCountry ?? FALLBACK_ZONES, country }
}

/** A number held by quiet hours: until when, and why. */
export interface Hold {
  readonly until: number
  readonly zones: readonly string[]
  readonly rule: WindowRule
}

interface Cached extends WindowState {
  /** The state holds from here to `until`. */
  readonly from: number
}

/**
 * The quiet-hours policy in force. Window states are cached per rule and zone set for as long
 * as they hold (until the next opening or closing), so a campaign costs a map lookup per
 * message after its first.
 */
export class QuietHours {
  readonly #cache = new Map<string, Cached>()

  constructor(readonly config: QuietHoursConfig) {}

  /** The window for a country: its override, else the default. */
  ruleFor(country: string | undefined): WindowRule {
    return (country !== undefined && this.config.countries[country]) || this.config.default
  }

  /**
   * Whether a marketing message to `e164` due at `at` must wait: null when its window is open
   * then, else the instant the window next opens.
   */
  hold(e164: string, at: number): Hold | null {
    const { zones, country } = zonesOf(e164)
    const rule = this.ruleFor(country)
    const key = `${country ?? ''}|${zones.join(',')}`
    let s = this.#cache.get(key)
    if (!s || at < s.from || at >= s.until) {
      const state = commonState(zones, rule, at) ?? zoneState(zones[0] ?? 'UTC', rule, at)
      s = { from: at, open: state.open, until: state.until }
      if (this.#cache.size >= 10_000) this.#cache.clear()
      this.#cache.set(key, s)
    }
    return s.open ? null : { until: s.until, zones, rule }
  }

  /** The earliest instant at or after `at` when a marketing message to `e164` may go. */
  nextSendTime(e164: string, at: number): number {
    return this.hold(e164, at)?.until ?? at
  }
}

/** The timeline detail of a message held for quiet hours. */
export function holdDetail(h: Hold): string {
  const window = `${hhmm(h.rule.start)}-${hhmm(h.rule.end)}`
  return `quiet hours: held until ${new Date(h.until).toISOString()} (window ${window} in ${h.zones.join(', ')})`
}

/**
 * Intake: a new marketing message due (now, or at its requested `sendAt`) outside its
 * recipient's window is scheduled for the window's next opening, and its validity period
 * counts from then. Returns the first event's detail, or null when it is not held.
 * Transactional messages are never held.
 */
export function holdAtIntake(m: MessageRecord, quiet: QuietHours | undefined): string | null {
  if (!quiet || m.type !== 'marketing' || m.next_attempt_at === null) return null
  const h = quiet.hold(m.to_number, m.next_attempt_at)
  if (!h) return null
  m.status = 'scheduled'
  m.send_at = h.until
  m.next_attempt_at = h.until
  m.valid_until = h.until + m.validity_period * 1000
  return holdDetail(h)
}

// Configuration -------------------------------------------------------------------------------

const TIME = /^([01]\d|2[0-4]):([0-5]\d)$/

/**
 * Largest gap between the zones' offsets, sampled in the middle of each quarter of the year from
 * `from` (boot time matters: every test process and every start pays it).
 */
function spreadMs(zones: readonly string[], from: number): number {
  let max = 0
  for (let t = from + 45 * DAY; t < from + 366 * DAY; t += 91 * DAY) {
    const offsets = zones.map((z) => offsetAt(z, t))
    max = Math.max(max, Math.max(...offsets) - Math.min(...offsets))
  }
  return max
}

let spreads: Map<string, number> | undefined
/** Per country with several zones, how far apart they are at most. */
function countrySpreads(): Map<string, number> {
  if (spreads) return spreads
  spreads = new Map()
  const from = Date.now()
  // A +1 number's area code never spans more than its country's zones do.
  for (const [country, zones] of Object.entries(COUNTRY_ZONES)) {
    if (zones.length > 1) spreads.set(country, spreadMs(zones, from))
  }
  return spreads
}

function readRule(
  raw: unknown,
  where: string,
  base: WindowRule,
  problems: string[],
): WindowRule | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${where} must be an object { "start": "08:00", "end": "21:00", "days": [...] }`)
    return undefined
  }
  const o = raw as Record<string, unknown>
  let ok = true
  for (const k of Object.keys(o)) {
    if (k !== 'start' && k !== 'end' && k !== 'days') {
      problems.push(`${where}: unknown field "${k}" (start, end, days)`)
      ok = false
    }
  }
  const time = (field: 'start' | 'end', def: number): number => {
    const v = o[field]
    if (v === undefined) return def
    const m = typeof v === 'string' ? TIME.exec(v) : null
    const minutes = m ? Number(m[1]) * 60 + Number(m[2]) : NaN
    if (!m || minutes > 1440) {
      problems.push(`${where}.${field} must be a time "HH:MM" from 00:00 to 24:00`)
      ok = false
      return def
    }
    return minutes
  }
  const start = time('start', base.start)
  const end = time('end', base.end)
  if (ok && end <= start) {
    problems.push(`${where}: end (${hhmm(end)}) must be after start (${hhmm(start)})`)
    ok = false
  }
  let days = base.days
  if (o.days !== undefined) {
    const list = Array.isArray(o.days) ? (o.days as unknown[]) : null
    const idx = list?.map((d) =>
      typeof d === 'string' ? DAY_NAMES.indexOf(d.toLowerCase() as (typeof DAY_NAMES)[number]) : -1,
    )
    if (
      !list ||
      !idx ||
      list.length === 0 ||
      idx.includes(-1) ||
      new Set(idx).size !== idx.length
    ) {
      problems.push(`${where}.days must be a non-empty list of distinct ${DAY_NAMES.join(', ')}`)
      ok = false
    } else {
      days = [...idx].sort((a, b) => a - b)
    }
  }
  return ok ? { start, end, days } : undefined
}

/**
 * Reads `QUIET_HOURS` (the JSON value, undefined when unset):
 * `{ "default": { "start", "end", "days" }, "countries": { "FR": { ... } } }`, every field
 * optional; a country's missing fields come from the default. Every problem goes to
 * `problems`, prefixed with the key, including a window too short to ever open in a country
 * whose time zones are further apart than its length.
 */
export function readQuietHours(raw: unknown, problems: string[]): QuietHoursConfig {
  if (raw === undefined) return DEFAULT_QUIET_HOURS
  const key = 'QUIET_HOURS'
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${key} must be an object { "default": {...}, "countries": { "FR": {...} } }`)
    return DEFAULT_QUIET_HOURS
  }
  const o = raw as Record<string, unknown>
  const before = problems.length
  for (const k of Object.keys(o)) {
    if (k !== 'default' && k !== 'countries')
      problems.push(`${key}: unknown field "${k}" (default, countries)`)
  }
  const def =
    o.default === undefined
      ? DEFAULT_QUIET_HOURS.default
      : (readRule(o.default, `${key}.default`, DEFAULT_QUIET_HOURS.default, problems) ??
        DEFAULT_QUIET_HOURS.default)
  const countries: Record<string, WindowRule> = {}
  if (o.countries !== undefined) {
    if (typeof o.countries !== 'object' || o.countries === null || Array.isArray(o.countries)) {
      problems.push(`${key}.countries must be an object keyed by ISO 3166-1 alpha-2 country codes`)
    } else {
      for (const [code, value] of Object.entries(o.countries as Record<string, unknown>)) {
        if (!Object.hasOwn(COUNTRY_ZONES, code)) {
          problems.push(`${key}.countries: "${code}" is not an ISO 3166-1 alpha-2 country code`)
          continue
        }
        const rule = readRule(value, `${key}.countries.${code}`, def, problems)
        if (rule) countries[code] = rule
      }
    }
  }
  if (problems.length > before) return DEFAULT_QUIET_HOURS
  for (const [country, spread] of countrySpreads()) {
    const rule = countries[country] ?? def
    if (rule.end - rule.start > spread / 60_000) continue
    const where = countries[country] ? `${key}.countries.${country}` : `${key}.default`
    problems.push(
      `${where}: the window ${hhmm(rule.start)}-${hhmm(rule.end)} would never open for every number of ${country}, whose time zones are up to ${spread / 3_600_000} h apart: make it longer${countries[country] ? '' : ` or set one for ${country}`}`,
    )
  }
  return { default: def, countries }
}

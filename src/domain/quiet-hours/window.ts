import { DAY, MINUTE, instantOfWall, wallOf } from './zone-clock.js'

/**
 * A daily sending window in local time: open from `start` to `end` (minutes after midnight,
 * `end` up to 1440) on the listed days (0 Sunday to 6 Saturday, as Date#getUTCDay counts).
 * Plain data: it is part of the configuration, which is cloned into the background thread.
 */
export interface WindowRule {
  readonly start: number
  readonly end: number
  readonly days: readonly number[]
}

/** Whether a window is open at an instant, and until when that stays so. */
export interface WindowState {
  readonly open: boolean
  /** The next instant the state changes (the closing when open, the opening when closed). */
  readonly until: number
}

/** How far ahead an opening is looked for before giving up. */
const HORIZON = 15 * DAY

/**
 * The window of one zone at instant `t`. The window of a local date opens at the first instant
 * the wall clock reads `start` on that date and closes at the first instant it reads `end`:
 * a start in the hour skipped in spring opens when the clock jumps past it; a time in the hour
 * repeated in autumn counts its first occurrence (so an end there closes early, never late).
 */
export function zoneState(zone: string, rule: WindowRule, t: number): WindowState {
  const today = Math.floor(wallOf(zone, t) / DAY) * DAY
  // Yesterday too: its window can only end after `t` on a day whose midnight is skipped.
  for (let date = today - DAY; date <= today + 8 * DAY; date += DAY) {
    if (!rule.days.includes(new Date(date).getUTCDay())) continue
    const close = instantOfWall(zone, date + rule.end * MINUTE)
    if (close <= t) continue
    const open = instantOfWall(zone, date + rule.start * MINUTE)
    if (open >= close) continue
    return t >= open ? { open: true, until: close } : { open: false, until: open }
  }
  return { open: false, until: Infinity }
}

/**
 * The window over several zones at instant `t`: open only while it is open in every one (for
 * a number that may be in any of them), so it opens at the latest opening and closes at the
 * earliest closing. Undefined when the windows never overlap within about two weeks (the
 * configuration check refuses a window shorter than the zones' spread; days can still do it).
 */
export function commonState(
  zones: readonly string[],
  rule: WindowRule,
  t: number,
): WindowState | undefined {
  let at = t
  for (let round = 0; round < 64 && at - t <= HORIZON; round++) {
    let allOpen = true
    let closes = Infinity
    let opens = at
    for (const zone of zones) {
      const s = zoneState(zone, rule, at)
      if (s.open) closes = Math.min(closes, s.until)
      else {
        allOpen = false
        opens = Math.max(opens, s.until)
      }
    }
    if (allOpen) return at === t ? { open: true, until: closes } : { open: false, until: at }
    if (opens === Infinity) return undefined
    at = opens
  }
  return undefined
}

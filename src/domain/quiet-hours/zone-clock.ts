/**
 * Wall-clock arithmetic in IANA time zones with Intl (Node's full ICU), no dependency. A wall
 * time is written as "naive" epoch milliseconds: the UTC instant whose UTC fields are the local
 * fields (`Date.UTC(y, m, d, h, mi)`).
 */

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(zone, f)
  }
  return f
}

/** Whether Intl knows the zone. */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone)
    return true
  } catch {
    return false
  }
}

/** The local wall time of instant `t` in `zone`, as naive milliseconds. */
export function wallOf(zone: string, t: number): number {
  let y = 0
  let mo = 0
  let d = 0
  let h = 0
  let mi = 0
  let s = 0
  for (const p of formatter(zone).formatToParts(t)) {
    switch (p.type) {
      case 'year':
        y = Number(p.value)
        break
      case 'month':
        mo = Number(p.value)
        break
      case 'day':
        d = Number(p.value)
        break
      case 'hour':
        h = Number(p.value)
        break
      case 'minute':
        mi = Number(p.value)
        break
      case 'second':
        s = Number(p.value)
        break
    }
  }
  const sub = t - Math.floor(t / 1000) * 1000
  return Date.UTC(y, mo - 1, d, h, mi, s) + sub
}

/** The zone's offset from UTC at instant `t`, in milliseconds (east positive). */
export function offsetAt(zone: string, t: number): number {
  return wallOf(zone, t) - t
}

/**
 * The first instant at which the wall clock in `zone` reads `wall` or later. Where that wall
 * time happens twice (the hour repeated when clocks go back), the first; where it does not
 * happen (the hour skipped when clocks go forward), the instant of the change, when the clock
 * jumps past it.
 */
export function instantOfWall(zone: string, wall: number): number {
  const offsets = new Set([
    offsetAt(zone, wall - DAY),
    offsetAt(zone, wall),
    offsetAt(zone, wall + DAY),
  ])
  let best = Infinity
  let lo = Infinity
  let hi = -Infinity
  for (const o of offsets) {
    const t = wall - o
    if (t < lo) lo = t
    if (t > hi) hi = t
    if (t < best && wallOf(zone, t) === wall) best = t
  }
  if (best !== Infinity) return best
  // Skipped: before `lo` the clock reads earlier, at `hi` later. The change is on a second.
  lo = Math.floor(lo / 1000) * 1000
  hi = Math.ceil(hi / 1000) * 1000
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000
    if (wallOf(zone, mid) >= wall) hi = mid
    else lo = mid
  }
  return hi
}

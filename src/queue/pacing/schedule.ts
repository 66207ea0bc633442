/**
 * The pacing schedule: for each pacing key (a provider instance or a sender), the sends booked
 * on it, and where the next send fits. Pure functions over plain data, shared by every place
 * the schedule is kept (memory, PostgreSQL, Redis), so one algorithm decides everywhere.
 *
 * A key with a limit of `mps` segments per second keeps two rules over its booked sends:
 * - no half-open window of `windowMs` (one second plus a safety margin) holds more than `mps`
 *   segments (a message longer than `mps` segments counts as `mps`: it gets a window to itself);
 * - sends for which it is the tightest limit are at least `windowMs / mps` apart, so a backlog
 *   goes out evenly spaced rather than in bursts (for one-segment messages this alone keeps the
 *   first rule). A provider's limit spaces the sends that only it limits; sends that a sender's
 *   limit spaces only count in the provider's windows, so the senders' even streams interleave
 *   freely under it.
 * A new send may go into any gap that keeps the rules on all of its keys, so a slow sender's
 * bookings far ahead never hold back other senders on the same provider.
 */

/** One booked send on a key: when it goes (epoch ms) and how many segments it counts for. */
export interface Slot {
  readonly t: number
  readonly n: number
  /** 1: this key is the send's tightest limit, and spaces it from the key's other spaced sends. */
  readonly s?: 1
}

/** A pacing key and its limit in segments per second (more than 0). */
export interface PaceKey {
  readonly key: string
  readonly mps: number
}

/** Booked sends per key, each list in time order. */
export type Logs = Map<string, Slot[]>

/** A forbidden stretch of time: `t` may not lie in it (`open`: `lo` itself is allowed). */
interface Stretch {
  lo: number
  hi: number
  open: boolean
}

/** Index of the first slot at or after `t` (binary search). */
function firstAtOrAfter(log: readonly Slot[], t: number): number {
  let lo = 0
  let hi = log.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((log[mid] as Slot).t < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** How far back a slot can still constrain a send at or after a given time. */
const reach = (k: PaceKey, windowMs: number) => Math.max(windowMs, windowMs / k.mps)

/** Stretches where a send of `n` segments would break one of `k`'s rules, from `from` on. */
function forbidden(
  k: PaceKey,
  log: readonly Slot[],
  n: number,
  spaced: boolean,
  from: number,
  windowMs: number,
  out: Stretch[],
): void {
  const spacing = windowMs / k.mps
  const start = firstAtOrAfter(log, from - reach(k, windowMs))
  const size = (s: Slot) => Math.min(s.n, k.mps)
  const own = Math.min(n, k.mps)
  // Sends spaced windowMs / mps apart put at most mps one-segment sends in a window when mps
  // is a whole number, and at most one send when mps <= 1: then spacing alone keeps both rules.
  let uniform = spaced && (k.mps <= 1 || (Number.isInteger(k.mps) && n === 1))
  for (let i = start; i < log.length; i++) {
    const s = log[i] as Slot
    if (s.s !== 1) uniform = false
    else if (spaced) out.push({ lo: s.t - spacing, hi: s.t + spacing, open: true })
    if (s.n !== 1 && k.mps > 1) uniform = false
  }
  if (uniform) return
  // Windows that start at a booked send and would hold the new one.
  let j = start
  let sum = 0
  for (let i = start; i < log.length; i++) {
    const y = (log[i] as Slot).t
    while (j < log.length && (log[j] as Slot).t < y + windowMs) sum += size(log[j++] as Slot)
    if (sum + own > k.mps) out.push({ lo: y, hi: y + windowMs, open: false })
    sum -= size(log[i] as Slot)
  }
  // The window that starts at the new send: slot s counts in it when s.t - windowMs < t <= s.t.
  const events: { x: number; d: number }[] = []
  for (let i = start; i < log.length; i++) {
    const s = log[i] as Slot
    events.push({ x: s.t - windowMs, d: size(s) }, { x: s.t, d: -size(s) })
  }
  events.sort((a, b) => a.x - b.x)
  let level = 0
  let openedAt: number | undefined
  for (let i = 0; i < events.length;) {
    const x = (events[i] as { x: number }).x
    while (i < events.length && (events[i] as { x: number }).x === x) level += events[i++]!.d
    if (level + own > k.mps) openedAt ??= x
    else if (openedAt !== undefined) {
      // The stretch ends at a booked send, inclusive: the new one goes a microsecond after it.
      out.push({ lo: openedAt, hi: x + 0.001, open: true })
      openedAt = undefined
    }
  }
}

/**
 * The earliest time at or after `from` when a send of `n` segments keeps the rules on every one
 * of `keys`.
 */
export function earliest(
  keys: readonly PaceKey[],
  n: number,
  logs: Logs,
  from: number,
  windowMs: number,
): number {
  const stretches: Stretch[] = []
  const tightest = tightestOf(keys)
  for (const k of keys) {
    forbidden(k, logs.get(k.key) ?? [], n, k === tightest, from, windowMs, stretches)
  }
  stretches.sort((a, b) => a.lo - b.lo)
  let t = from
  for (let moved = true; moved;) {
    moved = false
    for (const s of stretches) {
      if (s.lo > t) break
      if (t < s.hi && (s.lo < t || !s.open)) {
        t = s.hi
        moved = true
      }
    }
  }
  return t
}

/** The key that spaces a send: its lowest limit (the first of equals). */
export function tightestOf(keys: readonly PaceKey[]): PaceKey | undefined {
  return keys.reduce<PaceKey | undefined>(
    (a, b) => (a === undefined || b.mps < a.mps ? b : a),
    undefined,
  )
}

/** Adds a slot to a key's log, keeping time order. */
export function insertSlot(logs: Logs, key: string, slot: Slot): void {
  let log = logs.get(key)
  if (!log) logs.set(key, (log = []))
  if (log.length === 0 || (log[log.length - 1] as Slot).t <= slot.t) log.push(slot)
  else log.splice(firstAtOrAfter(log, slot.t), 0, slot)
}

/** Removes one slot with exactly this time and size (a booking that was not used). */
export function removeSlot(logs: Logs, key: string, slot: Slot): void {
  const log = logs.get(key)
  if (!log) return
  for (let i = firstAtOrAfter(log, slot.t); i < log.length && log[i]!.t === slot.t; i++) {
    if (log[i]!.n === slot.n) {
      log.splice(i, 1)
      return
    }
  }
}

/** Drops the slots that can no longer constrain a send at or after `now`. */
export function trimLog(log: Slot[], k: PaceKey, now: number, windowMs: number): Slot[] {
  const keep = firstAtOrAfter(log, now - reach(k, windowMs))
  return keep === 0 ? log : log.slice(keep)
}

/** A send to book: its keys and segments. */
export interface BookRequest {
  readonly keys: readonly PaceKey[]
  readonly n: number
}

/** A booking given back unused (it was late, or its message was stopped while waiting). */
export interface Release {
  readonly keys: readonly PaceKey[]
  readonly slot: Slot
}

/**
 * `booked`: the send goes at `t`, recorded on all its keys. `full`: no room within the horizon;
 * `t` is the earliest time there would be, nothing is recorded.
 */
export type Booking = { readonly outcome: 'booked' | 'full'; readonly t: number }

export interface BookingRules {
  /** One second plus the safety margin. */
  readonly windowMs: number
  /** How far ahead of `now` a send may be booked. */
  readonly horizonMs: number
}

/**
 * One round of bookings on `logs` (changed in place): releases first, then each request in
 * order at the earliest time at or after `from` (`now` plus the time the answer takes to reach
 * the waiting sends) that keeps every rule of its keys.
 */
export function bookAll(
  logs: Logs,
  requests: readonly BookRequest[],
  releases: readonly Release[],
  now: number,
  from: number,
  rules: BookingRules,
): Booking[] {
  for (const r of releases) for (const k of r.keys) removeSlot(logs, k.key, r.slot)
  const trimmed = new Set<string>()
  for (const r of requests) {
    for (const k of r.keys) {
      if (trimmed.has(k.key)) continue
      trimmed.add(k.key)
      const log = logs.get(k.key)
      if (log) logs.set(k.key, trimLog(log, k, now, rules.windowMs))
    }
  }
  return requests.map((r) => {
    const t = earliest(r.keys, r.n, logs, from, rules.windowMs)
    if (t > now + rules.horizonMs) return { outcome: 'full', t }
    const tightest = tightestOf(r.keys)
    for (const k of r.keys)
      insertSlot(logs, k.key, k === tightest ? { t, n: r.n, s: 1 } : { t, n: r.n })
    return { outcome: 'booked', t }
  })
}

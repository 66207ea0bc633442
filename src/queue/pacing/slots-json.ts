import type { Slot } from './schedule.js'

/** A key's slots as stored (PostgreSQL, Redis): `[[t, n], [t, n, 1], ...]`, in time order. */
export function encodeSlots(slots: readonly Slot[]): string {
  return JSON.stringify(slots.map((s) => (s.s === 1 ? [s.t, s.n, 1] : [s.t, s.n])))
}

/** Reads stored slots; anything unreadable counts as none (the schedule starts afresh). */
export function decodeSlots(text: string | null | undefined): Slot[] {
  if (!text) return []
  try {
    const raw: unknown = JSON.parse(text)
    if (!Array.isArray(raw)) return []
    const out: Slot[] = []
    for (const x of raw as unknown[]) {
      if (!Array.isArray(x) || typeof x[0] !== 'number' || typeof x[1] !== 'number') continue
      out.push(x[2] === 1 ? { t: x[0], n: x[1], s: 1 } : { t: x[0], n: x[1] })
    }
    return out
  } catch {
    return []
  }
}

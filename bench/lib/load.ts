import { parsePhoneNumberWithError } from 'libphonenumber-js/max'

/**
 * US area codes for generated destinations. With the 555 exchange every subscriber number
 * 0000-9999 is valid under libphonenumber's full ("max") metadata, which Switchboard uses.
 */
const AREA_CODES = [
  201, 206, 212, 213, 303, 305, 312, 323, 404, 415, 510, 512, 617, 646, 702, 713, 718, 805, 818,
  917,
] as const

/** How many distinct destinations `destination()` yields before repeating. */
export const DISTINCT_DESTINATIONS = AREA_CODES.length * 10_000

/** The i-th generated destination in E.164, e.g. `+14155550042`; distinct for i below 200,000. */
export function destination(i: number): string {
  const n = i % DISTINCT_DESTINATIONS
  const area = AREA_CODES[n % AREA_CODES.length] ?? 415
  const subscriber = Math.floor(n / AREA_CODES.length)
  return `+1${area}555${String(subscriber).padStart(4, '0')}`
}

/** A one-segment GSM-7 body, different per message. */
export function messageText(i: number): string {
  const code = String((i * 7919 + 104_729) % 1_000_000).padStart(6, '0')
  return `Your Switchboard verification code is ${code} (bench ${i})`
}

/** One `POST /v1/messages` body. */
export function sendBody(i: number): { to: string; body: string } {
  return { to: destination(i), body: messageText(i) }
}

/**
 * Throws unless every destination with index in [from, from + count) is valid for its
 * numbering plan (Switchboard would answer 422 for an invalid one).
 */
export function assertValidDestinations(from: number, count: number): void {
  const invalid: string[] = []
  for (let i = from; i < from + count; i++) {
    const to = destination(i)
    let ok: boolean
    try {
      ok = parsePhoneNumberWithError(to).isValid()
    } catch {
      ok = false
    }
    if (!ok && invalid.push(to) >= 5) break
  }
  if (invalid.length > 0) {
    throw new Error(`generated destinations are not valid numbers: ${invalid.join(', ')}`)
  }
}

/** `count` batch bodies of `size` messages each, numbered from `from` on. */
export function batchBodies(from: number, count: number, size: number): string[] {
  const out: string[] = []
  for (let b = 0; b < count; b++) {
    const messages = []
    for (let k = 0; k < size; k++) messages.push(sendBody(from + b * size + k))
    out.push(JSON.stringify({ messages }))
  }
  return out
}

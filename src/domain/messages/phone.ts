import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js/max'

export type PhoneParse =
  | {
      ok: true
      e164: string
      country: string | undefined
      /** A premium-rate or shared-cost number: the classic toll-fraud destination. */
      premium: 'PREMIUM_RATE' | 'SHARED_COST' | undefined
    }
  | { ok: false; reason: 'not_a_number' | 'invalid_country' | 'too_short' | 'too_long' | 'invalid' }

const CACHE_LIMIT = 50_000
const cache = new Map<string, PhoneParse>()

/**
 * Parses a destination into E.164 with full ("max") metadata, so only numbers that are valid
 * for their numbering plan pass (not just the right length). National numbers are read with
 * `defaultCountry`. Results are memoised: the same numbers recur in batches and campaigns.
 */
export function parsePhone(input: string, defaultCountry?: string): PhoneParse {
  const key = defaultCountry ? `${defaultCountry}|${input}` : input
  const hit = cache.get(key)
  if (hit) return hit
  const result = parseUncached(input, defaultCountry)
  if (cache.size >= CACHE_LIMIT) cache.clear()
  cache.set(key, result)
  return result
}

function parseUncached(input: string, defaultCountry?: string): PhoneParse {
  const trimmed = input.trim()
  if (trimmed.length === 0 || trimmed.length > 32 || !/^[+0-9 ().\-/]+$/.test(trimmed)) {
    return { ok: false, reason: 'not_a_number' }
  }
  try {
    const phone = parsePhoneNumberWithError(trimmed, {
      defaultCountry: defaultCountry as CountryCode | undefined,
      extract: false,
    })
    if (!phone.isValid()) return { ok: false, reason: 'invalid' }
    // The number type costs a second metadata lookup; the result is memoised with the rest.
    const type = phone.getType()
    const premium = type === 'PREMIUM_RATE' || type === 'SHARED_COST' ? type : undefined
    return { ok: true, e164: phone.number, country: phone.country, premium }
  } catch (err) {
    const m = err instanceof Error ? err.message : ''
    if (m === 'INVALID_COUNTRY') return { ok: false, reason: 'invalid_country' }
    if (m === 'TOO_SHORT') return { ok: false, reason: 'too_short' }
    if (m === 'TOO_LONG') return { ok: false, reason: 'too_long' }
    return { ok: false, reason: 'not_a_number' }
  }
}

/** Masks a phone number to its last four digits for logs: `+14155550100` -> `*******0100`. */
export function maskPhone(value: string): string {
  if (value.length <= 4) return '****'
  return '*'.repeat(value.length - 4) + value.slice(-4)
}

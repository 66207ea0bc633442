/** One entry of `PRICES`: the price of one segment through `provider` to `country`. */
export interface PriceEntry {
  readonly provider: string
  /** ISO 3166-1 alpha-2, or `*`: every country this provider has no entry for. */
  readonly country: string
  /** Per segment, in `currency`. */
  readonly price: number
  /** ISO 4217, e.g. `USD`. */
  readonly currency: string
}

/** A destination country (ISO 3166-1 alpha-2), or a function that finds it when needed. */
export type CountryArg = string | undefined | (() => string | undefined)

/** An estimated cost: segments x the segment price. */
export interface Cost {
  readonly amount: number
  readonly currency: string
}

const COUNTRY = /^([A-Z]{2}|\*)$/
const CURRENCY = /^[A-Z]{3}$/
const KEYS = new Set(['provider', 'country', 'price', 'currency'])

/** Reads `PRICES` (already JSON-parsed); every problem is reported, by position. */
export function parsePrices(
  raw: unknown,
  instances: readonly string[],
): { prices: PriceEntry[]; problems: string[] } {
  const problems: string[] = []
  if (!Array.isArray(raw)) {
    return {
      prices: [],
      problems: ['must be a JSON array of { provider, country, price, currency }'],
    }
  }
  const prices: PriceEntry[] = []
  const seen = new Set<string>()
  raw.forEach((item: unknown, i) => {
    const at = (m: string) => problems.push(`[${i}]: ${m}`)
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      return at('must be an object { provider, country, price, currency }')
    }
    const e = item as Record<string, unknown>
    for (const k of Object.keys(e)) if (!KEYS.has(k)) at(`unknown setting "${k}"`)
    const { provider, price } = e
    const country = typeof e.country === 'string' ? e.country.toUpperCase() : undefined
    const currency = typeof e.currency === 'string' ? e.currency.toUpperCase() : undefined
    let ok = true
    if (typeof provider !== 'string' || !instances.includes(provider)) {
      at(`"provider" must name a configured instance (${instances.join(', ')})`)
      ok = false
    }
    if (country === undefined || !COUNTRY.test(country)) {
      at('"country" must be an ISO 3166-1 alpha-2 code or "*"')
      ok = false
    }
    if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) {
      at('"price" must be a number of at least 0 (per segment)')
      ok = false
    }
    if (currency === undefined || !CURRENCY.test(currency)) {
      at('"currency" must be an ISO 4217 code such as USD')
      ok = false
    }
    if (!ok) return
    const key = `${provider as string}|${country as string}`
    if (seen.has(key))
      return at(`repeats the price of ${provider as string} for ${country as string}`)
    seen.add(key)
    prices.push({
      provider: provider as string,
      country: country as string,
      price: price as number,
      currency: currency as string,
    })
  })
  return { prices, problems }
}

/**
 * The price table: a provider's price for a country, else its `*` entry. Estimates are
 * rounded to 6 decimals (floating point would otherwise show 0.0079 x 3 as 0.023700000000000002).
 */
export class PriceTable {
  readonly #byKey = new Map<string, PriceEntry>()
  /** Providers with a price for some country (not only `*`): only they need the country. */
  readonly #byCountry = new Set<string>()

  constructor(entries: readonly PriceEntry[]) {
    for (const e of entries) {
      this.#byKey.set(`${e.provider}|${e.country}`, e)
      if (e.country !== '*') this.#byCountry.add(e.provider)
    }
  }

  /**
   * The segment price through `provider` to `country`, or undefined when none is known.
   * `country` may be a function: it is called only when the provider has per-country prices
   * (finding a number's country means parsing it with full metadata, which the send path
   * would otherwise pay for every message).
   */
  lookup(provider: string, country: CountryArg): PriceEntry | undefined {
    const c =
      typeof country === 'function'
        ? this.#byCountry.has(provider)
          ? country()
          : undefined
        : country
    return (
      (c === undefined ? undefined : this.#byKey.get(`${provider}|${c}`)) ??
      this.#byKey.get(`${provider}|*`)
    )
  }

  /** Segments x price, or undefined when the table has no price for the pair. */
  estimate(provider: string, country: CountryArg, segments: number): Cost | undefined {
    const e = this.lookup(provider, country)
    if (!e) return undefined
    return { amount: Math.round(e.price * segments * 1e6) / 1e6, currency: e.currency }
  }
}

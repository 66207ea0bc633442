/**
 * What a text costs to send (POST /v1/templates/preview): encoding and segments by the send
 * path's own rules (analyzeBody, smart encoding), the characters left in the last segment, the
 * characters that force UCS-2 with the replacement smart encoding would use, and the price of
 * the segments per price-table entry.
 */
import { analyzeBody, isGsm7, type Encoding } from '../messages/encoding.js'
import { SMART_ENCODING_TABLE } from '../messages/smart-encoding.js'
import type { PriceEntry } from '../routing/prices.js'

export interface TextPreview {
  encoding: Encoding
  segments: number
  charactersLeft: number
  nonGsmCharacters: { char: string; replacement: string | null }[]
  cost: { country: string; provider: string; amount: number; currency: string }[]
}

/** A segment holds at most 160 characters: the search for what is left never goes further. */
const MAX_LEFT = 160
const PAD = 'a'.repeat(MAX_LEFT)

/**
 * Analyses `text` as the send path would (`smartEncoding` as the message would have it).
 * `charactersLeft`: how many more plain characters (`a`, one unit in either encoding) fit
 * before another segment is needed, found by the segment counter itself, so extension
 * characters, surrogate pairs and clusters that may not be split are counted as sent.
 */
export function previewText(
  text: string,
  o: { smartEncoding: boolean; prices: readonly PriceEntry[] },
): TextPreview {
  const body = text.isWellFormed() ? text : text.toWellFormed()
  const a = analyzeBody(body, { smartEncoding: o.smartEncoding })
  // The largest k such that the text sent + k characters still takes a.segments (monotonic in
  // k); `a.text` is already smart-encoded, and appended plain characters are never replaced.
  let lo = 0
  let hi = MAX_LEFT
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (analyzeBody(a.text + PAD.slice(0, mid)).segments === a.segments) lo = mid
    else hi = mid - 1
  }
  const nonGsm: TextPreview['nonGsmCharacters'] = []
  const seen = new Set<string>()
  for (const char of body) {
    if (seen.has(char) || isGsm7(char)) continue
    seen.add(char)
    nonGsm.push({ char, replacement: SMART_ENCODING_TABLE.get(char) ?? null })
  }
  const cost = o.prices
    .map((p) => ({
      country: p.country,
      provider: p.provider,
      amount: Math.round(p.price * a.segments * 1e6) / 1e6,
      currency: p.currency,
    }))
    .sort((x, y) =>
      x.country === y.country
        ? x.provider.localeCompare(y.provider)
        : x.country.localeCompare(y.country),
    )
  return {
    encoding: a.encoding,
    segments: a.segments,
    charactersLeft: lo,
    nonGsmCharacters: nonGsm,
    cost,
  }
}

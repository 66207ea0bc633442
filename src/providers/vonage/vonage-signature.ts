import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/** The signature methods a Vonage account can be set to (Dashboard → API settings). */
export const VONAGE_SIGNATURE_METHODS = ['md5hash', 'md5', 'sha1', 'sha256', 'sha512'] as const
export type VonageSignatureMethod = (typeof VONAGE_SIGNATURE_METHODS)[number]

/** Largest accepted distance between a callback's `timestamp` and our clock. */
export const MAX_SIGNATURE_SKEW_MS = 5 * 60 * 1000

/**
 * The string Vonage signs: every parameter but `sig`, sorted by name, as `&name=value`, with
 * `&` and `=` inside values (not the separators) replaced by `_`. Values are the decoded ones.
 */
export function signedString(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .filter((k) => k !== 'sig')
    .sort()
    .map((k) => `&${k}=${(params[k] ?? '').replace(/[&=]/g, '_')}`)
    .join('')
}

/**
 * Vonage's documented SMS API signature of `params`, for requests we send and callbacks we
 * receive alike: `md5hash` is md5(string + secret), lowercase hex; the HMAC methods are
 * HMAC(secret, string), uppercase hex, as Vonage sends them.
 *
 * @example
 * signVonageParams({ to: '447700900000', timestamp: '1700000000' }, secret, 'sha256')
 */
export function signVonageParams(
  params: Readonly<Record<string, string>>,
  secret: string,
  method: VonageSignatureMethod,
): string {
  const str = signedString(params)
  if (method === 'md5hash')
    return createHash('md5')
      .update(str + secret)
      .digest('hex')
  return createHmac(method, secret).update(str).digest('hex').toUpperCase()
}

const HEX = /^[0-9a-fA-F]+$/

/**
 * Constant-time check of a callback's `sig` (hex, either case) with the configured method, and
 * of its `timestamp` (unix seconds) being within five minutes of `nowMs`: an old signed
 * callback replayed later is refused.
 */
export function verifyVonageSignature(
  params: Readonly<Record<string, string>>,
  secret: string,
  method: VonageSignatureMethod,
  nowMs: number,
): boolean {
  const { sig, timestamp } = params
  if (sig === undefined || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return false
  if (Math.abs(nowMs - Number(timestamp) * 1000) > MAX_SIGNATURE_SKEW_MS) return false
  if (!HEX.test(sig) || sig.length % 2 !== 0) return false
  const given = Buffer.from(sig, 'hex')
  const expected = Buffer.from(signVonageParams(params, secret, method), 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** Constant-time equality of two secrets of any length (a URL token against ours). */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

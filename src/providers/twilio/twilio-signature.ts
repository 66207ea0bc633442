import { createHmac, timingSafeEqual } from 'node:crypto'

/** Callback parameters as Twilio signs them: a repeated key holds every value it was sent. */
export type TwilioParams = Readonly<Record<string, string | readonly string[]>>

/**
 * Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the auth token, over the URL
 * exactly as requested (query included) followed by every POST parameter in key order as
 * `key + value` (a repeated key: its distinct values in order, the key before each). A GET
 * callback signs the URL alone (`params` empty).
 */
export function twilioSignature(authToken: string, url: string, params: TwilioParams): string {
  const hmac = createHmac('sha1', authToken).update(url, 'utf8')
  for (const key of Object.keys(params).sort()) {
    const value = params[key]
    const values = typeof value === 'string' ? [value] : [...new Set(value)].sort()
    for (const v of values) hmac.update(key, 'utf8').update(v, 'utf8')
  }
  return hmac.digest('base64')
}

const AUTHORITY = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i

/**
 * The URL as received and its other port form: Twilio has signed with and without the
 * port (a default port added, or any port left out), so both are tried, as its SDK does.
 */
export function portVariants(url: string): [string, string] {
  const m = AUTHORITY.exec(url)
  if (!m) return [url, url]
  const [prefix, scheme = '', authority = ''] = m
  const rest = url.slice(prefix.length)
  const hostAndPort = authority.slice(authority.lastIndexOf('@') + 1)
  const userInfo = authority.slice(0, authority.length - hostAndPort.length)
  const colon = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1)
  if (colon !== -1) return [url, scheme + userInfo + hostAndPort.slice(0, colon) + rest]
  const port = scheme.toLowerCase() === 'https://' ? ':443' : ':80'
  return [url, scheme + userInfo + hostAndPort + port + rest]
}

/** Checks `header` against the signature of `url` (either port form) in constant time. */
export function verifyTwilioSignature(
  authToken: string,
  header: string | string[] | undefined,
  url: string,
  params: TwilioParams,
): boolean {
  if (typeof header !== 'string' || header === '') return false
  const given = Buffer.from(header, 'utf8')
  // The URL as received first: the other port form costs a second HMAC only when it fails.
  return portVariants(url).some((candidate) => {
    const expected = Buffer.from(twilioSignature(authToken, candidate, params), 'utf8')
    // The expected length is fixed (28 base64 characters), so checking it first leaks nothing.
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}

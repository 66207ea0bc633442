import { createHmac, timingSafeEqual } from 'node:crypto'

/** Header carrying `v1=<hex HMAC-SHA256(secret, timestamp + '.' + rawBody)>`. */
export const SIGNATURE_HEADER = 'x-simulator-signature'
/** Header carrying the signing time in unix seconds. */
export const TIMESTAMP_HEADER = 'x-simulator-timestamp'
/** Largest accepted distance between the signing time and the verifier's clock. */
export const MAX_SIGNATURE_SKEW_MS = 5 * 60 * 1000

function hmac(secret: string, timestamp: string, rawBody: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest()
}

/** Signature headers for a simulator callback body signed at `nowMs`. */
export function signSimulatorBody(
  secret: string,
  rawBody: Buffer,
  nowMs: number = Date.now(),
): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000))
  return {
    [SIGNATURE_HEADER]: `v1=${hmac(secret, timestamp, rawBody).toString('hex')}`,
    [TIMESTAMP_HEADER]: timestamp,
  }
}

type Headers = Readonly<Record<string, string | string[] | undefined>>

/** Case-insensitive single-valued header lookup; repeated headers count as missing. */
function single(headers: Headers, name: string): string | undefined {
  let value = headers[name]
  if (value === undefined) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name)
    value = key === undefined ? undefined : headers[key]
  }
  return Array.isArray(value) ? undefined : value
}

/**
 * Constant-time check of a simulator callback signature; rejects timestamps more than five
 * minutes away from `nowMs`, missing or repeated headers and malformed signatures.
 */
export function verifySimulatorSignature(
  secret: string,
  headers: Headers,
  rawBody: Buffer,
  nowMs: number,
): boolean {
  const timestamp = single(headers, TIMESTAMP_HEADER)
  const signature = single(headers, SIGNATURE_HEADER)
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) {
    return false
  }
  if (Math.abs(nowMs - Number(timestamp) * 1000) > MAX_SIGNATURE_SKEW_MS) return false
  const match = /^v1=([0-9a-f]{64})$/.exec(signature)
  if (!match?.[1]) return false
  const given = Buffer.from(match[1], 'hex')
  const expected = hmac(secret, timestamp, rawBody)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

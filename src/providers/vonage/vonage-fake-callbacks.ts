import { randomBytes } from 'node:crypto'
import { signVonageParams, type VonageSignatureMethod } from './vonage-signature.js'

/** How the account sends its callbacks (Dashboard → API settings → Webhook format). */
export type VonageWebhookFormat = 'GET' | 'POST' | 'POST-JSON'

/** Signing of the callbacks a Vonage-speaking server sends. */
export interface CallbackSigning {
  readonly secret: string
  readonly method: VonageSignatureMethod
}

/** The answer to one callback, as the receiver gave it. */
export interface CallbackResult {
  readonly url: string
  readonly params: Readonly<Record<string, string>>
  readonly status: number | 'error'
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, as Vonage writes `message-timestamp`. */
export function vonageTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ')
}

/** `YYMMDDHHMM` in UTC, as Vonage writes `scts`. */
export function vonageScts(ms: number): string {
  const iso = new Date(ms).toISOString()
  return (
    iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16)
  )
}

/**
 * Adds `timestamp`, `nonce` and `sig` as Vonage does when signed webhooks are enabled, with the
 * documented algorithm (the same one the Vonage SDK's `verifySignature` checks).
 */
export function signCallback(
  params: Readonly<Record<string, string>>,
  signing: CallbackSigning,
  nowMs: number,
): Record<string, string> {
  const signed = {
    ...params,
    timestamp: String(Math.floor(nowMs / 1000)),
    nonce: randomBytes(8).toString('hex'),
  }
  return { ...signed, sig: signVonageParams(signed, signing.secret, signing.method) }
}

/** Delivers one callback in the account's webhook format; never throws. */
export async function deliverCallback(
  url: string,
  params: Readonly<Record<string, string>>,
  format: VonageWebhookFormat,
): Promise<CallbackResult> {
  try {
    let res: Response
    if (format === 'GET') {
      const target = new URL(url)
      for (const [k, v] of Object.entries(params)) target.searchParams.append(k, v)
      res = await fetch(target, { signal: AbortSignal.timeout(10_000) })
    } else {
      const json = format === 'POST-JSON'
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
        },
        body: json ? JSON.stringify(params) : new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(10_000),
      })
    }
    await res.arrayBuffer()
    return { url, params, status: res.status }
  } catch {
    return { url, params, status: 'error' }
  }
}

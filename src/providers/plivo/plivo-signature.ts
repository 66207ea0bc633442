import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Plivo's callback signatures, as its SDK (`plivo` 4.79.0 `validateSignature`,
 * `validateV3Signature`) checks them. Both are base64 HMAC-SHA256 with the Auth Token:
 *
 * - V2 (documented for messaging): over the URL without its query, then the nonce.
 * - V3: over the URL with its query sorted as `k=v` pairs, the sorted POST parameters as
 *   `kv` concatenated, then `.` and the nonce; a header may carry several signatures.
 *
 * Each comes in two headers: `X-Plivo-Signature-V2` (the account's or subaccount's token) and
 * `X-Plivo-Signature-Ma-V2` (the main account's), with `X-Plivo-Signature-V2-Nonce`; V3 alike.
 */
export const V2_HEADERS = ['x-plivo-signature-v2', 'x-plivo-signature-ma-v2'] as const
export const V2_NONCE = 'x-plivo-signature-v2-nonce'
export const V3_HEADERS = ['x-plivo-signature-v3', 'x-plivo-signature-ma-v3'] as const
export const V3_NONCE = 'x-plivo-signature-v3-nonce'

/** Decoded parameters, each key with its values in arrival order. */
export type Params = ReadonlyMap<string, readonly string[]>

type Headers = Readonly<Record<string, string | string[] | undefined>>

/** Form (or query) text as decoded parameters, repeated keys kept. */
export function parseParams(text: string): Map<string, string[]> {
  const params = new Map<string, string[]>()
  for (const [k, v] of new URLSearchParams(text)) {
    const list = params.get(k)
    if (list) list.push(v)
    else params.set(k, [v])
  }
  return params
}

/** `scheme://host[:port]/path` exactly as given: no query or fragment, nothing normalised. */
function withoutQuery(url: string): string {
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}

function queryOf(url: string): string {
  const noFragment = url.split('#', 1)[0] ?? ''
  const q = noFragment.indexOf('?')
  return q === -1 ? '' : noFragment.slice(q + 1)
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Every (key, value) pair, keys sorted and each key's values sorted, as the SDK orders them. */
function sortedPairs(params: Params): [string, string][] {
  const out: [string, string][] = []
  for (const key of [...params.keys()].sort(byCodeUnit)) {
    for (const value of [...(params.get(key) ?? [])].sort(byCodeUnit)) out.push([key, value])
  }
  return out
}

function hmac(authToken: string, text: string): string {
  return createHmac('sha256', authToken).update(text, 'utf8').digest('base64')
}

/** The string V2 signs: the URL without query, then the nonce. */
export function v2Base(url: string, nonce: string): string {
  return withoutQuery(url) + nonce
}

/**
 * The string V3 signs for `method`: GET signs the URL with its query sorted; POST adds `?`
 * when there is a query or a parameter, `.` between the two when both, then `kv` of each
 * sorted parameter; both end with `.` and the nonce.
 */
export function v3Base(method: 'GET' | 'POST', url: string, params: Params, nonce: string): string {
  const query = sortedPairs(parseParams(queryOf(url)))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  const body = method === 'POST' ? sortedPairs(params) : []
  let base = withoutQuery(url)
  if (query !== '' || body.length > 0) base += `?${query}`
  if (query !== '' && body.length > 0) base += '.'
  base += body.map(([k, v]) => k + v).join('')
  return `${base}.${nonce}`
}

export function signV2(authToken: string, url: string, nonce: string): string {
  return hmac(authToken, v2Base(url, nonce))
}

export function signV3(
  authToken: string,
  method: 'GET' | 'POST',
  url: string,
  params: Params,
  nonce: string,
): string {
  return hmac(authToken, v3Base(method, url, params, nonce))
}

function header(headers: Headers, name: string): string | undefined {
  let value = headers[name]
  if (value === undefined) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name)
    value = key === undefined ? undefined : headers[key]
  }
  return Array.isArray(value) ? value.join(',') : value
}

function sameSignature(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8')
  const b = Buffer.from(expected, 'utf8')
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Whether any signature in `values` (comma-separated lists) equals `expected`, constant time. */
function anyMatches(values: (string | undefined)[], expected: string): boolean {
  let found = false
  for (const value of values) {
    for (const candidate of (value ?? '').split(',')) {
      // No early exit: every candidate is compared, so timing says nothing about which matched.
      if (sameSignature(candidate.trim(), expected)) found = true
    }
  }
  return found
}

/**
 * Verifies a Plivo callback: each signature version present (V2, V3) must verify, through its
 * own header or its `-Ma-` variant, and at least one must be present. V2 does not cover the
 * parameters, so where Plivo sends V3 it decides whether they were changed.
 */
export function verifyPlivoSignature(
  authToken: string,
  req: { method: string; url: string; headers: Headers; params: Params },
): boolean {
  const v2 = V2_HEADERS.map((h) => header(req.headers, h))
  const v3 = V3_HEADERS.map((h) => header(req.headers, h))
  const hasV2 = v2.some((v) => v !== undefined)
  const hasV3 = v3.some((v) => v !== undefined)
  if (!hasV2 && !hasV3) return false
  if (hasV2) {
    const nonce = header(req.headers, V2_NONCE)
    if (nonce === undefined || !anyMatches(v2, signV2(authToken, req.url, nonce))) return false
  }
  if (hasV3) {
    const nonce = header(req.headers, V3_NONCE)
    if (nonce === undefined || (req.method !== 'GET' && req.method !== 'POST')) return false
    if (!anyMatches(v3, signV3(authToken, req.method, req.url, req.params, nonce))) return false
  }
  return true
}

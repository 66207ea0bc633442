import { createHash } from 'node:crypto'

/** Printable ASCII, 1 to 255 characters (Stripe's and the IETF draft's limits). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/

function stable(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`
}

/** Fingerprint of a request: same route and same JSON payload (key order ignored). */
export function requestHash(method: string, route: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${route}\n${stable(body)}`)
    .digest('hex')
}

/**
 * Requests under way in this process, by `apiKeyId:key`. A second request with the same key
 * while the first is running gets 409 instead of racing it.
 */
export class InFlightKeys {
  readonly #keys = new Set<string>()

  tryBegin(scope: string, key: string): boolean {
    const k = `${scope}:${key}`
    if (this.#keys.has(k)) return false
    this.#keys.add(k)
    return true
  }

  end(scope: string, key: string): void {
    this.#keys.delete(`${scope}:${key}`)
  }
}

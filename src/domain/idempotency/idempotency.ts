import { createHash } from 'node:crypto'

/** Printable ASCII, 1 to 255 characters (Stripe's and the IETF draft's limits). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/

type Step = { text: string } | { value: unknown }

/**
 * JSON with object keys sorted. Iterative, not recursive: a route without a body schema
 * (cancel) hashes whatever JSON arrives, and 10,000 nested arrays must not overflow the stack.
 */
function stable(root: unknown): string {
  const out: string[] = []
  const todo: Step[] = [{ value: root }]
  for (let step = todo.pop(); step !== undefined; step = todo.pop()) {
    if ('text' in step) {
      out.push(step.text)
      continue
    }
    const value = step.value
    if (value === null || typeof value !== 'object') {
      out.push(JSON.stringify(value) ?? 'null')
      continue
    }
    const next: Step[] = []
    if (Array.isArray(value)) {
      next.push({ text: '[' })
      value.forEach((v: unknown, i) => {
        if (i > 0) next.push({ text: ',' })
        next.push({ value: v })
      })
      next.push({ text: ']' })
    } else {
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      next.push({ text: '{' })
      entries.forEach(([k, v], i) =>
        next.push({ text: `${i > 0 ? ',' : ''}${JSON.stringify(k)}:` }, { value: v }),
      )
      next.push({ text: '}' })
    }
    for (let i = next.length - 1; i >= 0; i--) todo.push(next[i] as Step)
  }
  return out.join('')
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

import { setImmediate } from 'node:timers/promises'
import { Agent, Dispatcher, request } from 'undici'

/** What one HTTP attempt came to, before the adapter reads the body. */
export type HttpAttempt =
  | {
      kind: 'answer'
      status: number
      headers: Readonly<Record<string, string | string[] | undefined>>
      /** The body as text; undefined when it could not be read to its end. */
      text: string | undefined
    }
  /** No answer in time; `sent`: the request had been written to the socket. */
  | { kind: 'timeout'; sent: boolean }
  /** The connection failed; `sent` as above. `code` is the network error code when safe. */
  | { kind: 'network'; sent: boolean; code?: string }

/** Retry-After (delta-seconds or HTTP date) in milliseconds, or undefined. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  if (/^\d{1,7}$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

const SAFE_CODE = /^[A-Z0-9_]{1,40}$/

/** Network error code (`ECONNREFUSED`, `UND_ERR_SOCKET`...) of an undici error. */
function networkCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    e = e.cause
  }
  return undefined
}

/**
 * Hands one request to the shared pool and notes when it has been written to the socket: a
 * failure after that point may have reached the provider, one before it cannot have.
 */
class WriteTracking extends Dispatcher {
  sent = false

  constructor(private readonly pool: Dispatcher) {
    super()
  }

  override dispatch(
    opts: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    const onSent = (): void => {
      this.sent = true
    }
    // undici calls `onRequestSent` on the handler it was given; the rest goes through.
    const tracked = new Proxy(handler, {
      get(target, prop, receiver) {
        if (prop === 'onRequestSent') {
          return () => {
            onSent()
            const inner = (target as { onRequestSent?: () => void }).onRequestSent
            inner?.call(target)
          }
        }
        const value: unknown = Reflect.get(target, prop, receiver)
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value
      },
    })
    return this.pool.dispatch(opts, tracked)
  }
}

export interface HttpClientOptions {
  /** Keep-alive connections per origin. Default 32. */
  connections?: number
}

/** A keep-alive HTTP client whose failures say whether the request had left. */
export class HttpClient {
  readonly #opts: HttpClientOptions
  #agent: Agent | undefined

  constructor(opts: HttpClientOptions) {
    this.#opts = opts
  }

  async post(
    url: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
  ): Promise<HttpAttempt> {
    this.#agent ??= new Agent({
      connections: this.#opts.connections ?? 32,
      keepAliveTimeout: 10_000,
    })
    const dispatcher = new WriteTracking(this.#agent)
    try {
      const res = await request(url, { method: 'POST', headers, body, dispatcher, signal })
      // Headers came; a body that does not finish (a slow drip cut by the time limit, a
      // reset) leaves the status to go by.
      const text = await res.body.text().catch(() => undefined)
      // undici puts the connection back in the pool a turn of the event loop after the body
      // ends: without this, the caller's next send would open another one.
      await setImmediate()
      return { kind: 'answer', status: res.statusCode, headers: res.headers, text }
    } catch (error) {
      if (signal.aborted) return { kind: 'timeout', sent: dispatcher.sent }
      const code = networkCode(error)
      return {
        kind: 'network',
        sent: dispatcher.sent,
        ...(code !== undefined && SAFE_CODE.test(code) ? { code } : {}),
      }
    }
  }

  async close(): Promise<void> {
    const agent = this.#agent
    this.#agent = undefined
    await agent?.close()
  }
}

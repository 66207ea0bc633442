/**
 * The dashboard's only way to the server: the public API under /v1 (and /auth for the
 * session), with the session cookie and, on every state change, the session's CSRF token.
 */

/** An error answer from the API: `{ error: { code, message } }` (docs/errors.md). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
  }
}

let csrfToken = ''
let onUnauthorized: () => void = () => undefined

/** Set by the session provider after sign-in; sent as X-CSRF-Token on every state change. */
export function setCsrfToken(token: string): void {
  csrfToken = token
}

/** Called when an API answer says the session is gone (expired, revoked, signed out). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler
}

export type Query = Record<string, string | number | boolean | undefined | null>

/** `path?query` with empty values left out. */
export function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  }
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  body?: unknown
  query?: Query
  headers?: Record<string, string>
  /** 401 is an expected answer (the sign-in form): do not end the session on it. */
  quiet401?: boolean
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? 'GET'
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers }
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken
  let res: Response
  try {
    res = await fetch(withQuery(path, opts.query), {
      method,
      headers,
      credentials: 'same-origin',
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    })
  } catch {
    throw new ApiError(
      0,
      'network_error',
      'Switchboard did not answer: check the server is running.',
    )
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let json: unknown = undefined
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    // not JSON: reported below
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string; details?: unknown } })?.error
    if (res.status === 401 && !opts.quiet401) onUnauthorized()
    throw new ApiError(
      res.status,
      err?.code ?? 'http_' + String(res.status),
      err?.message ?? `The server answered ${res.status}.`,
      err?.details,
    )
  }
  return json as T
}

/** A cursor page, as every list route answers it. */
export interface Page<T> {
  data: T[]
  nextCursor: string | null
}

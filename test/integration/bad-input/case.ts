/**
 * The shape of a bad-input case: a request described as data and the one answer it must get.
 * The checker (../bad-input.test.ts) builds the request, sends it and checks the answer.
 */
import type { ErrorCode } from '../../../src/domain/errors.js'

/** API keys the checker holds: three by scope, one revoked, one well formed but unknown. */
export type KeyName = 'admin' | 'write' | 'read' | 'revoked' | 'unknown'

export interface Case {
  name: string
  /** POST when there is a body (`json` or `raw`), GET otherwise. */
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS'
  url: string
  /** Sent as `Authorization: Bearer <key>`. */
  key?: KeyName
  /** Sent as the Authorization header instead; `{admin}`, `{write}`... stand for the keys. */
  authorization?: string
  headers?: Record<string, string | string[]>
  /** Serialised with JSON.stringify. */
  json?: unknown
  /** Sent byte for byte. */
  raw?: string | Buffer
  /** Defaults to application/json when there is a body; null sends none. */
  contentType?: string | null
  /** The second instance, with the HTTP simulator, for signed provider webhooks. */
  server?: 'webhooks'
  status: number
  code: ErrorCode
  /** For `validation_failed`: `details[0]` is in `in` (default body) at `path` or below it. */
  at?: { path: string; in?: string; message?: string; property?: string; allowed?: unknown[] }
  /** These entries of an object `details`. */
  details?: Record<string, unknown>
  /** Response headers that must have these values. */
  responseHeaders?: Record<string, string>
}

export const VALID_TO = '+14155550100'
export const UNKNOWN_MSG = 'msg_00000000000000000000000000'
export const UNKNOWN_KEY = 'key_00000000000000000000000000'
export const HOUR = 3_600_000
export const DAY = 24 * HOUR
export const MIB = 1024 * 1024

export const validMessage = (): Record<string, unknown> => ({
  to: VALID_TO,
  body: 'Hello from the bad-input test',
})

/** A send of `validMessage()` with `fields` over it. */
export const send = (fields: Record<string, unknown> = {}): Pick<Case, 'url' | 'key' | 'json'> => ({
  url: '/v1/messages',
  key: 'write',
  json: { ...validMessage(), ...fields },
})

/** A batch of `before` valid messages and then `item` (a valid message with `fields` over it). */
export const batchItem = (
  fields: Record<string, unknown>,
  before = 1,
): Pick<Case, 'url' | 'key' | 'json'> => ({
  url: '/v1/messages/batch',
  key: 'write',
  json: {
    messages: [...Array.from({ length: before }, validMessage), { ...validMessage(), ...fields }],
  },
})

/** Percent-encodes every byte that is not unreserved (the UTF-8 of lone surrogates is U+FFFD). */
export const pct = (s: string): string =>
  [...Buffer.from(s, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b)
      return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
    })
    .join('')

export const b64url = (s: string) => Buffer.from(s).toString('base64url')

/** A value for a case name: JSON with every character outside printable ASCII as \uXXXX. */
export const show = (v: unknown): string =>
  String(JSON.stringify(v)).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )

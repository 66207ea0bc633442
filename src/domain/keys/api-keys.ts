import { hash, randomBytes } from 'node:crypto'
import { newId } from '../ids.js'

export const SCOPES = ['messages:write', 'messages:read', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const KEY_PREFIX = 'sb_live_'

function base62(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += BASE62[b % 62]
  return out
}

function crc32(s: string): number {
  let c = 0xffffffff
  for (let i = 0; i < s.length; i++) {
    c ^= s.charCodeAt(i)
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1))
  }
  return (c ^ 0xffffffff) >>> 0
}

function checksum(body: string): string {
  let n = crc32(body)
  let out = ''
  for (let i = 0; i < 6; i++) {
    out = BASE62[n % 62]! + out
    n = Math.floor(n / 62)
  }
  return out
}

export const hashKey = (key: string): string => hash('sha256', key, 'hex')

/**
 * A new API key: `sb_live_` + 32 random base62 characters + a 6-character CRC32 checksum,
 * so secret scanners can recognise leaked keys and typos fail fast without a lookup.
 * Only the SHA-256 hash is stored; the key itself is shown once.
 */
export function generateApiKey(): { id: string; key: string; prefix: string; hash: string } {
  const body = base62(randomBytes(32))
  const key = `${KEY_PREFIX}${body}${checksum(body)}`
  return { id: newId('key'), key, prefix: key.slice(0, KEY_PREFIX.length + 4), hash: hashKey(key) }
}

/** Cheap structural check before any database lookup. */
export function looksLikeApiKey(key: string): boolean {
  if (!key.startsWith(KEY_PREFIX) || key.length !== KEY_PREFIX.length + 38) return false
  const body = key.slice(KEY_PREFIX.length, -6)
  return checksum(body) === key.slice(-6)
}

export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.includes('admin') || granted.includes(needed)
}

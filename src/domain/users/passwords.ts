import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import type { Scope } from '../keys/api-keys.js'

export const ROLES = ['admin', 'agent', 'viewer'] as const
export type Role = (typeof ROLES)[number]

/** What a session of each role may do: the same scopes API keys carry. */
const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  admin: ['admin'],
  agent: ['messages:read', 'messages:write'],
  viewer: ['messages:read'],
}

export function isRole(role: string): role is Role {
  return (ROLES as readonly string[]).includes(role)
}

/** The scopes of a role; an unknown role (a row from a later version) has none. */
export function scopesForRole(role: string): readonly Scope[] {
  return isRole(role) ? ROLE_SCOPES[role] : []
}

/** scrypt cost: N=2^15, r=8, p=1 (about 32 MiB and tens of milliseconds). */
const N = 32768
const R = 8
const P = 1
const KEY_LEN = 32
const MAXMEM = 64 * 1024 * 1024

function derive(password: string, salt: Buffer, opts: ScryptOptions, len: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, len, { ...opts, maxmem: MAXMEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  )
}

/** `scrypt$N$r$p$salt$hash`, salt and hash base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, { N, r: R, p: P }, KEY_LEN)
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/** Checks a password against a stored hash in constant time; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > 1 << 20) return false
  const salt = Buffer.from(parts[4]!, 'base64url')
  const expected = Buffer.from(parts[5]!, 'base64url')
  if (expected.length === 0) return false
  const key = await derive(password, salt, { N: n, r, p }, expected.length)
  return timingSafeEqual(key, expected)
}

/** A hash no password matches in practice: unknown e-mails cost the same scrypt as known ones. */
export const DUMMY_HASH = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(KEY_LEN, 1).toString('base64url')}`

/** A generated password: 20 characters base64url (120 bits). */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url')
}

/** A random token (session cookie or CSRF token), 256 bits base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

/** Session ids are the SHA-256 hash of the cookie token: a database read gives no cookie. */
export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Constant-time string comparison (lengths leak, contents do not). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}

import { AppError, errors } from '../domain/errors.js'
import { newId } from '../domain/ids.js'
import {
  DUMMY_HASH,
  generatePassword,
  hashPassword,
  newToken,
  normalizeEmail,
  sessionIdOf,
  verifyPassword,
  type Role,
} from '../domain/users/passwords.js'
import type { Store } from '../store/store.js'
import type { UserRow } from '../store/schema.js'

/** Creates a dashboard user; generates the password when none is given. Null: e-mail taken. */
export async function createUser(
  deps: { store: Store; now: () => number },
  email: string,
  role: Role,
  password?: string,
): Promise<{ row: UserRow; password: string } | null> {
  const pw = password && password.length > 0 ? password : generatePassword()
  const row: UserRow = {
    id: newId('usr'),
    email: normalizeEmail(email),
    role,
    password_hash: await hashPassword(pw),
    created_at: deps.now(),
    disabled_at: null,
  }
  return (await deps.store.users.insert(row)) ? { row, password: pw } : null
}

/** Failures counted per e-mail and per client IP in a fixed window (in memory, per process). */
export class LoginLimiter {
  readonly #windows = new Map<string, { start: number; failures: number }>()

  constructor(
    private readonly max = 10,
    private readonly windowMs = 15 * 60_000,
    private readonly maxEntries = 100_000,
  ) {}

  /** Seconds to wait when any of `keys` is over the limit, else undefined. */
  blocked(keys: readonly string[], now: number): number | undefined {
    let wait: number | undefined
    for (const key of keys) {
      const w = this.#windows.get(key)
      if (!w) continue
      if (now - w.start >= this.windowMs) {
        this.#windows.delete(key)
        continue
      }
      if (w.failures >= this.max) {
        const s = (w.start + this.windowMs - now) / 1000
        wait = Math.max(wait ?? 0, s)
      }
    }
    return wait
  }

  fail(keys: readonly string[], now: number): void {
    if (this.#windows.size >= this.maxEntries) {
      for (const [k, w] of this.#windows)
        if (now - w.start >= this.windowMs) this.#windows.delete(k)
      if (this.#windows.size >= this.maxEntries) this.#windows.clear()
    }
    for (const key of keys) {
      const w = this.#windows.get(key)
      if (!w || now - w.start >= this.windowMs) this.#windows.set(key, { start: now, failures: 1 })
      else w.failures++
    }
  }

  clear(key: string): void {
    this.#windows.delete(key)
  }
}

export interface NewSession {
  /** The cookie value (shown once; the database keeps its hash). */
  token: string
  csrfToken: string
  user: UserRow
  expiresAt: number
}

/**
 * Signs a user in: the same answer (and the same scrypt cost) for an unknown e-mail, a disabled
 * user and a wrong password; rate limited per e-mail and per client IP.
 */
export async function login(
  deps: { store: Store; now: () => number; limiter: LoginLimiter; ttlMs: number },
  input: { email: string; password: string; ip: string },
): Promise<NewSession> {
  const email = normalizeEmail(input.email)
  const keys = [`email:${email}`, `ip:${input.ip}`]
  const wait = deps.limiter.blocked(keys, deps.now())
  if (wait !== undefined) throw new AppError(errors.too_many_login_attempts).retryAfter(wait)
  const user = await deps.store.users.byEmail(email)
  const usable = user !== undefined && user.disabled_at === null
  const matches = await verifyPassword(input.password, usable ? user.password_hash : DUMMY_HASH)
  if (!usable || !matches) {
    deps.limiter.fail(keys, deps.now())
    throw new AppError(errors.invalid_credentials)
  }
  deps.limiter.clear(keys[0]!)
  const now = deps.now()
  const token = newToken()
  const csrfToken = newToken()
  const expiresAt = now + deps.ttlMs
  await deps.store.users.insertSession({
    id: sessionIdOf(token),
    user_id: user.id,
    csrf_token: csrfToken,
    created_at: now,
    expires_at: expiresAt,
    revoked_at: null,
    last_seen_at: now,
  })
  return { token, csrfToken, user, expiresAt }
}

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
import type { AuditEntry } from '../store/audit.repo.js'
import type { Store } from '../store/store.js'
import type { UserRow } from '../store/schema.js'

/**
 * Creates a dashboard user and audits it (`user.created`, in the same transaction); generates
 * the password when none is given. Null: e-mail taken. `actor`: the user or API key id that
 * acted, `cli`, or `system` (the default: first start).
 */
export async function createUser(
  deps: { store: Store; now: () => number; actor?: string },
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
  const { store } = deps
  const inserted = await store.tx(function* () {
    if (!(yield* store.users.insertTx(row))) return false
    yield* store.audit.record([
      {
        action: 'user.created',
        actor: deps.actor ?? 'system',
        target: row.id,
        details: { role },
        at: row.created_at,
      },
    ])
    return true
  }, true)
  return inserted ? { row, password: pw } : null
}

export interface UserChange {
  role?: Role | undefined
  /** true disables the user and revokes its sessions; false enables it again. */
  disabled?: boolean | undefined
}

/**
 * Changes a user's role or disabled state, in one transaction with its audit entries. Refuses
 * (`last_admin`) to demote or disable the last active admin; disabling revokes every live
 * session of the user at once. Throws `not_found` for an unknown id.
 */
export async function updateUser(
  deps: { store: Store; now: () => number; actor: string },
  id: string,
  change: UserChange,
): Promise<{ row: UserRow; sessionsRevoked: number }> {
  const { store } = deps
  const now = deps.now()
  const mayRemoveAdmin = (change.role !== undefined && change.role !== 'admin') || change.disabled
  return store.tx(function* () {
    // Lock the active admins before reading, so the check below sees every committed change.
    const others = mayRemoveAdmin ? yield* store.users.otherActiveAdminsTx(id) : 1
    const user = yield* store.users.byIdTx(id)
    if (!user) throw new AppError(errors.not_found, { id })
    const activeAdmin = user.role === 'admin' && user.disabled_at === null
    const stillActiveAdmin =
      (change.role ?? user.role) === 'admin' &&
      (change.disabled === undefined ? user.disabled_at === null : !change.disabled)
    if (activeAdmin && !stillActiveAdmin && others === 0) {
      throw new AppError(errors.last_admin, { id })
    }
    const audit: AuditEntry[] = []
    let sessionsRevoked = 0
    const next = { ...user }
    if (change.role !== undefined && change.role !== user.role) {
      yield* store.users.setRoleTx(id, change.role)
      next.role = change.role
      audit.push({
        action: 'user.role_changed',
        actor: deps.actor,
        target: id,
        details: { from: user.role, to: change.role },
        at: now,
      })
    }
    if (change.disabled === true && user.disabled_at === null) {
      yield* store.users.setDisabledTx(id, now)
      sessionsRevoked = yield* store.users.revokeUserSessionsTx(id, now)
      next.disabled_at = now
      audit.push({
        action: 'user.disabled',
        actor: deps.actor,
        target: id,
        details: { sessionsRevoked },
        at: now,
      })
    } else if (change.disabled === false && user.disabled_at !== null) {
      yield* store.users.setDisabledTx(id, null)
      next.disabled_at = null
      audit.push({ action: 'user.enabled', actor: deps.actor, target: id, details: null, at: now })
    }
    yield* store.audit.record(audit)
    return { row: next, sessionsRevoked }
  }, true)
}

/** Signs a user out everywhere (audited as `user.sessions_revoked`); returns how many. */
export async function revokeSessions(
  deps: { store: Store; now: () => number; actor: string },
  id: string,
): Promise<number> {
  const { store } = deps
  const now = deps.now()
  return store.tx(function* () {
    const user = yield* store.users.byIdTx(id)
    if (!user) throw new AppError(errors.not_found, { id })
    const revoked = yield* store.users.revokeUserSessionsTx(id, now)
    yield* store.audit.record([
      {
        action: 'user.sessions_revoked',
        actor: deps.actor,
        target: id,
        details: { sessionsRevoked: revoked },
        at: now,
      },
    ])
    return revoked
  }, true)
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

import type { FastifyRequest } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { hashKey, hasScope, looksLikeApiKey, type Scope } from '../domain/keys/api-keys.js'
import { safeEqual, scopesForRole, sessionIdOf } from '../domain/users/passwords.js'
import type { SessionRow, UserRow } from '../store/schema.js'
import type { Store } from '../store/store.js'

/** The dashboard's session cookie (docs/dashboard-auth.md). */
export const SESSION_COOKIE = 'sb_session'

/** Methods that change nothing: a cookie request with another method needs X-CSRF-Token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The value of one cookie in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

interface CachedKey {
  id: string
  scopes: string[]
  revoked: boolean
  fetchedAt: number
}

/** Keys are re-read after this long, so a revocation in another process applies quickly. */
const CACHE_MS = 5_000
const TOUCH_MS = 60_000
/** Bounds the cache: unknown keys are never cached, so only real keys can fill it. */
const MAX_CACHED = 10_000

/**
 * Bearer API key authentication with scopes, or the dashboard's session cookie (when there is
 * no Authorization header): a session acts with its role's scopes, and its state changes need
 * the session's X-CSRF-Token. Keys are looked up by SHA-256 hash. Key answers are
 * cached per Authorization header for CACHE_MS, so a request with a known key costs one map
 * lookup (no parsing, checksum or hash) and a revocation elsewhere applies within CACHE_MS.
 */
export class Authenticator {
  readonly #cache = new Map<string, CachedKey>()
  readonly #touched = new Map<string, number>()

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  /** Returns the key id, or throws 401/403 from the registry. */
  async authenticate(req: FastifyRequest, scope: Scope): Promise<string> {
    const header = req.headers.authorization
    if (!header) return this.#authenticateSession(req, scope)
    const now = this.now()
    let cached = this.#cache.get(header)
    if (!cached || now - cached.fetchedAt > CACHE_MS) {
      const key = /^Bearer\s+(\S+)$/i.exec(header)?.[1]
      if (!key || !looksLikeApiKey(key)) throw new AppError(errors.unauthorized)
      const row = await this.store.findKeyByHash(hashKey(key))
      if (!row) throw new AppError(errors.unauthorized)
      cached = {
        id: row.id,
        scopes: JSON.parse(row.scopes) as string[],
        revoked: row.revoked_at !== null,
        fetchedAt: now,
      }
      if (this.#cache.size >= MAX_CACHED) this.#cache.clear()
      this.#cache.set(header, cached)
    }
    if (cached.revoked) throw new AppError(errors.unauthorized)
    if (!hasScope(cached.scopes, scope)) {
      throw new AppError(errors.insufficient_scope, { required: scope })
    }
    if (now - (this.#touched.get(cached.id) ?? 0) > TOUCH_MS) {
      this.#touched.set(cached.id, now)
      await this.store.touchKey(cached.id, now)
    }
    return cached.id
  }

  /** The live session named by the request's cookie, or undefined. */
  async session(req: FastifyRequest): Promise<{ session: SessionRow; user: UserRow } | undefined> {
    const token = readCookie(req.headers.cookie, SESSION_COOKIE)
    if (!token || token.length > 200) return undefined
    const found = await this.store.users.session(sessionIdOf(token))
    if (!found) return undefined
    const now = this.now()
    const { session, user } = found
    if (session.revoked_at !== null || session.expires_at <= now || user.disabled_at !== null) {
      return undefined
    }
    if (now - session.last_seen_at > TOUCH_MS) await this.store.users.touchSession(session.id, now)
    return found
  }

  /** Checks a state-changing cookie request's X-CSRF-Token (constant time). */
  checkCsrf(req: FastifyRequest, session: SessionRow): void {
    if (SAFE_METHODS.has(req.method)) return
    const sent = req.headers['x-csrf-token']
    if (typeof sent !== 'string' || !safeEqual(sent, session.csrf_token)) {
      throw new AppError(errors.csrf_token_invalid)
    }
  }

  async #authenticateSession(req: FastifyRequest, scope: Scope): Promise<string> {
    const found = await this.session(req)
    if (!found) throw new AppError(errors.unauthorized)
    this.checkCsrf(req, found.session)
    if (!hasScope(scopesForRole(found.user.role), scope)) {
      throw new AppError(errors.insufficient_scope, { required: scope })
    }
    // Requests made in a session act as its user (idempotency keys, the audit log's actor).
    return found.user.id
  }

  /** Drops cached state for a key (after a revoke in this process). */
  forget(): void {
    this.#cache.clear()
  }
}

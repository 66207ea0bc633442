import type { FastifyRequest } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { hashKey, hasScope, looksLikeApiKey, type Scope } from '../domain/keys/api-keys.js'
import type { Store } from '../store/store.js'

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
 * Bearer API key authentication with scopes; keys are looked up by SHA-256 hash. Answers are
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
    if (!header) throw new AppError(errors.unauthorized)
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

  /** Drops cached state for a key (after a revoke in this process). */
  forget(): void {
    this.#cache.clear()
  }
}

import { generateApiKey } from '../domain/keys/api-keys.js'
import { iso } from '../domain/messages/present.js'
import type { ApiKeyRow } from '../store/schema.js'
import { run } from '../store/executor.js'
import type { Store } from '../store/store.js'

/** An API key as the API and the CLI show it: never its secret or hash. */
export const presentKey = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: JSON.parse(k.scopes) as string[],
  createdAt: new Date(k.created_at).toISOString(),
  lastUsedAt: iso(k.last_used_at),
  revokedAt: iso(k.revoked_at),
})

/**
 * Creates a key and stores only its hash; the key itself is returned this once. Used by the
 * API, the CLI and first start. `actor` (who created it: an API key id, `cli`, or `system`)
 * goes in the audit log, in the same transaction.
 */
export async function createApiKey(
  deps: { store: Store; now: () => number; actor?: string },
  name: string,
  scopes: readonly string[],
): Promise<{ key: string; row: ApiKeyRow }> {
  const k = generateApiKey()
  const row: ApiKeyRow = {
    id: k.id,
    name,
    prefix: k.prefix,
    key_hash: k.hash,
    scopes: JSON.stringify(scopes),
    created_at: deps.now(),
    last_used_at: null,
    revoked_at: null,
  }
  const { store } = deps
  await store.tx(function* () {
    yield run(
      'INSERT INTO api_keys (id, name, prefix, key_hash, scopes, created_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)',
      [row.id, row.name, row.prefix, row.key_hash, row.scopes, row.created_at],
    )
    yield* store.audit.record([
      {
        action: 'api_key.created',
        actor: deps.actor ?? 'system',
        target: row.id,
        details: { name, scopes },
        at: row.created_at,
      },
    ])
  }, true)
  return { key: k.key, row }
}

/**
 * Revokes a key and audits it (revoking twice is harmless and recorded once). Returns whether
 * it was active until now.
 */
export async function revokeApiKey(
  deps: { store: Store; now: () => number; actor: string },
  id: string,
): Promise<boolean> {
  const { store } = deps
  const now = deps.now()
  return store.tx(function* () {
    const changed = (yield run(
      'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
      [now, id],
    )) as number
    if (changed === 0) return false
    yield* store.audit.record([
      { action: 'api_key.revoked', actor: deps.actor, target: id, details: null, at: now },
    ])
    return true
  }, true)
}

import { generateApiKey } from '../domain/keys/api-keys.js'
import { iso } from '../domain/messages/present.js'
import type { ApiKeyRow } from '../store/schema.js'
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
 * API, the CLI and first start.
 */
export async function createApiKey(
  deps: { store: Store; now: () => number },
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
  await deps.store.insertKey(row)
  return { key: k.key, row }
}

import type { Config } from '../config.js'
import { createFanout } from '../domain/webhooks/fanout.js'
import { SCOPES } from '../domain/keys/api-keys.js'
import { createApiKey, presentKey, revokeApiKey } from '../usecases/api-keys.js'
import { openDb } from '../store/db.js'
import { Store } from '../store/store.js'
import { CliUsageError, parse } from './args.js'

/** `switchboard keys create|list|revoke`: works on the database directly (bootstrap-safe). */
export async function runKeys(config: Config, args: string[]): Promise<number> {
  const [sub, ...rest] = args
  const db = openDb(config.database)
  await db.migrate()
  const store = new Store(db, createFanout({ endpoints: [] }))
  const now = Date.now
  try {
    switch (sub) {
      case 'create': {
        const { values } = parse(rest, {
          name: { type: 'string' },
          scopes: { type: 'string', default: 'messages:write,messages:read' },
        })
        const name = values.name as string | undefined
        if (!name) throw new CliUsageError('keys create needs --name')
        const scopes = (values.scopes as string).split(',').map((s) => s.trim())
        const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s))
        if (bad.length > 0) {
          throw new CliUsageError(`unknown scope(s): ${bad.join(', ')}; use ${SCOPES.join(', ')}`)
        }
        const { key, row } = await createApiKey({ store, now, actor: 'cli' }, name, scopes)
        console.log(
          `Created ${row.id} (${scopes.join(', ')}). The key is shown only once:\n\n  ${key}\n`,
        )
        return 0
      }
      case 'list': {
        const keys = (await store.listKeys()).map(presentKey)
        if (keys.length === 0) console.log('No API keys.')
        for (const k of keys) {
          const state = k.revokedAt ? `revoked ${k.revokedAt}` : 'active'
          console.log(`${k.id}  ${k.prefix}…  ${k.name}  [${k.scopes.join(', ')}]  ${state}`)
        }
        return 0
      }
      case 'revoke': {
        const id = rest[0]
        if (!id) throw new CliUsageError('keys revoke needs a key id')
        const ok = await revokeApiKey({ store, now, actor: 'cli' }, id)
        console.log(ok ? `Revoked ${id}.` : `No active key ${id}.`)
        return ok ? 0 : 1
      }
      default:
        throw new CliUsageError('keys needs a subcommand: create, list or revoke')
    }
  } finally {
    await store.close()
  }
}

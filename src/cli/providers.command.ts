import type { Config } from '../config.js'
import { createFanout } from '../domain/webhooks/fanout.js'
import { providerCallbacks } from '../providers/callback-urls.js'
import { openDb } from '../store/db.js'
import { Store } from '../store/store.js'
import { CliUsageError } from './args.js'

/**
 * `switchboard providers urls`: each configured instance's callback URLs, as Switchboard
 * registers them, to paste into the provider's console. An instance that authenticates its
 * callbacks by token shows it in the URL: a secret, so it is printed here, to the operator's
 * terminal, and never by the API or in a log. Works on the database directly, like `keys`.
 */
export async function runProviders(config: Config, args: string[]): Promise<number> {
  const [sub] = args
  if (sub !== 'urls') throw new CliUsageError('providers needs a subcommand: urls')
  const db = openDb(config.database)
  await db.migrate()
  const store = new Store(db, createFanout({ endpoints: [] }))
  try {
    for (const p of config.providers) {
      const { callbackUrls, auth } = await providerCallbacks(config.publicUrl, p, store)
      if (auth === 'no-callbacks') {
        console.log(`${p.name} (${p.type}, no callbacks)`)
        continue
      }
      console.log(`${p.name} (${p.type}, callbacks by ${auth})`)
      console.log(`  status:  ${callbackUrls.status}`)
      console.log(`  inbound: ${callbackUrls.inbound}`)
    }
    return 0
  } finally {
    await store.close()
  }
}

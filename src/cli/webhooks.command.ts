import type { Config } from '../config.js'
import { maskUserInfo } from '../domain/webhooks/callback-url.js'
import { createFanout } from '../domain/webhooks/fanout.js'
import { openDb } from '../store/db.js'
import { Store } from '../store/store.js'
import { WebhookSecrets } from '../usecases/webhook-secrets.js'
import { CliUsageError, parse } from './args.js'

/**
 * `switchboard webhooks secret|rotate|endpoints`: works on the database directly, like
 * `keys`, so it needs no running server and no API key.
 */
export async function runWebhooks(config: Config, args: string[]): Promise<number> {
  const [sub, ...rest] = args
  const db = openDb(config.database)
  await db.migrate()
  const store = new Store(db, createFanout({ endpoints: [] }))
  const secrets = new WebhookSecrets(store, config.webhooks.secret, Date.now)
  try {
    switch (sub) {
      case 'secret': {
        const s = await secrets.state()
        console.log(s.secret)
        if (s.previous) {
          console.error(
            `The previous secret also signs until ${new Date(s.previous.expiresAt).toISOString()}.`,
          )
        }
        return 0
      }
      case 'rotate': {
        const { values } = parse(rest, { overlap: { type: 'string' } })
        const raw = values.overlap as string | undefined
        const overlap = raw === undefined ? config.webhooks.rotationOverlapSeconds : Number(raw)
        if (!Number.isInteger(overlap) || overlap < 0 || overlap > 2_592_000) {
          throw new CliUsageError('--overlap must be whole seconds between 0 and 2592000')
        }
        const r = await secrets.rotate(overlap)
        if (r.outcome === 'configured') {
          console.error('WEBHOOK_SECRET is set in the configuration: change it there instead.')
          return 1
        }
        console.log(r.state.secret)
        if (r.state.previous) {
          console.error(
            `The previous secret also signs until ${new Date(r.state.previous.expiresAt).toISOString()}.`,
          )
        }
        return 0
      }
      case 'endpoints': {
        const all = await store.listAllEndpoints()
        if (all.length === 0) console.log('No webhook endpoints are configured.')
        for (const e of all) {
          console.log(`${e.id}  ${e.enabled ? 'active ' : 'removed'}  ${maskUserInfo(e.url)}`)
        }
        return 0
      }
      default:
        throw new CliUsageError('webhooks needs a subcommand: secret, rotate or endpoints')
    }
  } finally {
    await store.close()
  }
}

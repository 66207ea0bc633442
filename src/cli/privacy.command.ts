import type { Config } from '../config.js'
import { createFanout } from '../domain/webhooks/fanout.js'
import { openDb } from '../store/db.js'
import { Store } from '../store/store.js'
import { eraseNumber, exportNumber, subjectPhone } from '../usecases/privacy.js'
import { CliUsageError } from './args.js'

/**
 * `switchboard privacy export|erase <phone>`: works on the database directly, as the API does
 * (docs/compliance.md), and is audited with the actor `cli`.
 */
export async function runPrivacy(config: Config, args: string[]): Promise<number> {
  const [sub, input, ...extra] = args
  if (sub !== 'export' && sub !== 'erase') {
    throw new CliUsageError('privacy needs a subcommand: export or erase')
  }
  if (!input || extra.length > 0) throw new CliUsageError(`privacy ${sub} needs one phone number`)
  const phone = subjectPhone(input, config.messages.defaultCountry)
  if (!phone.ok) {
    console.error(`invalid_phone_number: ${phone.reason}`)
    return 1
  }
  const db = openDb(config.database)
  await db.migrate()
  const store = new Store(db, createFanout({ endpoints: [] }))
  const deps = { store, now: Date.now }
  try {
    if (sub === 'export') {
      console.log(JSON.stringify(await exportNumber(deps, phone.e164, 'cli'), null, 2))
    } else {
      const r = await eraseNumber(deps, phone.e164, 'cli')
      console.log(JSON.stringify(r, null, 2))
    }
    return 0
  } finally {
    await store.close()
  }
}

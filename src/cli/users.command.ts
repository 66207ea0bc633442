import type { Config } from '../config.js'
import { createFanout } from '../domain/webhooks/fanout.js'
import { isRole, ROLES } from '../domain/users/passwords.js'
import { openDb } from '../store/db.js'
import { Store } from '../store/store.js'
import { createUser } from '../usecases/users.js'
import { CliUsageError, parse } from './args.js'

/** The password piped on standard input (first line), or '' on a terminal or empty input. */
export async function readPassword(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (stdin.isTTY) return ''
  const chunks: Buffer[] = []
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer))
  return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '').trim()
}

/** `switchboard users create`: works on the database directly (bootstrap-safe). */
export async function runUsers(
  config: Config,
  args: string[],
  input: () => Promise<string> = () => readPassword(),
): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'create') throw new CliUsageError('users needs a subcommand: create')
  const { values } = parse(rest, { email: { type: 'string' }, role: { type: 'string' } })
  const email = (values.email as string | undefined)?.trim()
  const role = values.role as string | undefined
  if (!email) throw new CliUsageError('users create needs --email')
  if (!role || !isRole(role)) throw new CliUsageError(`--role must be ${ROLES.join(', ')}`)
  const password = await input()
  const db = openDb(config.database)
  await db.migrate()
  const store = new Store(db, createFanout({ endpoints: [] }))
  try {
    const created = await createUser({ store, now: Date.now }, email, role, password)
    if (!created) {
      console.error(`A user ${email.toLowerCase()} already exists.`)
      return 1
    }
    console.log(`Created ${created.row.id} ${created.row.email} (${role}).`)
    if (!password) console.log(`Generated password (shown only once): ${created.password}`)
    return 0
  } finally {
    await store.close()
  }
}

import { loadConfig, type Config } from '../config.js'
import { startSwitchboard, type Role } from '../main.js'
import { openDb } from '../store/db.js'
import { CliUsageError, parse } from './args.js'
import { createStopSignalHandler } from './stop-signal.handler.js'

export async function runMigrate(config: Config): Promise<number> {
  const db = openDb(config.database)
  try {
    const applied = await db.migrate()
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Schema is up to date.')
    return 0
  } finally {
    await db.close()
  }
}

export async function runStart(args: string[]): Promise<number> {
  const { values } = parse(args, { role: { type: 'string', default: 'all' } })
  const role = values.role as string
  if (!['api', 'worker', 'all'].includes(role)) {
    throw new CliUsageError(`--role must be api, worker or all (got "${role}")`)
  }
  const config = loadConfig()
  const sb = await startSwitchboard(config, { role: role as Role })
  if (sb.firstStart) {
    process.stdout.write(
      [
        '',
        '  No API keys existed, so an admin key was created. It is shown only this once:',
        '',
        `    ${sb.firstStart.adminKey}`,
        '',
        '  Keep it secret. Create narrower keys with: npx switchboard keys create --name app --scopes messages:write,messages:read',
        '',
        '  statusCallback webhooks are signed with this secret (also: npx switchboard webhooks secret):',
        '',
        `    ${sb.firstStart.webhookSecret}`,
        '',
        '',
      ].join('\n'),
    )
  }
  if (sb.firstUser) {
    process.stdout.write(
      [
        '  No dashboard users existed, so one was created. Its password is shown only this once:',
        '',
        `Dashboard user: ${sb.firstUser.email}`,
        `Dashboard password: ${sb.firstUser.password}`,
        '',
        '',
      ].join('\n'),
    )
  }
  const onSignal = createStopSignalHandler({
    stop: () => sb.stop(),
    logger: sb.logger,
    exit: (code) => process.exit(code),
  })
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  return 0
}

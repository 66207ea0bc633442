import { ConfigError, loadConfig } from '../config.js'
import { CliUsageError } from './args.js'
import { runKeys } from './keys.command.js'
import { runMessages, runSend } from './api.command.js'
import { runPrivacy } from './privacy.command.js'
import { runProviders } from './providers.command.js'
import { runMigrate, runStart } from './server.command.js'
import { runSimulator } from './simulator.command.js'
import { runUsers } from './users.command.js'
import { runWebhooks } from './webhooks.command.js'

const USAGE = `switchboard <command> [options]

Commands:
  start [--role api|worker|all]           run the server (default role: all)
  migrate                                 create or upgrade the database schema
  keys create --name N [--scopes a,b]     create an API key (printed once)
  keys list                               list API keys
  keys revoke <id>                        revoke an API key
  users create --email E --role R         create a dashboard user (admin, agent or viewer);
                                          the password is read from standard input, or
                                          generated and printed when none is given
  webhooks secret                         print the secret that signs statusCallback webhooks
  webhooks rotate [--overlap SECONDS]     new secret; the old one also signs during the overlap
  webhooks endpoints                      configured webhook endpoints, active and removed
  providers urls                          each provider's callback URLs to set in its console
  send <to> <body> [--from F] [--type T]  send a message through the API
  messages list [--status S] [--to N] [--limit N]
  messages show <id>                      a message with its status timeline
  privacy export <phone>                  everything held about a number, as JSON (audited)
  privacy erase <phone>                   erase a number everywhere; its opt-outs stay (audited)
  simulator [--port P] [--callback URL]   run the SMS simulator as its own HTTP server

Configuration comes from environment variables (see docs/configuration.md) and an optional
JSON file named by SWITCHBOARD_CONFIG. The API commands use SWITCHBOARD_URL (default
http://127.0.0.1:3000) and SWITCHBOARD_API_KEY.`

/** CLI entry point; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'start':
        return await runStart(rest)
      case 'migrate':
        return await runMigrate(loadConfig())
      case 'keys':
        return await runKeys(loadConfig(), rest)
      case 'users':
        return await runUsers(loadConfig(), rest)
      case 'webhooks':
        return await runWebhooks(loadConfig(), rest)
      case 'providers':
        return await runProviders(loadConfig(), rest)
      case 'send':
        return await runSend(rest)
      case 'messages':
        return await runMessages(rest)
      case 'simulator':
        return await runSimulator(rest)
      case 'privacy':
        return await runPrivacy(loadConfig(), rest)
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE)
        return command === undefined ? 1 : 0
      default:
        console.error(`Unknown command "${command}".\n\n${USAGE}`)
        return 2
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      return 78
    }
    if (err instanceof CliUsageError) {
      console.error(`${err.message}\n\n${USAGE}`)
      return 2
    }
    console.error(err instanceof Error ? err.message : String(err))
    return 1
  }
}

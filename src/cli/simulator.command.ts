import { loadSimulatorConfig } from '../config.js'
import { startSimulatorServer } from '../providers/simulator/simulator.server.js'
import { parse } from './args.js'

/** `switchboard simulator`: the simulator as a separate HTTP server (SIMULATOR_* settings). */
export async function runSimulator(args: string[]): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string', default: '4010' },
    host: { type: 'string', default: '127.0.0.1' },
    callback: { type: 'string' },
    secret: { type: 'string', default: 'simulator-dev-secret' },
  })
  const server = await startSimulatorServer({
    ...loadSimulatorConfig(),
    host: values.host as string,
    port: Number(values.port),
    webhookSecret: values.secret as string,
    ...(values.callback ? { callbackUrl: values.callback as string } : {}),
  })
  console.log(`simulator listening on ${server.url}`)
  const stop = () => {
    void server.close().then(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  return 0
}

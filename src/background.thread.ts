/**
 * The background thread of the embedded server (`start --role all`): it commits intake
 * forwarded by the HTTP thread and runs the workers (sending, delivery reports, outbound
 * webhooks) on its own database connection, so HTTP never waits behind dispatch work.
 * Protocol: src/background.client.ts.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { startBackground } from './background.js'
import type { FromThread, ThreadData, ToThread } from './background.client.js'
import { createFanout, type WebhookTargets } from './domain/webhooks/fanout.js'
import { createLogger } from './logger.js'
import { createProvider } from './providers/registry.js'
import { ReportIngestor } from './queue/report.ingestor.js'
import { openDb } from './store/db.js'
import { Store } from './store/store.js'
import { WriteLock } from './store/write-lock.js'

const port = parentPort
if (!port) throw new Error('background.thread runs as a worker thread')
const data = workerData as ThreadData
const post = (m: FromThread) => port.postMessage(m)

const logger = createLogger(data.config.logLevel).child({ thread: 'background' })
const now = Date.now
const targets: WebhookTargets = { endpoints: [] }
const store = new Store(
  openDb(data.config.database, new WriteLock(data.lock)),
  createFanout(targets),
)

try {
  const endpoints = await store.listEndpoints()
  targets.endpoints = endpoints
  const providers = new Map(data.config.providers.map((p) => [p.name, createProvider(p)]))
  const background = await startBackground({
    config: data.config,
    store,
    providers,
    reports: new ReportIngestor(store, logger, now),
    logger,
    webhookSecret: data.webhookSecret,
    endpoints,
    now,
  })

  let stopping: Promise<void> | undefined
  port.on('message', (m: ToThread) => {
    if (m.t === 'submit') {
      store
        .tx(() => store.messages.insertSubmissions(m.subs), true)
        .then(
          (results) => {
            post({ t: 'submitted', id: m.id, results })
            background.sendWorker.wake()
          },
          (err: unknown) => {
            logger.error({ err }, 'storing submitted messages failed')
            post({
              t: 'failed',
              id: m.id,
              message: err instanceof Error ? err.message : String(err),
            })
          },
        )
    } else {
      stopping ??= (async () => {
        await background.stop()
        await store.close()
        post({ t: 'stopped' })
        port.close()
      })()
    }
  })
  post({ t: 'ready' })
} catch (err) {
  await store.close().catch(() => undefined)
  throw err
}

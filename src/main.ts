import type { Logger } from 'pino'
import type { Config } from './config.js'
import { startBackground, type Background } from './background.js'
import { BackgroundThread } from './background.client.js'
import { newId } from './domain/ids.js'
import { createFanout, type WebhookTargets } from './domain/webhooks/fanout.js'
import { generateWebhookSecret } from './domain/webhooks/signing.js'
import { buildApp } from './http/app.js'
import { checkWebhookEndpoints } from './net/webhook-endpoints.check.js'
import { createKey } from './http/keys.routes.js'
import { createLogger } from './logger.js'
import type { SmsProvider } from './providers/provider.js'
import { createProvider } from './providers/registry.js'
import { Batcher } from './queue/loop.js'
import { ReportIngestor, type ReportSink } from './queue/report.ingestor.js'
import type { SendWorker } from './queue/send.worker.js'
import { openDb } from './store/db.js'
import { WriteLock } from './store/write-lock.js'
import type { Submission, SubmissionResult } from './store/rows.js'
import { Store } from './store/store.js'

export type Role = 'api' | 'worker' | 'all'

export interface Switchboard {
  readonly store: Store
  readonly logger: Logger
  readonly providers: ReadonlyMap<string, SmsProvider>
  /** Base URL when the API role listens. */
  readonly url: string | undefined
  /** The admin key created on first start (shown once), if one was created. */
  readonly firstAdminKey: string | undefined
  readonly app: Awaited<ReturnType<typeof buildApp>> | undefined
  readonly sendWorker: SendWorker | undefined
  /** Graceful stop: stop intake, finish or release in-flight work, close the database. */
  stop(): Promise<void>
}

export interface StartOptions {
  role?: Role
  logger?: Logger
  /** Listen on the configured port (default) or only build the app (tests use inject). */
  listen?: boolean
  now?: () => number
  /** Called when the background thread dies; the default exits the process (code 70). */
  onFatal?: (err: Error) => void
}

/** The only wiring point: builds the store, providers, workers and HTTP app from config. */
export async function startSwitchboard(
  config: Config,
  opts: StartOptions = {},
): Promise<Switchboard> {
  const role = opts.role ?? 'all'
  const now = opts.now ?? Date.now
  const logger = opts.logger ?? createLogger(config.logLevel)
  await checkWebhookEndpoints(config, { warn: (message) => logger.warn(message) })
  const writeLock = new WriteLock()
  const db = openDb(config.database, writeLock)
  await db.migrate()

  const targets: { endpoints: WebhookTargets['endpoints'] } = { endpoints: [] }
  const store = new Store(db, createFanout(targets))
  const webhookSecret =
    config.webhooks.secret ?? (await store.initSetting('webhook_secret', generateWebhookSecret()))
  for (const e of config.webhooks.endpoints) {
    await store.upsertEndpoint({
      id: newId('wep'),
      url: e.url,
      secret: e.secret,
      created_at: now(),
    })
  }
  const endpoints = await store.listEndpoints()
  targets.endpoints = endpoints

  let firstAdminKey: string | undefined
  if ((await store.countActiveKeys()) === 0) {
    firstAdminKey = (await createKey({ store, now }, 'admin (first start)', ['admin'])).key
  }

  const providers = new Map(config.providers.map((p) => [p.name, createProvider(p)]))

  // The embedded default runs intake commits, provider reports and the workers in a
  // background thread with its own connection, so HTTP never waits behind dispatch
  // (docs/ARCHITECTURE.md). Otherwise this thread applies reports itself.
  let thread: BackgroundThread | undefined
  let background: Background | undefined
  let reports: ReportSink
  if (role === 'all' && config.worker.thread) {
    if (opts.now) throw new Error('a custom clock needs WORKER_THREAD=false')
    thread = await BackgroundThread.start(
      { config, lock: writeLock.buffer, webhookSecret },
      logger,
      opts.onFatal ?? (() => process.exit(70)),
    )
    reports = thread
  } else {
    const ingestor = new ReportIngestor(store, logger, now)
    reports = ingestor
    if (role !== 'api') {
      background = await startBackground({
        config,
        store,
        providers,
        reports: ingestor,
        logger,
        webhookSecret,
        endpoints,
        now,
      })
    }
  }

  // Submissions of one turn are committed together. The background thread commits batches
  // in the order they are posted, so several may be in flight: HTTP never waits for one
  // commit before handing over the next batch.
  const intake = new Batcher<Submission, SubmissionResult>(
    (subs) =>
      thread?.submit(subs) ??
      background?.submit(subs, true) ??
      store.tx(() => store.messages.insertSubmissions(subs), true),
    512,
    thread ? 16 : 1,
  )

  let shuttingDown = false
  let app: Switchboard['app']
  let url: string | undefined
  try {
    if (role !== 'worker') {
      app = await buildApp({
        config,
        store,
        logger,
        submit: (sub) => intake.push(sub),
        providers,
        reports,
        isShuttingDown: () => shuttingDown,
        now,
      })
      if (opts.listen !== false) {
        url = await app.listen({ port: config.port, host: config.host })
        logger.info({ url, role, database: db.dialect }, 'switchboard listening')
      } else {
        await app.ready()
      }
    }
  } catch (err) {
    // A port in use, say: stop what already runs, or the thread would keep the process alive.
    await app?.close().catch(() => undefined)
    await thread?.stop()
    await background?.stop()
    await store.close()
    throw err
  }

  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      shuttingDown = true
      // 1. Stop intake: no new connections; requests already accepted finish their commit.
      await app?.close()
      // 2. Workers finish in-flight sends (or leave them to lease expiry) and stop claiming.
      await thread?.stop()
      await background?.stop()
      // 3. Close the database.
      await store.close()
      logger.info('switchboard stopped')
    })())

  return {
    store,
    logger,
    providers,
    url,
    firstAdminKey,
    app,
    sendWorker: background?.sendWorker,
    stop,
  }
}

import type { Logger } from 'pino'
import type { Config } from './config.js'
import { newId } from './domain/ids.js'
import { createFanout, type WebhookTargets } from './domain/webhooks/fanout.js'
import { generateWebhookSecret } from './domain/webhooks/signing.js'
import { buildApp } from './http/app.js'
import { createKey } from './http/keys.routes.js'
import { createLogger } from './logger.js'
import type { SmsProvider } from './providers/provider.js'
import { createProvider } from './providers/registry.js'
import { JobWorker } from './queue/job.worker.js'
import { Batcher } from './queue/loop.js'
import { ReportIngestor } from './queue/report.ingestor.js'
import { SendWorker } from './queue/send.worker.js'
import { WebhookWorker } from './queue/webhook.worker.js'
import { openDb } from './store/db.js'
import type { Submission, SubmissionResult } from './store/message.repo.js'
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
}

/** The only wiring point: builds the store, providers, workers and HTTP app from config. */
export async function startSwitchboard(
  config: Config,
  opts: StartOptions = {},
): Promise<Switchboard> {
  const role = opts.role ?? 'all'
  const now = opts.now ?? Date.now
  const logger = opts.logger ?? createLogger(config.logLevel)
  const db = openDb(config.database)
  await db.migrate()

  const targets: { endpoints: WebhookTargets['endpoints'] } = { endpoints: [] }
  const store = new Store(db, createFanout(targets))
  const globalSecret =
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
  const endpointSecrets = new Map(endpoints.map((e) => [e.id, e.secret]))

  let firstAdminKey: string | undefined
  if ((await store.countActiveKeys()) === 0) {
    firstAdminKey = (await createKey({ store, now }, 'admin (first start)', ['admin'])).key
  }

  const providers = new Map(config.providers.map((p) => [p.name, createProvider(p)]))
  const defaultProvider = [...providers.values()][0]
  if (!defaultProvider) throw new Error('no provider configured')
  const reports = new ReportIngestor(store, logger, now)

  const runsWorkers = role !== 'api'
  let sendWorker: SendWorker | undefined
  let webhookWorker: WebhookWorker | undefined
  let jobWorker: JobWorker | undefined
  if (runsWorkers) {
    for (const p of providers.values()) await p.start?.(reports.sink)
    sendWorker = new SendWorker({
      store,
      route: () => defaultProvider,
      config: config.worker,
      logger,
      now,
    })
    webhookWorker = new WebhookWorker({
      store,
      logger,
      secretFor: (id) => (id === null ? globalSecret : endpointSecrets.get(id)),
      timeoutMs: config.webhooks.timeoutMs,
      retryScheduleSeconds: config.webhooks.retryScheduleSeconds,
      pollMs: Math.max(config.worker.pollMs, 200),
      now,
    })
    jobWorker = new JobWorker(store, reports, logger, config.worker.pollMs, now)
    sendWorker.start()
    webhookWorker.start()
    jobWorker.start()
  }

  const intake = new Batcher<Submission, SubmissionResult>(async (subs) => {
    const results = await store.tx(() => store.messages.insertSubmissions(subs), true)
    sendWorker?.wake()
    return results
  }, 512)

  let shuttingDown = false
  let app: Switchboard['app']
  let url: string | undefined
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

  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      shuttingDown = true
      // 1. Stop intake: no new connections; requests already accepted finish their commit.
      await app?.close()
      // 2. Workers finish in-flight sends (or leave them to lease expiry) and stop claiming.
      await sendWorker?.stop(config.shutdownTimeoutMs)
      await webhookWorker?.stop()
      await jobWorker?.stop()
      for (const p of providers.values()) await p.stop?.()
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
    sendWorker,
    stop,
  }
}

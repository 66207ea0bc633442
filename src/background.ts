import type { Logger } from 'pino'
import type { Config } from './config.js'
import type { InstanceHealth } from './domain/routing/provider-monitor.js'
import type { SmsProvider } from './providers/provider.js'
import { QuietHours } from './domain/quiet-hours/quiet-hours.js'
import { JobWorker } from './queue/job.worker.js'
import { jobCatalog } from './queue/jobs/catalog.js'
import type { ReportIngestor } from './queue/report.ingestor.js'
import { senderLimits } from './domain/routing/route.js'
import { createPacer, pacingLimits } from './queue/pacing/create-pacer.js'
import { SendWorker, type PaceFn } from './queue/send.worker.js'
import { WebhookWorker, type WebhookWorkerOptions } from './queue/webhook.worker.js'
import type { Submission, SubmissionResult } from './store/rows.js'
import { providerRecords } from './store/provider-records.js'
import type { Store } from './store/store.js'

export interface BackgroundOptions {
  config: Config
  store: Store
  providers: ReadonlyMap<string, SmsProvider>
  reports: ReportIngestor
  logger: Logger
  /** Secrets that sign outbound webhooks, read from the database. */
  signingKeys: WebhookWorkerOptions['keys']
  /**
   * The pacing hook before each send (src/queue/dispatch.ts PaceFn); default: the pacer of the
   * configured limits (src/queue/pacing), or none when nothing is limited.
   */
  pace?: PaceFn
  now: () => number
}

/** How often the sending side writes its providers' health to the database (cluster mode). */
export const HEALTH_SNAPSHOT_MS = 5000

/** The background work of a worker: sending, delivery reports and outbound webhooks. */
export interface Background {
  readonly sendWorker: SendWorker
  /** The provider instances' health and circuits, as this process sends through them. */
  providerHealth(): InstanceHealth[]
  /**
   * Commits intake and lets the send worker know. `immediate`: commit now rather than with
   * whatever else the next turn of the event loop queues.
   */
  submit(subs: readonly Submission[], immediate: boolean): Promise<SubmissionResult[]>
  /** Finishes or releases in-flight work and stops the providers; the store stays open. */
  stop(): Promise<void>
}

export async function startBackground(o: BackgroundOptions): Promise<Background> {
  const { config, store, logger, now } = o
  if (o.providers.size === 0) throw new Error('no provider configured')
  for (const p of o.providers.values()) {
    await p.start?.(o.reports.sink, providerRecords(store.db, p.name))
  }
  // Instances limit with PROVIDERS' `mps`, senders with the routes' `senders`.
  const limits = pacingLimits(config, senderLimits(config.routing.routes).limits)
  const pacer = o.pace ? undefined : createPacer(config, store, limits, logger)
  if (pacer) logger.info({ schedule: pacer.book.kind }, 'pacing sends')
  const pace = o.pace ?? pacer?.take.bind(pacer)
  const sendWorker = new SendWorker({
    store,
    providers: o.providers,
    routing: config.routing,
    ...(pace ? { pace } : {}),
    config: config.worker,
    quietHours: new QuietHours(config.quietHours),
    logger,
    now,
  })
  // API processes of a cluster read the health of the instances from here.
  const snapshot = async () => {
    try {
      await store.routing.saveHealth(sendWorker.owner, sendWorker.monitor.snapshot(now()), now())
    } catch (err) {
      logger.warn({ err }, 'writing the provider health snapshot failed')
    }
  }
  let snapshots = Promise.resolve()
  const timer = setInterval(() => {
    snapshots = snapshots.then(snapshot)
  }, HEALTH_SNAPSHOT_MS)
  timer.unref()
  const webhookWorker = new WebhookWorker({
    store,
    logger,
    keys: o.signingKeys,
    timeoutMs: config.webhooks.timeoutMs,
    retryScheduleSeconds: config.webhooks.retryScheduleSeconds,
    allowPrivate: config.webhooks.allowPrivate,
    pollMs: Math.max(config.worker.pollMs, 200),
    now,
  })
  const jobWorker = new JobWorker(
    store,
    jobCatalog(o.reports),
    logger,
    config.worker.pollMs,
    now,
    o.reports.afterInbound,
    config.events.retentionHours * 3_600_000,
    config.retentionDays,
  )
  sendWorker.start()
  webhookWorker.start()
  jobWorker.start()
  return {
    sendWorker,
    providerHealth: () => sendWorker.monitor.snapshot(now()),
    async submit(subs, immediate) {
      const results = await store.tx(() => store.messages.insertSubmissions(subs), immediate)
      sendWorker.intakeCommitted()
      return results
    },
    async stop() {
      clearInterval(timer)
      await snapshots
      await sendWorker.stop(config.shutdownTimeoutMs)
      await webhookWorker.stop()
      await jobWorker.stop()
      await pacer?.book.close()
      for (const p of o.providers.values()) await p.stop?.()
    },
  }
}

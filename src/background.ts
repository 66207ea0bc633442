import type { Logger } from 'pino'
import type { Config } from './config.js'
import type { SmsProvider } from './providers/provider.js'
import { JobWorker } from './queue/job.worker.js'
import { jobCatalog } from './queue/jobs/catalog.js'
import type { ReportIngestor } from './queue/report.ingestor.js'
import { createPacer, pacingLimits } from './queue/pacing/create-pacer.js'
import { SendWorker } from './queue/send.worker.js'
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
  /** Segments per second per sender (`from`), from the routes' `senders`. */
  senderLimits?: ReadonlyMap<string, number>
  /** Secrets that sign outbound webhooks, read from the database. */
  signingKeys: WebhookWorkerOptions['keys']
  now: () => number
}

/** The background work of a worker: sending, delivery reports and outbound webhooks. */
export interface Background {
  readonly sendWorker: SendWorker
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
  const defaultProvider = [...o.providers.values()][0]
  if (!defaultProvider) throw new Error('no provider configured')
  for (const p of o.providers.values()) {
    await p.start?.(o.reports.sink, providerRecords(store.db, p.name))
  }
  // Sender limits come with the routes' `senders`; provider limits with PROVIDERS' `mps`.
  const pacer = createPacer(config, store, pacingLimits(config, o.senderLimits))
  if (pacer) logger.info({ schedule: pacer.book.kind }, 'pacing sends')
  const sendWorker = new SendWorker({
    store,
    route: () => defaultProvider,
    config: config.worker,
    logger,
    now,
    ...(pacer ? { pace: pacer.pace.bind(pacer) } : {}),
  })
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
  const jobWorker = new JobWorker(store, jobCatalog(o.reports), logger, config.worker.pollMs, now)
  sendWorker.start()
  webhookWorker.start()
  jobWorker.start()
  return {
    sendWorker,
    async submit(subs, immediate) {
      const results = await store.tx(() => store.messages.insertSubmissions(subs), immediate)
      sendWorker.intakeCommitted()
      return results
    },
    async stop() {
      await sendWorker.stop(config.shutdownTimeoutMs)
      await webhookWorker.stop()
      await jobWorker.stop()
      await pacer?.book.close()
      for (const p of o.providers.values()) await p.stop?.()
    },
  }
}

import type { Logger } from 'pino'
import { newId } from '../domain/ids.js'
import type { ProviderEvent } from '../providers/provider.js'
import type { Store } from '../store/store.js'
import { PollingLoop } from './loop.js'
import type { ReportIngestor } from './report.ingestor.js'

type StatusReport = Extract<ProviderEvent, { type: 'status' }>

/** Runs generic background jobs: parked delivery reports and periodic maintenance. */
export class JobWorker {
  readonly owner = newId('wrk')
  readonly #loop: PollingLoop
  #lastPurge = 0

  constructor(
    private readonly store: Store,
    private readonly reports: ReportIngestor,
    private readonly logger: Logger,
    pollMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#loop = new PollingLoop(
      () => this.#tick(),
      Math.max(pollMs, 500),
      (err) => logger.error({ err }, 'job worker tick failed'),
    )
  }

  start(): void {
    this.#loop.start()
  }

  stop(): Promise<void> {
    return this.#loop.stop()
  }

  async #tick(): Promise<'more' | 'idle'> {
    const now = this.now()
    if (now - this.#lastPurge > 60_000) {
      this.#lastPurge = now
      const purged = await this.store.purgeIdempotency(now)
      if (purged > 0) this.logger.info({ purged }, 'purged expired idempotency keys')
    }
    const jobs = await this.store.tx(() => this.store.jobs.claim(this.owner, 100, now, 60_000))
    const done: string[] = []
    for (const job of jobs) {
      if (job.type === 'provider_report') {
        const p = JSON.parse(job.payload) as {
          provider: string
          report: StatusReport
          attempt: number
        }
        await this.reports.apply(p.provider, [p.report], p.attempt)
        done.push(job.id)
      } else {
        this.logger.error({ jobId: job.id, type: job.type }, 'unknown job type; dropping')
        done.push(job.id)
      }
    }
    if (done.length > 0) await this.store.tx(() => this.store.jobs.complete(this.owner, done))
    return jobs.length === 100 ? 'more' : 'idle'
  }
}

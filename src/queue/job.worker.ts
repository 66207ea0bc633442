import type { Logger } from 'pino'
import { newId } from '../domain/ids.js'
import { receivedMessage } from '../domain/messages/inbound.js'
import type { JobRow } from '../store/schema.js'
import type { Store } from '../store/store.js'
import { noInboundEffect, type InboundEffect } from '../usecases/inbound.js'
import { rollupStats } from '../usecases/stats-rollup.js'
import { JOB_LEASE_MS, type JobCatalog, type JobResult } from './job-catalog.js'
import { PollingLoop } from './loop.js'

/** Jobs claimed per tick. */
const BATCH = 100
/** Dead letters are kept this long for inspection. */
const DEAD_LETTER_KEEP_MS = 7 * 86_400_000
/** Events purged per statement, and statements per maintenance round (the rest waits a minute). */
const EVENT_PURGE_BATCH = 1000
const EVENT_PURGE_ROUNDS = 20
/** A concatenated inbound SMS missing a part this long is stored with the parts that came. */
export const INBOUND_PARTS_WAIT_MS = 86_400_000
/** Messages (and events) the retention purge handles per transaction, and batches per round. */
export const RETENTION_BATCH = 500
const RETENTION_BATCHES_PER_ROUND = 20
/** How often the stats rollup (docs/stats.md) moves its watermark. */
const STATS_ROLLUP_EVERY_MS = 10_000

/** What becomes of one claimed job. */
type Fate =
  | { id: string; kind: 'done' }
  | { id: string; kind: 'retry'; at: number; reason: string }
  | { id: string; kind: 'dead'; reason: string }

/**
 * Runs background jobs from the catalog: each claimed job's type is looked up, its payload
 * checked against the type's schema, and its handler run under the type's timeout. A failed
 * run is retried after the type's backoff until its attempt cap, then dead-lettered; an unknown
 * type or a bad payload is dead-lettered at once, with the reason. Also periodic maintenance.
 */
export class JobWorker {
  readonly owner = newId('wrk')
  readonly #loop: PollingLoop
  #lastPurge = -Infinity
  #lastRollup = -Infinity

  constructor(
    private readonly store: Store,
    private readonly catalog: JobCatalog,
    private readonly logger: Logger,
    pollMs: number,
    private readonly now: () => number = Date.now,
    /** What an inbound SMS sets off (an incomplete one stored after its wait, too). */
    private readonly afterInbound: InboundEffect = noInboundEffect,
    /** How long application events stay in the log the event stream replays (EVENT_RETENTION_HOURS). */
    private readonly eventRetentionMs = 72 * 3_600_000,
    /** RETENTION_DAYS: bodies older than this are purged in maintenance; 0: never. */
    private readonly retentionDays = 0,
  ) {
    this.#loop = new PollingLoop(
      () => this.tick(),
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

  /** One round: maintenance when due, then the due jobs. Public for tests on a fake clock. */
  async tick(): Promise<'more' | 'idle'> {
    const now = this.now()
    if (now - this.#lastPurge > 60_000) {
      this.#lastPurge = now
      const purged = await this.store.purgeIdempotency(now)
      if (purged > 0) this.logger.info({ purged }, 'purged expired idempotency keys')
      await this.store.tx(() => this.store.jobs.purgeDead(now - DEAD_LETTER_KEEP_MS))
      const { inbound } = this.store
      const after = this.afterInbound
      const flushed = await this.store.tx(function* () {
        const stored = yield* inbound.flushStaleParts(now - INBOUND_PARTS_WAIT_MS, (provider, t) =>
          receivedMessage(provider, t, now),
        )
        if (stored.length > 0) yield* after(stored, now)
        return stored.length
      })
      if (flushed > 0) this.logger.warn({ flushed }, 'stored incomplete concatenated inbound SMS')
      await this.#purgeEvents(now - this.eventRetentionMs)
      await this.#purgeExpiredBodies(now)
    }
    if (now - this.#lastRollup > STATS_ROLLUP_EVERY_MS) {
      this.#lastRollup = now
      // A failed rollup only delays the stats (they read the rest live): jobs still run.
      await rollupStats(this.store, now).catch((err: unknown) =>
        this.logger.error({ err }, 'stats rollup failed'),
      )
    }
    const jobs = await this.store.tx(() =>
      this.store.jobs.claim(this.owner, BATCH, now, JOB_LEASE_MS),
    )
    if (jobs.length === 0) return 'idle'
    const fates = await Promise.all(jobs.map((job) => this.#run(job)))
    await this.store.tx(() => this.#record(fates))
    return jobs.length === BATCH ? 'more' : 'idle'
  }

  /** Bounded batches, so a large backlog never holds the writer for long. */
  async #purgeEvents(before: number): Promise<void> {
    let purged = 0
    for (let i = 0; i < EVENT_PURGE_ROUNDS; i++) {
      const n = await this.store.purgeEvents(before, EVENT_PURGE_BATCH)
      purged += n
      if (n < EVENT_PURGE_BATCH) break
    }
    if (purged > 0) this.logger.info({ purged }, 'purged events past their retention')
  }

  /**
   * Retention: empties the bodies of messages older than RETENTION_DAYS (their metadata stays
   * for analytics) and deletes older application events, in bounded batches: at most
   * RETENTION_BATCHES_PER_ROUND transactions of RETENTION_BATCH rows per maintenance round.
   */
  async #purgeExpiredBodies(now: number): Promise<void> {
    if (this.retentionDays <= 0) return
    const cutoff = now - this.retentionDays * 86_400_000
    let messages = 0
    let events = 0
    for (let i = 0; i < RETENTION_BATCHES_PER_ROUND; i++) {
      const r = await this.store.tx(() =>
        this.store.privacy.purgeBatch(cutoff, now, RETENTION_BATCH),
      )
      messages += r.messages
      events += r.events
      if (!r.more) break
    }
    if (messages + events > 0) {
      this.logger.info({ messages, events }, 'retention: purged message bodies and old events')
    }
  }

  async #run(job: JobRow): Promise<Fate> {
    const entry = this.catalog.get(job.type)
    const dead = (reason: string): Fate => {
      this.logger.warn({ jobId: job.id, type: job.type, reason }, 'job dead-lettered')
      return { id: job.id, kind: 'dead', reason }
    }
    if (!entry) return dead(`unknown job type ${JSON.stringify(job.type.slice(0, 64))}`)
    const parsed = entry.parse(job.payload)
    if (!parsed.ok) return dead(parsed.reason)
    const { def } = entry
    const result = await this.#withTimeout(def.timeoutMs, (signal) =>
      def.run(parsed.value, { id: job.id, attempt: job.attempts, signal }),
    )
    if (result === 'done') return { id: job.id, kind: 'done' }
    if (job.attempts >= def.maxAttempts) {
      return dead(`gave up after ${job.attempts} attempts: ${result.retry}`)
    }
    const at = this.now() + def.backoffMs(job.attempts)
    return { id: job.id, kind: 'retry', at, reason: result.retry }
  }

  /** Runs `fn`; a throw or a run past `ms` counts as a failed attempt, never as a crash. */
  async #withTimeout(
    ms: number,
    fn: (signal: AbortSignal) => Promise<JobResult>,
  ): Promise<JobResult> {
    const controller = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<JobResult>((resolve) => {
      timer = setTimeout(() => {
        controller.abort()
        resolve({ retry: `timed out after ${ms} ms` })
      }, ms)
    })
    try {
      return await Promise.race([fn(controller.signal), timeout])
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err)
      return { retry: `failed: ${text.slice(0, 200)}` }
    } finally {
      clearTimeout(timer)
    }
  }

  *#record(fates: readonly Fate[]) {
    const jobs = this.store.jobs
    const done = fates.filter((f) => f.kind === 'done').map((f) => f.id)
    if (done.length > 0) yield* jobs.complete(this.owner, done)
    for (const f of fates) {
      if (f.kind === 'retry') yield* jobs.reschedule(this.owner, f.id, f.at, f.reason)
      else if (f.kind === 'dead') yield* jobs.deadLetter(this.owner, f.id, f.reason)
    }
  }
}

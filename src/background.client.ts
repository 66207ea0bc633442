import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import type { InstanceHealth } from './domain/routing/provider-monitor.js'
import type { ProviderEvent } from './providers/provider.js'
import { Batcher } from './queue/loop.js'
import type { Submission, SubmissionResult } from './store/rows.js'

/** What the background thread is started with (structured-cloned into it). */
export interface ThreadData {
  config: Config
  /** The WriteLock's SharedArrayBuffer. */
  lock: SharedArrayBuffer
}

/** Requests to the thread; each `id` is answered by one `done` or `failed`. */
export type ToThread =
  | { t: 'submit'; id: number; subs: Submission[] }
  | { t: 'health'; id: number }
  | { t: 'handset'; id: number; ids: string[] }
  /** The events of several webhooks, each group one provider's, applied together. */
  | { t: 'ingest'; id: number; groups: IngestGroup[] }
  | { t: 'stop' }

export type FromThread =
  | { t: 'ready' }
  | { t: 'done'; id: number; value: unknown }
  | { t: 'failed'; id: number; message: string }
  /** A transaction that raised application events committed: event streams read again. */
  | { t: 'events' }
  | { t: 'stopped' }

/** One webhook's events, for the provider instance that sent them. */
export interface IngestGroup {
  provider: string
  events: ProviderEvent[]
}

type Call = ToThread extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never

/**
 * How to start the thread. The compiled server runs background.thread.js. Run from source
 * (tests, `npm run switchboard`) or with TypeScript preloads (the benchmark's SQL timing), the
 * thread first registers tsx itself, then imports those preloads and its entry: a worker
 * inherits the parent's flags but not the loader they rely on.
 */
function threadEntry(): { entry: string | URL; eval: boolean; execArgv?: string[] } {
  const execArgv: string[] = []
  const preloads: string[] = []
  const args = process.execArgv
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    const next = args[i + 1]
    if ((a === '--import' || a === '--require') && next !== undefined) {
      if (next.endsWith('.ts')) {
        preloads.push(next.startsWith('file:') ? next : pathToFileURL(resolve(next)).href)
      } else {
        execArgv.push(a, next)
      }
      i++
    } else if (/^--(cpu|heap)-prof/.test(a)) {
      // Per-thread diagnostics. V8 flags (--max-old-space-size, ...) apply to every thread
      // anyway and are refused in a Worker's execArgv, so the rest stays out.
      execArgv.push(a)
    }
  }
  const fromSource = import.meta.url.endsWith('.ts')
  const entry = new URL(`./background.thread.${fromSource ? 'ts' : 'js'}`, import.meta.url).href
  if (preloads.length > 0) {
    // The thread gets the flags without the TypeScript preloads and imports those itself.
    return { entry: bootstrap(entry, preloads), eval: true, execArgv }
  }
  // Otherwise it inherits the parent's flags: given explicitly, V8 flags such as
  // --max-old-space-size would make the Worker constructor throw.
  if (fromSource) return { entry: bootstrap(entry, []), eval: true }
  return { entry: new URL(entry), eval: false }
}

/** Registers tsx in the thread, then imports the TypeScript preloads and the entry. */
function bootstrap(entry: string, preloads: string[]): string {
  const tsx = import.meta.resolve('tsx/esm/api')
  return `(async () => {
    ;(await import(${JSON.stringify(tsx)})).register()
    for (const p of ${JSON.stringify(preloads)}) await import(p)
    await import(${JSON.stringify(entry)})
  })()`
}

interface Pending {
  resolve: (value: unknown) => void
  reject: (e: unknown) => void
}

/**
 * The HTTP thread's handle on the background thread (src/background.thread.ts): hands it
 * intake batches and provider webhook events to commit, and stops it. The thread's own code
 * runs the workers. The HTTP thread's own connection is left with the rare writes (keys,
 * cancel), so it seldom waits for the write lock.
 */
export class BackgroundThread {
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  #seq = 0
  #stopping = false
  #exited = false
  #stopped: Promise<void> | undefined
  #onEvents: () => void = () => undefined
  /**
   * Webhooks travel to the thread together (a message per webhook cost the HTTP thread more
   * than verifying it): two messages at most are in flight, and what arrives meanwhile goes in
   * the next. Each webhook resolves when all of its message are durable.
   */
  readonly #ingests = new Batcher<IngestGroup, undefined>(
    async (groups) => {
      await this.#call({ t: 'ingest', groups })
      return groups.map(() => undefined)
    },
    512,
    2,
  )

  private constructor(
    worker: Worker,
    private readonly logger: Logger,
    private readonly onFatal: (err: Error) => void,
  ) {
    this.#worker = worker
  }

  /** Starts the thread and waits until its workers run. */
  static async start(
    data: ThreadData,
    logger: Logger,
    onFatal: (err: Error) => void,
  ): Promise<BackgroundThread> {
    const how = threadEntry()
    const worker = new Worker(how.entry, {
      eval: how.eval,
      ...(how.execArgv ? { execArgv: how.execArgv } : {}),
      workerData: data,
      name: 'switchboard-background',
    })
    const thread = new BackgroundThread(worker, logger, onFatal)
    await new Promise<void>((resolve, reject) => {
      const early = (err: Error) => reject(err)
      const earlyExit = (code: number) =>
        reject(new Error(`background thread exited with code ${code} while starting`))
      worker.once('error', early)
      worker.once('exit', earlyExit)
      worker.once('message', (m: FromThread) => {
        worker.off('error', early)
        worker.off('exit', earlyExit)
        if (m.t === 'ready') resolve()
        else reject(new Error(`background thread sent "${m.t}" before it was ready`))
      })
    })
    worker.on('message', (m: FromThread) => thread.#onMessage(m))
    worker.on('error', (err) => thread.#onExit(err))
    worker.on('exit', (code) => {
      thread.#exited = true
      thread.#onExit(new Error(`background thread exited (${code})`))
    })
    return thread
  }

  /** Called after each commit there that raised application events (streams read again). */
  onEvents(listener: () => void): void {
    this.#onEvents = listener
  }

  /** Commits one intake batch in the background thread; resolves once it is durable. */
  submit(subs: Submission[]): Promise<SubmissionResult[]> {
    return this.#call({ t: 'submit', subs }) as Promise<SubmissionResult[]>
  }

  /** Applies provider events (delivery reports, inbound) there; resolves once durable. */
  async ingest(provider: string, events: readonly ProviderEvent[]): Promise<void> {
    await this.#ingests.push({ provider, events: [...events] })
  }

  /** The provider instances' health and circuits, as the thread that sends sees them. */
  providerHealth(): Promise<InstanceHealth[]> {
    return this.#call({ t: 'health' }) as Promise<InstanceHealth[]>
  }

  /** The simulator handset's texts of these messages (verification SMS), as the thread has them. */
  async handset(ids: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const pairs = (await this.#call({ t: 'handset', ids: [...ids] })) as [string, string][]
    return new Map(pairs)
  }

  #call(m: Call): Promise<unknown> {
    if (this.#stopping) return Promise.reject(new Error('background thread is stopping'))
    const id = ++this.#seq
    return new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#worker.postMessage({ ...m, id })
    })
  }

  /** Lets the thread finish or release in-flight sends, close its connection and exit. */
  stop(): Promise<void> {
    this.#stopping = true
    this.#stopped ??= new Promise<void>((resolve) => {
      if (this.#exited) return resolve()
      this.#worker.once('exit', () => resolve())
      this.#worker.postMessage({ t: 'stop' } satisfies ToThread)
    })
    return this.#stopped
  }

  #onMessage(m: FromThread): void {
    // Its work is done and its connection closed: a handle left open (an idle keep-alive
    // socket, say) must not keep the process from exiting.
    if (m.t === 'stopped') void this.#worker.terminate()
    if (m.t === 'events') return this.#onEvents()
    if (m.t !== 'done' && m.t !== 'failed') return
    const p = this.#pending.get(m.id)
    if (!p) return
    this.#pending.delete(m.id)
    if (m.t === 'done') p.resolve(m.value)
    else p.reject(new Error(m.message))
  }

  #onExit(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err)
    this.#pending.clear()
    if (this.#stopping) return
    this.#stopping = true
    this.logger.fatal({ err }, 'background thread stopped unexpectedly')
    this.onFatal(err)
  }
}

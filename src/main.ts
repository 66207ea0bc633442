import { createUser } from './usecases/users.js'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import { HEALTH_SNAPSHOT_MS, startBackground, type Background } from './background.js'
import { BackgroundThread } from './background.client.js'
import { newId } from './domain/ids.js'
import { mergeHealth } from './domain/routing/health-merge.js'
import type { HealthReading, InstanceHealth } from './domain/routing/provider-monitor.js'
import { Router } from './domain/routing/router.js'
import { createFanout, type WebhookTargets } from './domain/webhooks/fanout.js'
import { buildApp } from './http/app.js'
import { checkWebhookEndpoints } from './net/webhook-endpoints.check.js'
import { createLogger } from './logger.js'
import type { SmsProvider } from './providers/provider.js'
import { providerCallbacks } from './providers/callback-urls.js'
import { createProvider } from './providers/registry.js'
import { isSimulatorProvider } from './providers/simulator/simulator.provider.js'
import { Batcher } from './queue/loop.js'
import { EventFeed } from './usecases/event-feed.js'
import { inboundEffects } from './usecases/inbound.js'
import { listenForEvents } from './store/event-listener.js'
import { ReportIngestor, type ReportSink } from './queue/report.ingestor.js'
import { SigningKeys } from './queue/signing-keys.js'
import type { SendWorker } from './queue/send.worker.js'
import { openDb } from './store/db.js'
import { WriteLock } from './store/write-lock.js'
import type { Submission, SubmissionResult } from './store/rows.js'
import { Store } from './store/store.js'
import { createApiKey } from './usecases/api-keys.js'
import { QuietHours } from './domain/quiet-hours/quiet-hours.js'
import { MessageSubmitter } from './usecases/submit-messages.js'
import { TemplateStore } from './usecases/templates.js'
import { VerifyService } from './usecases/verify.js'
import { createVerifyGuard } from './store/verify-guard.js'
import { verifyTemplates } from './usecases/verify-templates.js'
import type { VerifyGuard } from './domain/verify/guard.js'
import type { VerifyTemplates } from './domain/verify/texts.js'
import { WebhookSecrets } from './usecases/webhook-secrets.js'

export type Role = 'api' | 'worker' | 'all'

export interface Switchboard {
  readonly store: Store
  readonly logger: Logger
  readonly providers: ReadonlyMap<string, SmsProvider>
  /** Base URL when the API role listens. */
  readonly url: string | undefined
  /**
   * On first start (no API keys existed): the admin key created then, shown once, and the
   * webhook signing secret, printed beside it.
   */
  readonly firstStart: { readonly adminKey: string; readonly webhookSecret: string } | undefined
  /**
   * On first start with no dashboard users: the `admin` user created then and its generated
   * password, printed once beside the first API key.
   */
  readonly firstUser: { readonly email: string; readonly password: string } | undefined
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
  /** The Verify API's abuse protection. Default: the configured one (VERIFY_LIMITS ...). */
  verifyGuard?: VerifyGuard
  /** Named templates for Verify's `template`. Default: the message templates. */
  verifyTemplates?: VerifyTemplates
  /** Draws the digits of Verify codes (tests inject one). */
  verifyRandom?: (max: number) => number
  /** Called when the background thread dies; the default exits the process (code 70). */
  onFatal?: (err: Error) => void
}

/** A process's worker side: its providers, report ingestor and background workers. */
export interface WorkerParts {
  readonly providers: ReadonlyMap<string, SmsProvider>
  readonly reports: ReportIngestor
  readonly background: Background
}

/**
 * Opens a store whose status changes fan out to the enabled webhook endpoints. Each thread
 * that writes status changes opens its own (its own database connection). `boot` runs first
 * (migrations, configuration), before the endpoints are loaded.
 */
export async function openStore(
  config: Config,
  lock?: WriteLock,
  boot?: (store: Store) => Promise<void>,
): Promise<Store> {
  const targets: WebhookTargets = { endpoints: [] }
  const store = new Store(openDb(config.database, lock), createFanout(targets))
  try {
    await boot?.(store)
    targets.endpoints = await store.listEndpoints()
  } catch (err) {
    await store.close().catch(() => undefined)
    throw err
  }
  return store
}

/**
 * Composes the worker side of a process on `store`: the providers (one instance each, in
 * the thread that sends), the report ingestor and the workers. The same function serves the
 * embedded server's background thread (src/background.thread.ts) and a process whose main
 * thread runs the workers, so both are wired once, here.
 */
export async function composeWorker(
  config: Config,
  store: Store,
  o: { logger: Logger; now: () => number },
): Promise<WorkerParts> {
  const providers = await createProviders(config, store, o.now)
  const reports = new ReportIngestor(store, o.logger, o.now, inboundEffects(store, config))
  const background = await startBackground({
    config,
    store,
    providers,
    reports,
    logger: o.logger,
    signingKeys: new SigningKeys(
      new WebhookSecrets(store, config.webhooks.secret, o.now),
      store,
      o.now,
    ),
    now: o.now,
  })
  return { providers, reports, background }
}

/**
 * One adapter per configured provider instance, by name, each with its callback URLs. An
 * instance whose provider cannot sign its callbacks gets a random token, made once and kept in
 * the database (every process and restart registers the same URLs), added as `?token=`.
 */
async function createProviders(
  config: Config,
  store: Store,
  now: () => number,
): Promise<ReadonlyMap<string, SmsProvider>> {
  const providers = new Map<string, SmsProvider>()
  for (const p of config.providers) {
    const { callbackUrls, callbackToken } = await providerCallbacks(config.publicUrl, p, store)
    providers.set(p.name, createProvider(p, { callbackUrls, callbackToken, now }))
  }
  return providers
}

/** The simulator handsets' texts of these messages (the in-process simulators among `providers`). */
export function handsetOf(
  providers: ReadonlyMap<string, SmsProvider>,
): (ids: readonly string[]) => Map<string, string> {
  const sims = [...providers.values()].filter(isSimulatorProvider)
  return (ids) => {
    const out = new Map<string, string>()
    for (const sim of sims) for (const [id, text] of sim.handset(ids)) out.set(id, text)
    return out
  }
}

/** Snapshots older than this are from a process that no longer sends. */
const HEALTH_FRESH_MS = 3 * HEALTH_SNAPSHOT_MS

/**
 * Where `GET /v1/providers` reads health and circuits: the background thread, this process's
 * own workers, or (an API process of a cluster, which sends nothing) the snapshots the sending
 * processes write to the database, merged per instance.
 */
function healthReader(
  store: Store,
  now: () => number,
  thread: BackgroundThread | undefined,
  background: Background | undefined,
): () => Promise<HealthReading> {
  if (thread) return async () => ({ source: 'live', instances: await thread.providerHealth() })
  if (background) return async () => ({ source: 'live', instances: background.providerHealth() })
  return async () => {
    const byName = new Map<string, InstanceHealth[]>()
    for (const r of await store.routing.readHealth(now() - HEALTH_FRESH_MS)) {
      byName.set(r.instance.name, [...(byName.get(r.instance.name) ?? []), r.instance])
    }
    const instances = [...byName.values()].flatMap((views) => mergeHealth(views) ?? [])
    return { source: 'snapshot', instances }
  }
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
  let firstStart: Switchboard['firstStart']
  let firstUser: Switchboard['firstUser']
  const store = await openStore(config, writeLock, async (boot) => {
    await boot.db.migrate()
    // The key phone numbers are hashed under (erasure, audit): made once, never rotated.
    await boot.privacy.key()
    const webhookSecret = (await new WebhookSecrets(boot, config.webhooks.secret, now).state())
      .secret
    for (const e of config.webhooks.endpoints) {
      await boot.upsertEndpoint({
        id: newId('wep'),
        url: e.url,
        secret: e.secret,
        created_at: now(),
      })
    }
    // Configuration is the source of truth: an endpoint no longer configured stops receiving.
    const retired = await boot.retireEndpointsExcept(
      config.webhooks.endpoints.map((e) => e.url),
      now(),
    )
    if (retired.endpoints > 0)
      logger.info(retired, 'webhook endpoints no longer configured retired')
    if ((await boot.countActiveKeys()) === 0) {
      const adminKey = (await createApiKey({ store: boot, now }, 'admin (first start)', ['admin']))
        .key
      firstStart = { adminKey, webhookSecret }
    }
    if ((await boot.users.count()) === 0) {
      // Another process starting at the same time may win the e-mail: then it prints.
      const created = await createUser({ store: boot, now }, 'admin', 'admin')
      if (created) firstUser = { email: created.row.email, password: created.password }
    }
  })

  // The embedded default runs intake commits, provider reports and the workers in a
  // background thread with its own connection, so HTTP never waits behind dispatch
  // (docs/ARCHITECTURE.md). Otherwise this thread runs the workers (role worker, or
  // WORKER_THREAD=false) or applies provider webhooks itself (role api).
  let thread: BackgroundThread | undefined
  let worker: WorkerParts | undefined
  let reports: ReportSink
  if (role === 'all' && config.worker.thread) {
    if (opts.now) throw new Error('a custom clock needs WORKER_THREAD=false')
    thread = await BackgroundThread.start(
      { config, lock: writeLock.buffer },
      logger,
      opts.onFatal ?? (() => process.exit(70)),
    )
    reports = thread
  } else if (role !== 'api') {
    worker = await composeWorker(config, store, { logger, now })
    reports = worker.reports
  } else {
    reports = new ReportIngestor(store, logger, now, inboundEffects(store, config))
  }
  const background = worker?.background
  // Providers that send live where the workers run; elsewhere an unstarted instance of each
  // only verifies and parses its webhooks.
  const providers = worker?.providers ?? (await createProviders(config, store, now))

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

  // Event streams (API role): woken by commits of this thread's store, of the background
  // thread, and on PostgreSQL of every process of the cluster (LISTEN), with a slow poll behind.
  const events = new EventFeed(store, logger, {
    maxStreams: config.events.maxStreams,
    pollMs: config.events.pollMs,
  })
  store.onEventsCommitted(() => events.wake())
  thread?.onEvents(() => events.wake())
  const database = config.database
  const listener =
    role !== 'worker' && database.kind === 'postgres'
      ? listenForEvents(database, () => events.wake(), logger)
      : undefined

  let shuttingDown = false
  let app: Switchboard['app']
  let url: string | undefined
  try {
    if (role !== 'worker') {
      // Templates are rendered at intake, on this thread, from this cache (docs/templates.md).
      const templates = new TemplateStore({ store, now })
      const submitter = new MessageSubmitter({
        intake: (sub) => intake.push(sub),
        policy: config.messages,
        router: new Router(config.routing.routes),
        // A message without a sender of its own or its route's goes out from its first
        // instance's default (the simulator's first number): consent is checked for that one.
        defaultSender: (route) => providers.get(route.providers[0] ?? '')?.defaultSender ?? null,
        idempotencyTtlMs: config.idempotencyTtlHours * 3_600_000,
        now,
        quietHours: new QuietHours(config.quietHours),
        templates,
      })
      const verify = new VerifyService({
        store,
        submitter,
        guard: opts.verifyGuard ?? createVerifyGuard(config.verifyAbuse, store),
        templates: opts.verifyTemplates ?? verifyTemplates(templates),
        config: config.verify,
        defaultCountry: config.messages.defaultCountry,
        now,
        random: opts.verifyRandom,
      })
      app = await buildApp({
        config,
        store,
        logger,
        submitter,
        templates,
        verify,
        // The handsets are where the simulators send: the background thread, or this thread.
        ...(thread
          ? { handset: (ids: readonly string[]) => thread.handset(ids) }
          : worker
            ? { handset: async (ids: readonly string[]) => handsetOf(worker.providers)(ids) }
            : {}),
        providers,
        reports,
        providerHealth: healthReader(store, now, thread, background),
        isShuttingDown: () => shuttingDown,
        events,
        now,
      })
      if (opts.listen !== false) {
        url = await app.listen({ port: config.port, host: config.host })
        logger.info({ url, role, database: store.dialect }, 'switchboard listening')
      } else {
        await app.ready()
      }
    }
  } catch (err) {
    // A port in use, say: stop what already runs, or the thread would keep the process alive.
    await app?.close().catch(() => undefined)
    await listener?.close()
    await thread?.stop()
    await background?.stop()
    await store.close()
    throw err
  }

  /**
   * Closes the HTTP server: idle connections at once, requests in flight when they finish. A
   * client that stops reading its answer, or never sends the rest of its body, would hold the
   * server open forever: at SHUTDOWN_TIMEOUT_MS its connection is cut.
   */
  const closeHttp = async () => {
    if (!app) return
    const server = app.server
    const deadline = setTimeout(() => {
      logger.warn('connections still open at the shutdown deadline: closing them')
      server.closeAllConnections()
    }, config.shutdownTimeoutMs)
    try {
      await app.close()
    } finally {
      clearTimeout(deadline)
    }
  }

  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      shuttingDown = true
      // 1. Stop intake: no new connections; requests already accepted finish their commit.
      // Event streams end first (they never finish on their own).
      events.close()
      await closeHttp()
      await listener?.close()
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
    firstStart,
    firstUser,
    app,
    sendWorker: background?.sendWorker,
    stop,
  }
}

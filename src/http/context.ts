import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { InFlightKeys } from '../domain/idempotency/idempotency.js'
import type { HealthReading } from '../domain/routing/provider-monitor.js'
import type { SmsProvider } from '../providers/provider.js'
import type { ReportSink } from '../queue/report.ingestor.js'
import type { Store } from '../store/store.js'
import type { EventFeed } from '../usecases/event-feed.js'
import type { MessageSubmitter } from '../usecases/submit-messages.js'
import type { TemplateStore } from '../usecases/templates.js'
import type { VerifyService } from '../usecases/verify.js'
import { Authenticator } from './auth.js'

/** What the composition root hands the HTTP app. */
export interface AppDeps {
  config: Config
  store: Store
  logger: Logger
  /** The submit-messages use case, over this process's group-commit intake. */
  submitter: MessageSubmitter
  /** Message templates and their cache (the submitter renders from the same one). */
  templates: TemplateStore
  /** The Verify API's use case (over the same submitter). */
  verify: VerifyService
  /**
   * What the simulator's handset received, by message id: the real text of verification SMS
   * (the message log keeps them redacted). Absent where no simulator sends from this process
   * or its background thread.
   */
  handset?: (ids: readonly string[]) => Promise<ReadonlyMap<string, string>>
  providers: ReadonlyMap<string, SmsProvider>
  /** Provider webhook events go here (the background thread's ingestor in role all). */
  reports: ReportSink
  /** Provider health and circuits, from the process that sends (see HealthReading). */
  providerHealth: () => Promise<HealthReading>
  isShuttingDown: () => boolean
  /** Wakes this process's event streams (`GET /v1/events/stream`). */
  events: EventFeed
  now?: () => number
}

/** The application context: the deps plus the HTTP layer's own per-app state. */
export interface AppContext extends Omit<AppDeps, 'now'> {
  readonly now: () => number
  readonly auth: Authenticator
  /** Idempotency keys of requests under way in this process. */
  readonly inFlight: InFlightKeys
}

export function createAppContext(deps: AppDeps): AppContext {
  const now = deps.now ?? Date.now
  return {
    ...deps,
    now,
    auth: new Authenticator(deps.store, now),
    inFlight: new InFlightKeys(),
  }
}

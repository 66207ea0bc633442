import type { Store } from '../store/store.js'
import type { WebhookSecrets } from '../usecases/webhook-secrets.js'

/** Re-read at most this often, so a rotation or a restart elsewhere applies within it. */
const REFRESH_MS = 1000

/**
 * The secrets that sign outbound webhooks, read from the database (not fixed at boot), so a
 * rotation through the API in any thread or process applies to every worker: the global ones
 * (current, and previous during a rotation's overlap) for `statusCallback` deliveries, one
 * per enabled endpoint for endpoint deliveries.
 */
export class SigningKeys {
  #global: readonly string[] = []
  #endpoints = new Map<string, string>()
  #readAt = Number.NEGATIVE_INFINITY

  constructor(
    private readonly secrets: WebhookSecrets,
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  /** Re-reads the secrets if the last read is older than a second. */
  async refresh(): Promise<void> {
    const now = this.now()
    if (now - this.#readAt < REFRESH_MS) return
    this.#global = await this.secrets.signing()
    this.#endpoints = new Map((await this.store.listEndpoints()).map((e) => [e.id, e.secret]))
    this.#readAt = now
  }

  /** Secrets signing a delivery to `endpointId` (null: a statusCallback); undefined: removed. */
  for(endpointId: string | null): readonly string[] | undefined {
    if (endpointId === null) return this.#global
    const s = this.#endpoints.get(endpointId)
    return s === undefined ? undefined : [s]
  }
}

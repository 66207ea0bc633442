import { generateWebhookSecret } from '../domain/webhooks/signing.js'
import type { Store } from '../store/store.js'

const CURRENT = 'webhook_secret'
const PREVIOUS = 'webhook_secret_previous'
const PREVIOUS_UNTIL = 'webhook_secret_previous_until'

/** The secret that signs `statusCallback` deliveries, and the one it replaced while both sign. */
export interface WebhookSecretState {
  readonly secret: string
  /** Where it comes from: WEBHOOK_SECRET in the configuration, or generated and stored. */
  readonly source: 'configuration' | 'generated'
  /** The secret before the last rotation, while it still signs too. */
  readonly previous: { readonly secret: string; readonly expiresAt: number } | null
}

export type RotateOutcome =
  { outcome: 'rotated'; state: WebhookSecretState } | { outcome: 'configured' }

/**
 * The global webhook secret (signing `statusCallback` deliveries): WEBHOOK_SECRET when the
 * configuration sets it, else one generated on first start and kept in the database. Rotation
 * replaces the stored one; for `overlapSeconds` afterwards deliveries carry signatures by
 * both, as Standard Webhooks allows, so receivers can switch without missing one.
 */
export class WebhookSecrets {
  constructor(
    private readonly store: Store,
    private readonly configured: string | undefined,
    private readonly now: () => number,
  ) {}

  /** The current state; generates and stores the secret if none exists yet. */
  async state(): Promise<WebhookSecretState> {
    if (this.configured !== undefined) {
      return { secret: this.configured, source: 'configuration', previous: null }
    }
    const secret = await this.store.initSetting(CURRENT, generateWebhookSecret())
    const previous = await this.store.getSetting(PREVIOUS)
    const until = Number(await this.store.getSetting(PREVIOUS_UNTIL))
    return {
      secret,
      source: 'generated',
      previous:
        previous !== undefined && until > this.now()
          ? { secret: previous, expiresAt: until }
          : null,
    }
  }

  /** Secrets that sign a delivery now: the current one, and the previous during the overlap. */
  async signing(): Promise<string[]> {
    const s = await this.state()
    return s.previous ? [s.secret, s.previous.secret] : [s.secret]
  }

  /** Replaces the stored secret; the old one keeps signing for `overlapSeconds`. */
  async rotate(overlapSeconds: number): Promise<RotateOutcome> {
    if (this.configured !== undefined) return { outcome: 'configured' }
    const old = (await this.state()).secret
    const until = this.now() + overlapSeconds * 1000
    await this.store.setSettings({
      [CURRENT]: generateWebhookSecret(),
      [PREVIOUS]: old,
      [PREVIOUS_UNTIL]: String(until),
    })
    return { outcome: 'rotated', state: await this.state() }
  }
}

/**
 * The provider port: the one interface every SMS gateway adapter implements.
 *
 * Adapters classify every provider answer into one of three outcomes and decide the
 * `retryable` question there and nowhere else. They never throw for an expected provider
 * answer; a thrown error is treated as an unknown (ambiguous) outcome by the worker.
 *
 * @example
 * const result = await provider.send(sms, AbortSignal.timeout(15_000))
 * if (result.outcome === 'accepted') record(result.providerMessageId)
 */
export interface SmsProvider {
  /** Instance name from configuration, e.g. "twilio-us" or "simulator". */
  readonly name: string
  send(sms: OutboundSms, signal: AbortSignal): Promise<SendResult>
  /**
   * Starts background work (delivery report timers, SMPP binds). Events go to `sink`.
   * `records` lets a provider that keeps reports in memory (the simulator) find the messages
   * it accepted before a restart whose reports it still owes.
   */
  start?(sink: ProviderEventSink, records?: ProviderRecords): Promise<void> | void
  /** Stops background work; pending reports that were not pushed are dropped by the provider. */
  stop?(): Promise<void> | void
  /** HTTP-callback providers: constant-time signature check of a provider webhook. */
  verifyWebhook?(req: WebhookRequest): boolean
  /** HTTP-callback providers: status reports and inbound SMS carried by one webhook. */
  parseWebhook?(req: WebhookRequest): ProviderEvent[]
}

/** What Switchboard has recorded of a provider's work, for the provider to read at start. */
export interface ProviderRecords {
  /** This provider's messages recorded `sent` and not reported final yet, a page at a time. */
  awaitingReport(): AsyncIterable<readonly AwaitingReport[]>
}

/** A message a provider accepted and has not reported final. */
export interface AwaitingReport {
  readonly id: string
  /** E.164 destination. */
  readonly to: string
  readonly providerMessageId: string
  /** Epoch milliseconds the acceptance was recorded. */
  readonly sentAt: number
}

export interface OutboundSms {
  /** Switchboard message id; adapters pass it to the provider as a reference where possible. */
  readonly id: string
  /** E.164 destination. */
  readonly to: string
  /** Sender id or E.164 number; null lets the provider pick its default. */
  readonly from: string | null
  readonly body: string
  readonly encoding: 'GSM-7' | 'UCS-2'
  readonly segments: number
  /** Epoch milliseconds after which the message must not be delivered. */
  readonly validUntil: number
  /** 1 on the first attempt. */
  readonly attempt: number
}

/** Normalised outcome of one send attempt. Error codes are documented in docs/errors.md. */
export type SendResult =
  | { outcome: 'accepted'; providerMessageId: string }
  | {
      outcome: 'retry'
      code: ProviderErrorCode
      /** Milliseconds the provider asked us to wait (Retry-After). */
      after?: number
      message?: string
    }
  | { outcome: 'rejected'; code: ProviderErrorCode; message?: string }

/** Status words reported by providers after acceptance, normalised. */
export type ReportedStatus = 'sent' | 'delivered' | 'undelivered' | 'failed'

export type ProviderEvent =
  | {
      type: 'status'
      /** Our message id, when the provider echoes our reference back. */
      messageId?: string
      providerMessageId: string
      status: ReportedStatus
      errorCode?: ProviderErrorCode
      /** Epoch milliseconds the provider gave for the event, else when we received it. */
      at: number
    }
  | {
      type: 'inbound'
      providerMessageId: string
      from: string
      to: string
      body: string
      at: number
    }

export type ProviderEventSink = (provider: string, events: ProviderEvent[]) => void

export interface WebhookRequest {
  /** Full URL as the provider requested it, including the raw query string. */
  readonly url: string
  readonly method: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly rawBody: Buffer
}

/**
 * Normalised message error codes. Each is documented in docs/errors.md; the retryable
 * ones are only ever produced with `outcome: 'retry'`.
 */
export const PROVIDER_ERROR_CODES = [
  // retryable
  'provider_unavailable',
  'provider_rate_limited',
  'provider_timeout',
  'provider_connection_error',
  // permanent
  'invalid_number',
  'unreachable_destination',
  'blocked_by_carrier',
  'recipient_opted_out',
  'provider_auth_failed',
  'provider_rejected',
  'message_too_long',
  // delivery reports
  'undeliverable',
  'carrier_error',
  // Switchboard-side outcomes
  'validity_expired',
  'max_attempts_exceeded',
] as const

export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number]

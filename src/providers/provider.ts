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
  /** Provider type from configuration, e.g. "twilio". */
  readonly type: string
  /**
   * Whether sending the same message again (same Switchboard id) after an unknown outcome
   * cannot reach the phone twice, because the provider deduplicates on our reference.
   */
  readonly deduplicates: boolean
  /**
   * The sender a message without one goes out from (the simulator's first number): recorded
   * as its `sender`. Absent: the provider picks (a Twilio Messaging Service) and we record none.
   */
  readonly defaultSender?: string
  send(sms: OutboundSms, signal: AbortSignal): Promise<SendResult>
  /**
   * Starts background work (delivery report timers, SMPP binds). Events go to `sink`.
   * `records` lets a provider that keeps reports in memory (the simulator) find the messages
   * it accepted before a restart whose reports it still owes.
   */
  start?(sink: ProviderEventSink, records?: ProviderRecords): Promise<void> | void
  /** Stops background work; pending reports that were not pushed are dropped by the provider. */
  stop?(): Promise<void> | void
  /**
   * HTTP-callback providers: one callback at `/webhooks/{name}/{kind}`, by GET or POST.
   * Checks its authenticity first (constant time); a callback that does not verify is
   * `{ verified: false }` and changes nothing. Throws {@link MalformedWebhook} for a
   * verified callback it cannot read.
   */
  handleWebhook?(req: WebhookRequest): WebhookOutcome
}

/** The callback URLs of a provider instance, as the provider must call them. */
export interface CallbackUrls {
  /** `{PUBLIC_URL}/webhooks/{name}/status`, with `?token=` for instances that cannot sign. */
  readonly status: string
  /** `{PUBLIC_URL}/webhooks/{name}/inbound`, with `?token=` likewise. */
  readonly inbound: string
}

/** What an adapter factory receives besides its own parsed configuration. */
export interface ProviderContext {
  readonly callbackUrls: CallbackUrls
  /** Random per-instance token for providers that cannot sign their callbacks. */
  readonly callbackToken: string
  /** Injected clock (epoch milliseconds). */
  readonly now: () => number
}

/** A verified webhook's events and the answer the provider expects. */
export type WebhookOutcome =
  | { verified: false }
  | {
      verified: true
      events: ProviderEvent[]
      /** The body to answer with (empty TwiML for Twilio inbound); absent: 204 No Content. */
      answer?: WebhookAnswer
    }

export interface WebhookAnswer {
  readonly status: number
  readonly contentType: string
  readonly body: string
}

/** A callback that verified but cannot be read: answered 400, nothing changes. */
export class MalformedWebhook extends Error {
  override readonly name = 'MalformedWebhook'
}

/** A price reported by a provider or estimated from the price table. */
export interface Price {
  readonly amount: number
  /** ISO 4217, e.g. "USD", "EUR". */
  readonly currency: string
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
  /**
   * Sender id or E.164 number: the message's own `from`, else its route's sticky sender;
   * null lets the provider pick its default (a Twilio Messaging Service).
   */
  readonly from: string | null
  readonly body: string
  readonly encoding: 'GSM-7' | 'UCS-2'
  readonly segments: number
  /** Epoch milliseconds after which the message must not be delivered. */
  readonly validUntil: number
  /** 1 on the first attempt. */
  readonly attempt: number
  /**
   * The body carries a secret (a verification code; the message log keeps it redacted): an
   * adapter must not log or keep it. The in-process simulator's handset keeps it in memory,
   * as the phone would.
   */
  readonly secret?: boolean
}

/** Normalised outcome of one send attempt. Error codes are documented in docs/errors.md. */
export type SendResult =
  | {
      outcome: 'accepted'
      /** One provider id per part where the provider answers so (Vonage), else one. */
      providerMessageIds: readonly [string, ...string[]]
      /** The price the provider's answer reported, if any (Vonage `message-price`). */
      price?: Price
    }
  | {
      outcome: 'retry'
      code: ProviderErrorCode
      /** Milliseconds the provider asked us to wait (Retry-After). */
      after?: number
      message?: string
      /**
       * `instance`: the provider instance itself is at fault (bad credentials, 401/403):
       * its circuit opens at once and the message moves on or waits, never fails for it.
       */
      fault?: 'instance'
    }
  | {
      /**
       * The request may have reached the provider and its answer was lost (timeout or reset
       * after the request was written): sending again may reach the phone twice.
       */
      outcome: 'unknown'
      code: ProviderErrorCode
      message?: string
    }
  | {
      outcome: 'rejected'
      code: ProviderErrorCode
      message?: string
      /** The recipient opted out of this sender (Twilio 21610): suppress the pair. */
      suppress?: boolean
    }

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
      /** The provider's own error code or status word, kept for the record. */
      providerCode?: string
      /**
       * The part this report is about, where the provider reports parts under the id it
       * answered at send (Plivo `ParentMessageUUID` + `PartInfo`): `id` is the part's own id.
       */
      part?: { readonly id: string; readonly number: number; readonly total: number }
      /** The provider's price for this message or part, if the report carries one. */
      price?: Price
      /** Epoch milliseconds the provider gave for the event, else when we received it. */
      at: number
    }
  | {
      type: 'inbound'
      providerMessageId: string
      /** E.164 (adapters add the "+" where the provider leaves it out). */
      from: string
      /** E.164 number, or the short code / sender id as the provider gives it. */
      to: string
      body: string
      /**
       * One part of a concatenated inbound SMS (Vonage `concat-ref`, `concat-part`,
       * `concat-total`): the ingestor reassembles the parts, in order, into one message.
       */
      concat?: { readonly ref: string; readonly part: number; readonly total: number }
      at: number
    }

export type ProviderEventSink = (provider: string, events: ProviderEvent[]) => void

export interface WebhookRequest {
  /** `status`, `inbound` or another path tail after `/webhooks/{name}/`. */
  readonly kind: string
  /** Full public URL as the provider requested it, including the raw query string. */
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
  'provider_auth_failed',
  /** The provider refuses this account (suspended, out of credit, not enabled for the API). */
  'provider_account_error',
  /** The send may or may not have reached the provider (timeout after the request left). */
  'provider_outcome_unknown',
  // permanent
  'invalid_number',
  'unreachable_destination',
  'blocked_by_carrier',
  'recipient_opted_out',
  'provider_rejected',
  'message_too_long',
  // delivery reports
  'undeliverable',
  'carrier_error',
  // Switchboard-side outcomes
  'validity_expired',
  'max_attempts_exceeded',
  'no_route',
  'no_provider_available',
] as const

export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number]

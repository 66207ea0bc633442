import type { AttemptOutcome } from '../domain/messages/attempts.js'
import type { Price } from '../providers/provider.js'

export { ATTEMPT_OUTCOMES, type AttemptOutcome } from '../domain/messages/attempts.js'

/** One try at sending a message through one provider instance (the `attempts` table). */
export interface AttemptRecord {
  /** The message's attempt number: its `attempts` after the claim that started this try. */
  number: number
  /** Provider instance name. */
  provider: string
  /** The sender the request named (null: the provider's default). */
  sender: string | null
  /** Epoch milliseconds: when the try started and when its outcome was known. */
  startedAt: number
  endedAt: number
  outcome: AttemptOutcome
  errorCode: string | null
  /** Milliseconds the provider took to answer (the request alone, without pacing waits). */
  latencyMs: number
  /** Estimated cost of this try (segments x the price table's price), if a price is known. */
  cost?: Price
}

/** The worker's decision for one claimed message, already resolved by the domain. */
export type OutcomeWrite =
  | {
      kind: 'sent'
      id: string
      provider: string
      /**
       * One provider id per part where the provider answered so, else one; none when the
       * send's outcome is unknown and it is sent no more (`errorCode`).
       */
      providerMessageIds: readonly string[]
      /** `provider_outcome_unknown` for such a send; else absent. */
      errorCode?: string | null
      errorMessage?: string | null
      /** The sender it went out through: its own `from`, else its route's sticky sender. */
      sender: string | null
      /** Segments x the price table's price for the destination, if the table has one. */
      estimatedCost?: Price
      /** The price the provider's answer reported (Vonage `message-price`). */
      price?: Price
      attempt?: AttemptRecord
    }
  | {
      /** Not sent (no instance could take it, or pacing ran out of time): queued again. */
      kind: 'release'
      id: string
      nextAttemptAt: number
      /** Null keeps the message's error code (the previous attempt's). */
      errorCode: string | null
      /** Its timeline detail (default: not sent; retry at). */
      detail?: string | undefined
      attempt?: undefined
    }
  | {
      kind: 'retry'
      id: string
      provider: string | null
      nextAttemptAt: number
      errorCode: string
      errorMessage: string | null
      attempt?: AttemptRecord
    }
  | {
      kind: 'final'
      id: string
      provider: string | null
      status: 'failed' | 'expired' | 'rejected'
      errorCode: string
      errorMessage: string | null
      attempt?: AttemptRecord
    }

import type { TxProgram } from '../../store/executor.js'

/** A verification send the abuse protection is asked about (before it is made). */
export interface GuardRequest {
  /** E.164. */
  readonly to: string
  /** ISO 3166-1 alpha-2, or null (non-geographic). */
  readonly country: string | null
  /** The destination range velocity detection and prefix limits group by. */
  readonly prefix: string
  /** As the caller passed it (`clientIp`), or null. */
  readonly clientIp: string | null
  readonly now: number
}

/** Allowed, or refused with a registry error code, its HTTP status and when to retry. */
export type GuardVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false
      /** A code of src/domain/errors.ts. */
      readonly code: string
      readonly status: 403 | 429
      /** Seconds, for `Retry-After` where it applies. */
      readonly retryAfterSeconds?: number
      readonly details?: Record<string, unknown>
    }

/**
 * The Verify abuse protection (issue 10 point 6): limits per number, client IP and destination
 * prefix, the country allow list, and velocity blocks. Both programs run in the transaction of
 * the send they are about, so concurrent requests for one number count each other.
 */
export interface VerifyGuard {
  /** Before a verification SMS is sent. */
  admit(req: GuardRequest): TxProgram<GuardVerdict>
  /**
   * After a check approved a verification (velocity detection compares sends with approvals).
   * The send itself is recorded by the Verify flow as a `verification_sends` row.
   */
  approved(req: { readonly verificationId: string; readonly now: number }): TxProgram<void>
}

import type { ProviderErrorCode, SendResult } from '../../providers/provider.js'
import type { MessageRecord } from './message.js'

export interface RetryPolicy {
  readonly retryBaseMs: number
  readonly retryMaxMs: number
  readonly maxAttempts: number
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries
 * from a burst of failures spread out but never come back sooner than half the backoff.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const exp = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(exp / 2 + (exp / 2) * random())
}

export type RetryDecision =
  | {
      kind: 'retry'
      nextAttemptAt: number
      errorCode: ProviderErrorCode
      errorMessage: string | null
    }
  | {
      kind: 'final'
      status: 'failed' | 'expired'
      errorCode: ProviderErrorCode
      errorMessage: string | null
    }

/**
 * What to do after a retryable provider result: try again later, or stop because the
 * validity period would run out first (expired) or the attempts are used up (failed).
 * `delayMs` replaces the backoff (and Retry-After): 0 when another provider instance takes the
 * next attempt at once (failover).
 */
export function decideRetry(
  m: Pick<MessageRecord, 'attempts' | 'valid_until'>,
  result: Extract<SendResult, { outcome: 'retry' }>,
  now: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
  delayMs?: number,
): RetryDecision {
  const last = `last error: ${result.code}`
  if (m.attempts >= policy.maxAttempts) {
    return {
      kind: 'final',
      status: 'failed',
      errorCode: 'max_attempts_exceeded',
      errorMessage: last,
    }
  }
  const delay = delayMs ?? Math.max(result.after ?? 0, backoffDelay(m.attempts, policy, random))
  const next = Math.round(now + delay)
  if (next >= m.valid_until) {
    return { kind: 'final', status: 'expired', errorCode: 'validity_expired', errorMessage: last }
  }
  return {
    kind: 'retry',
    nextAttemptAt: next,
    errorCode: result.code,
    errorMessage: result.message ?? null,
  }
}

/**
 * What one try at sending a message came to: the provider's answer (accepted, a retryable
 * failure, an answer lost so the message may have gone, a permanent refusal), or `expired`
 * when the message's validity ran out.
 */
export const ATTEMPT_OUTCOMES = ['accepted', 'retry', 'unknown', 'rejected', 'expired'] as const
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number]

import type { Admission } from './circuit.js'
import type { Route } from './route.js'

/** What the message's record says of its previous attempt (its `provider` and `error_code`). */
export interface LastAttempt {
  readonly provider: string | null
  readonly code: string | null
}

/** The circuits, as selection sees them. */
export interface Gate {
  admit(name: string, now: number): Admission
  peek(name: string, now: number): boolean
}

export type Selection =
  | { outcome: 'send'; provider: string; probe: boolean }
  /**
   * No instance may take it now: it waits until `until` without using up an attempt.
   * `no_provider_available`: every instance of its route is open. `provider_outcome_unknown`:
   * its previous send's outcome is unknown and only that instance may take it again.
   */
  | { outcome: 'wait'; until: number; code: 'no_provider_available' | 'provider_outcome_unknown' }
  /** Its previous send's outcome is unknown and the instance that had it no longer exists. */
  | { outcome: 'stop' }

export const OUTCOME_UNKNOWN = 'provider_outcome_unknown'

/**
 * Which instance the next send of a message goes to. A first attempt starts at the route's
 * first instance; after a failure, at the one after the instance that failed (round the list),
 * so a retryable failure moves the message on. Instances whose circuit is open are skipped.
 * After an unknown outcome, the message stays with the instance that had it unless its route
 * says `failoverOnTimeout`: sending it elsewhere may reach the phone twice.
 */
export function selectInstance(
  route: Route,
  last: LastAttempt,
  gate: Gate,
  now: number,
  exists: (name: string) => boolean,
): Selection {
  if (last.code === OUTCOME_UNKNOWN && last.provider !== null && !route.failoverOnTimeout) {
    if (!exists(last.provider)) return { outcome: 'stop' }
    const a = gate.admit(last.provider, now)
    return a.admitted
      ? { outcome: 'send', provider: last.provider, probe: a.probe }
      : { outcome: 'wait', until: a.until, code: OUTCOME_UNKNOWN }
  }
  const list = route.providers
  const after = last.provider === null ? -1 : list.indexOf(last.provider)
  let until = Infinity
  for (let k = 1; k <= list.length; k++) {
    const name = list[(after + k + list.length) % list.length]
    if (name === undefined || !exists(name)) continue
    const a = gate.admit(name, now)
    if (a.admitted) return { outcome: 'send', provider: name, probe: a.probe }
    until = Math.min(until, a.until)
  }
  return {
    outcome: 'wait',
    until: Number.isFinite(until) ? until : now,
    code: 'no_provider_available',
  }
}

/**
 * What follows a failed send through `provider`:
 * - `failover`: the next instance after it on the route (not round to the start) may take the
 *   message now: retry at once, there (a provider's Retry-After is its own).
 * - `backoff`: retry later, after the usual backoff (and the provider's Retry-After).
 * - `give_up_unknown`: the outcome is unknown and no resend is safe: send it no more.
 */
export type FailurePlan = 'failover' | 'backoff' | 'give_up_unknown'

export function planAfterFailure(
  route: Route | undefined,
  provider: string,
  outcome: 'retry' | 'unknown',
  deduplicates: boolean,
  gate: Pick<Gate, 'peek'>,
  now: number,
): FailurePlan {
  if (outcome === 'unknown' && !route?.failoverOnTimeout) {
    return deduplicates ? 'backoff' : 'give_up_unknown'
  }
  if (!route) return 'backoff'
  const at = route.providers.indexOf(provider)
  if (at < 0) return 'backoff'
  const next = route.providers.slice(at + 1).some((name) => gate.peek(name, now))
  return next ? 'failover' : 'backoff'
}

export type CircuitState = 'closed' | 'open' | 'half-open'

export interface CircuitOptions {
  /** Consecutive failures that open the circuit (CIRCUIT_FAILURES). */
  readonly failures: number
  /** How long it stays open before one probe may go through (CIRCUIT_COOLDOWN_MS). */
  readonly cooldownMs: number
}

/**
 * Whether a send may go to the instance now. `probe`: it is the one send let through a
 * half-open circuit, and its result decides whether the circuit closes or opens again.
 * `until`: when asking again may succeed.
 */
export type Admission = { admitted: true; probe: boolean } | { admitted: false; until: number }

export interface CircuitView {
  readonly state: CircuitState
  readonly consecutiveFailures: number
  /** Epoch ms the circuit last opened; null while closed. */
  readonly openedAt: number | null
  /** Epoch ms a probe may go through; null while closed or while a probe is under way. */
  readonly nextProbeAt: number | null
}

/** How long senders wait for a probe under way before asking again (capped by the cooldown). */
const PROBE_WAIT_MS = 1000

/**
 * A circuit breaker for one provider instance, on an injected clock. Closed: every send goes
 * through; `failures` consecutive failures (or one instance fault: refused credentials) open
 * it. Open: nothing goes through until `cooldownMs` has passed; then one probe does (half-open)
 * and its success closes the circuit, its failure opens it for another cooldown. Results of
 * sends admitted before the circuit opened count as failures shown, never as the probe.
 */
export class CircuitBreaker {
  readonly #o: CircuitOptions
  #state: CircuitState = 'closed'
  #consecutive = 0
  #openedAt: number | null = null
  #probing = false

  constructor(o: CircuitOptions) {
    this.#o = o
  }

  get state(): CircuitState {
    return this.#state
  }

  /** Would {@link admit} let a send through now? (No side effects.) */
  peek(now: number): boolean {
    if (this.#state === 'closed') return true
    if (this.#probing) return false
    return this.#state === 'half-open' || now >= this.#probeAt()
  }

  /** Asks to send now; a half-open probe is handed out once until its result is recorded. */
  admit(now: number): Admission {
    if (this.#state === 'closed') return { admitted: true, probe: false }
    if (this.#probing) {
      return { admitted: false, until: now + Math.min(PROBE_WAIT_MS, this.#o.cooldownMs) }
    }
    if (this.#state === 'open' && now < this.#probeAt()) {
      return { admitted: false, until: this.#probeAt() }
    }
    this.#state = 'half-open'
    this.#probing = true
    return { admitted: true, probe: true }
  }

  /** An admitted send was not made after all (it waited too long to be paced): give back a probe. */
  cancel(probe: boolean): void {
    if (probe) this.#probing = false
  }

  /** The instance answered (accepted or refused the message on its merits). */
  success(probe: boolean): void {
    this.#consecutive = 0
    if (probe || this.#state === 'closed') {
      this.#state = 'closed'
      this.#openedAt = null
      this.#probing = false
    }
  }

  /**
   * The instance failed: a retryable answer, no answer, or an unknown outcome. `instance`: a
   * fault of the instance itself (refused credentials), which opens the circuit at once.
   */
  failure(probe: boolean, now: number, instance = false): void {
    this.#consecutive++
    if (probe) {
      this.#open(now)
    } else if (this.#state === 'closed' && (instance || this.#consecutive >= this.#o.failures)) {
      this.#open(now)
    }
  }

  view(): CircuitView {
    return {
      state: this.#state,
      consecutiveFailures: this.#consecutive,
      openedAt: this.#openedAt,
      nextProbeAt: this.#state === 'closed' || this.#probing ? null : this.#probeAt(),
    }
  }

  #probeAt(): number {
    return (this.#openedAt ?? 0) + this.#o.cooldownMs
  }

  #open(now: number): void {
    this.#state = 'open'
    this.#openedAt = now
    this.#probing = false
  }
}

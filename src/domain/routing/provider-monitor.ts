import { CircuitBreaker, type Admission, type CircuitOptions, type CircuitView } from './circuit.js'
import { HealthWindow, type HealthView } from './health.js'

/** How a send's result counts for its instance. */
export type SendVerdict =
  /** The provider answered: accepted, or refused the message on its merits. */
  | 'success'
  /** A retryable answer, no answer in time, or an unknown outcome. */
  | 'failure'
  /** The instance itself is at fault (refused credentials): its circuit opens at once. */
  | 'instance_fault'

/** One instance's health and circuit, as the sending process sees them. */
export interface InstanceHealth {
  readonly name: string
  readonly health: HealthView
  readonly circuit: CircuitView
}

/**
 * What `GET /v1/providers` reads: `live` from the process that sends (its own thread or the
 * background thread), or `snapshot`: what the sending processes of a cluster last wrote to the
 * database, merged per instance.
 */
export interface HealthReading {
  readonly source: 'live' | 'snapshot'
  readonly instances: readonly InstanceHealth[]
}

/**
 * The circuits and recent health of every provider instance of the process that sends. It is
 * the gate dispatch asks before each send and the record `GET /v1/providers` reads.
 */
export class ProviderMonitor {
  readonly #instances = new Map<string, { circuit: CircuitBreaker; health: HealthWindow }>()

  constructor(names: readonly string[], o: CircuitOptions & { windowMs?: number }) {
    for (const name of names) {
      this.#instances.set(name, {
        circuit: new CircuitBreaker(o),
        health: new HealthWindow(o.windowMs),
      })
    }
  }

  admit(name: string, now: number): Admission {
    return this.#get(name).circuit.admit(now)
  }

  peek(name: string, now: number): boolean {
    return this.#get(name).circuit.peek(now)
  }

  /** An admitted send was not made (see CircuitBreaker.cancel). */
  cancel(name: string, probe: boolean): void {
    this.#get(name).circuit.cancel(probe)
  }

  record(name: string, probe: boolean, verdict: SendVerdict, latencyMs: number, now: number): void {
    const i = this.#get(name)
    i.health.record(now, verdict === 'success', latencyMs)
    if (verdict === 'success') i.circuit.success(probe)
    else i.circuit.failure(probe, now, verdict === 'instance_fault')
  }

  snapshot(now: number): InstanceHealth[] {
    return [...this.#instances].map(([name, i]) => ({
      name,
      health: i.health.view(now),
      circuit: i.circuit.view(),
    }))
  }

  #get(name: string) {
    const i = this.#instances.get(name)
    if (!i) throw new Error(`no provider instance named ${name}`)
    return i
  }
}

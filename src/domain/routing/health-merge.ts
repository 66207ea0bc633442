import type { CircuitState } from './circuit.js'
import type { InstanceHealth } from './provider-monitor.js'

const SEVERITY: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 }

const minOf = (xs: (number | null)[]): number | null => {
  const known = xs.filter((x): x is number => x !== null)
  return known.length === 0 ? null : Math.min(...known)
}
const maxOf = (xs: (number | null)[]): number | null => {
  const known = xs.filter((x): x is number => x !== null)
  return known.length === 0 ? null : Math.max(...known)
}

/**
 * One instance as several sending processes see it (cluster mode: each has its own circuits
 * and window): sends summed, the success rate over all of them, the worse latency percentiles,
 * the longest run of failures, and the most severe circuit (open anywhere reads open), with
 * the earliest time it opened and the earliest next probe.
 */
export function mergeHealth(views: readonly InstanceHealth[]): InstanceHealth | undefined {
  const first = views[0]
  if (!first || views.length === 1) return first
  const sends = views.reduce((n, v) => n + v.health.sends, 0)
  const ok = views.reduce((n, v) => n + (v.health.successRate ?? 0) * v.health.sends, 0)
  const worst = views.reduce((w, v) =>
    SEVERITY[v.circuit.state] > SEVERITY[w.circuit.state] ? v : w,
  )
  const same = views.filter((v) => v.circuit.state === worst.circuit.state)
  return {
    name: first.name,
    health: {
      sends,
      successRate: sends === 0 ? null : ok / sends,
      latencyP50Ms: maxOf(views.map((v) => v.health.latencyP50Ms)),
      latencyP99Ms: maxOf(views.map((v) => v.health.latencyP99Ms)),
      windowMs: first.health.windowMs,
    },
    circuit: {
      state: worst.circuit.state,
      consecutiveFailures: Math.max(...views.map((v) => v.circuit.consecutiveFailures)),
      openedAt: minOf(same.map((v) => v.circuit.openedAt)),
      nextProbeAt: minOf(same.map((v) => v.circuit.nextProbeAt)),
    },
  }
}

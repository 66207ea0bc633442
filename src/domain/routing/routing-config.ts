import { parsePrices, type PriceEntry } from './prices.js'
import { defaultRoutes, parseRoutes, senderLimits, type Route } from './route.js'

/** The routing part of the configuration (docs/routing.md). */
export interface RoutingConfig {
  /** `ROUTES` in order, or one default route over every provider instance. */
  readonly routes: readonly Route[]
  /** Whether the routes come from `ROUTES` (else they are the default one). */
  readonly configured: boolean
  /** `PRICES`: per provider instance and destination country, per segment. */
  readonly prices: readonly PriceEntry[]
  readonly circuit: {
    /** `CIRCUIT_FAILURES`: consecutive failures that open an instance's circuit. */
    readonly failures: number
    /** `CIRCUIT_COOLDOWN_MS`: how long it stays open before a probe. */
    readonly cooldownMs: number
  }
}

/**
 * Reads `ROUTES` and `PRICES` (JSON values, undefined when unset) against the configured
 * instance names. Every problem goes to `problems`, prefixed with its key.
 */
export function readRouting(
  raw: { routes: unknown; prices: unknown; circuitFailures: number; circuitCooldownMs: number },
  instances: readonly string[],
  problems: string[],
): RoutingConfig {
  let routes = defaultRoutes(instances)
  if (raw.routes !== undefined) {
    const parsed = parseRoutes(raw.routes, instances)
    problems.push(...parsed.problems.map((p) => `ROUTES${p.startsWith('[') ? '' : ' '}${p}`))
    problems.push(...senderLimits(parsed.routes).problems.map((p) => `ROUTES: ${p}`))
    routes = parsed.routes
  }
  let prices: PriceEntry[] = []
  if (raw.prices !== undefined) {
    const parsed = parsePrices(raw.prices, instances)
    problems.push(...parsed.problems.map((p) => `PRICES${p.startsWith('[') ? '' : ' '}${p}`))
    prices = parsed.prices
  }
  return {
    routes,
    configured: raw.routes !== undefined,
    prices,
    circuit: { failures: raw.circuitFailures, cooldownMs: raw.circuitCooldownMs },
  }
}

import { parsePhone } from '../messages/phone.js'
import type { Route } from './route.js'
import { pickSender } from './sticky-sender.js'

/** What routing looks at in a message. */
export interface Routable {
  /** E.164 destination. */
  readonly to: string
  readonly type: 'transactional' | 'marketing'
  /** The message's own sender, or null. */
  readonly from: string | null
}

/** Where a message goes: its route, and the sender it goes out from (null: provider default). */
export interface RouteChoice {
  readonly route: Route
  /** Position of the route in `ROUTES` (0 for the default route without ROUTES). */
  readonly index: number
  readonly sender: string | null
}

/** The destination's country (ISO 3166-1 alpha-2), or undefined (a non-geographic number). */
export function countryOf(e164: string): string | undefined {
  const p = parsePhone(e164)
  return p.ok ? p.country : undefined
}

/**
 * Routes in order, first match wins. A message with its own `from` keeps it; one without takes
 * its route's sticky sender for the recipient (null when the route has no senders).
 *
 * @example
 * new Router(config.routing.routes).choose({ to: '+14155550100', type: 'marketing', from: null })
 */
export class Router {
  readonly #routes: readonly Route[]
  /** The first route takes every message: no lookups needed. */
  readonly #first: Route | undefined

  constructor(routes: readonly Route[]) {
    this.#routes = routes
    this.#first = routes[0]?.match === undefined ? routes[0] : undefined
  }

  get routes(): readonly Route[] {
    return this.#routes
  }

  /** The route that takes `m` and its sender, or undefined: no route accepts it. */
  choose(m: Routable): RouteChoice | undefined {
    const index = this.#index(m)
    const route = index === undefined ? undefined : this.#routes[index]
    if (index === undefined || route === undefined) return undefined
    return { route, index, sender: m.from ?? pickSender(m.to, route.senders) }
  }

  /** Whether some route accepts `m` (intake's check). */
  accepts(m: Routable): boolean {
    return this.#index(m) !== undefined
  }

  #index(m: Routable): number | undefined {
    if (this.#first) return 0
    let country: string | null | undefined = null
    for (let i = 0; i < this.#routes.length; i++) {
      const match = this.#routes[i]?.match
      if (!match) return i
      if (match.type !== undefined && match.type !== m.type) continue
      if (match.from !== undefined && match.from !== m.from) continue
      if (match.prefixes && !match.prefixes.some((p) => m.to.startsWith(p))) continue
      if (match.countries) {
        if (country === null) country = countryOf(m.to)
        if (country === undefined || !match.countries.includes(country)) continue
      }
      return i
    }
    return undefined
  }
}

/** GET /v1/stats (docs/stats.md), as the overview reads it. */
export interface Cost {
  currency: string | null
  amount: number
}

export interface Measures {
  messages: number
  delivered: number
  failed: number
  deliveryRate: number | null
  segments: number
  cost: Cost[]
  inbound: number
}

export interface Point extends Measures {
  start: string
  optOuts: number
}

export interface Latency {
  count: number
  p50: number | null
  p90: number | null
  p99: number | null
}

export interface Reason {
  reason: string
  count: number
}

export interface Stats {
  from: string
  to: string
  granularity: 'hour' | 'day'
  groupBy: string | null
  generatedAt: string
  points: Point[]
  totals: Measures & {
    optOuts: number
    failuresByReason: { errorCode: string | null; count: number }[]
    latency: Latency
    refusals: { consent: Reason[]; verify: Reason[] }
  }
}

/** GET /v1/providers (admin), the parts the health panel shows. */
export interface ProviderInstance {
  name: string
  type: string
  health: {
    sends: number
    successRate: number | null
    latencyP50Ms: number | null
    latencyP99Ms: number | null
    consecutiveFailures: number
  } | null
  circuit: { state: 'closed' | 'open' | 'half-open' } | null
}

import type { ConfigEntry, ProviderBase, ProviderType } from '../provider-type.js'
import { createSimulatorHttpProvider } from './simulator-http.provider.js'
import { RULE_OUTCOMES, type SimulatorRule } from './simulator-options.js'
import { createSimulatorProvider } from './simulator.provider.js'

/** Settings of an in-process simulator instance (`"type": "simulator"`). */
export interface SimulatorSettings extends ProviderBase {
  readonly type: 'simulator'
  readonly seed: number
  readonly latencyMs: { readonly min: number; readonly max: number }
  readonly dlrDelayMs: number
  readonly transientRate: number
  /** Retry-After carried by simulated 429 answers, in milliseconds. */
  readonly retryAfterMs: number
  readonly permanentRate: number
  readonly undeliveredRate: number
  readonly rules: readonly SimulatorRule[]
  readonly dedupe: boolean
  /** The phone numbers it owns (SIMULATOR_NUMBERS): a message without a sender goes from the first. */
  readonly numbers: readonly string[]
}

/** Settings of a simulator reached over HTTP (`"type": "simulator-http"`). */
export interface SimulatorHttpSettings extends ProviderBase {
  readonly type: 'simulator-http'
  readonly url: string
  readonly webhookSecret: string
}

const LATENCY = /^(\d+)(?:-(\d+))?$/

/** `"N"`, `"MIN-MAX"` or a number of milliseconds; undefined when malformed. */
export function parseLatency(raw: string | number): { min: number; max: number } | undefined {
  if (typeof raw === 'number')
    return Number.isInteger(raw) && raw >= 0 ? { min: raw, max: raw } : undefined
  const m = LATENCY.exec(raw)
  if (!m) return undefined
  const min = Number(m[1])
  return { min, max: m[2] ? Number(m[2]) : min }
}

export function checkSimulatorRules(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be an array of { match, outcome }'
  for (const rule of v as unknown[]) {
    const r = rule as { match?: unknown; outcome?: unknown }
    if (
      typeof r?.match !== 'string' ||
      !(RULE_OUTCOMES as readonly unknown[]).includes(r.outcome)
    ) {
      return `each rule needs a string "match" and an outcome in ${RULE_OUTCOMES.join(', ')}`
    }
  }
  return undefined
}

export const simulatorType: ProviderType<SimulatorSettings> = {
  parse(e: ConfigEntry, base: ProviderBase): SimulatorSettings {
    const rawLatency = e.json<string | number>('latencyMs', 0, (v) =>
      (typeof v === 'string' || typeof v === 'number') && parseLatency(v)
        ? undefined
        : 'must be milliseconds, "N" or "MIN-MAX"',
    )
    return {
      ...base,
      type: 'simulator',
      seed: e.num('seed', 1),
      latencyMs: parseLatency(rawLatency) ?? { min: 0, max: 0 },
      dlrDelayMs: e.num('dlrDelayMs', 50),
      transientRate: e.num('transientRate', 0, 0, 1, false),
      retryAfterMs: e.num('retryAfterMs', 1000),
      permanentRate: e.num('permanentRate', 0, 0, 1, false),
      undeliveredRate: e.num('undeliveredRate', 0, 0, 1, false),
      rules: e.json<SimulatorRule[]>('rules', [], checkSimulatorRules),
      dedupe: e.bool('dedupe', true),
      // Filled from SIMULATOR_NUMBERS by the config reader.
      numbers: ['+15005550006'],
    }
  },
  describe: (c) => ({ seed: c.seed, dlrDelayMs: c.dlrDelayMs }),
  callbackAuth: () => 'no-callbacks',
  // Reports are stamped with the server's clock (injected in tests), like the messages they are about.
  create: (c, ctx) => createSimulatorProvider({ ...c, now: ctx.now }),
}

export const simulatorHttpType: ProviderType<SimulatorHttpSettings> = {
  parse(e: ConfigEntry, base: ProviderBase): SimulatorHttpSettings {
    const url = e.str('url', { required: true })
    if (url && !/^https?:\/\/[^/]/.test(url)) e.problem('"url" must be an http(s) URL')
    return {
      ...base,
      type: 'simulator-http',
      url,
      webhookSecret: e.str('webhookSecret') ?? 'simulator-dev-secret',
    }
  },
  describe: (c) => ({ url: c.url }),
  callbackAuth: () => 'signature',
  create: (c, ctx) =>
    createSimulatorHttpProvider({
      name: c.name,
      url: c.url,
      webhookSecret: c.webhookSecret,
      now: ctx.now,
    }),
}

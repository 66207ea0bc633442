/** Options and public types of the simulator, plus their validation. */

/** Transient failure kinds an attempt can suffer. */
export type TransientKind = 'server_error' | 'rate_limited' | 'timeout'

/** Every outcome a destination rule can force. */
export const RULE_OUTCOMES = [
  'server_error',
  'rate_limited',
  'timeout',
  'invalid_number',
  'opted_out',
  'undelivered',
  'delivered',
] as const
export type RuleOutcome = (typeof RULE_OUTCOMES)[number]

/**
 * Destination rule: overrides the rates for matching numbers. `match` is a prefix such as
 * `+1555`, or a regular expression written as `/.../` (optionally with flags, `/.../i`).
 * Transient outcomes from a rule apply to every attempt.
 */
export interface SimulatorRule {
  match: string
  outcome: RuleOutcome
}

/** A delivery report produced by the simulator for an accepted message. */
export interface SimulatorReport {
  messageId: string
  providerMessageId: string
  status: 'delivered' | 'undelivered'
  errorCode?: 'undeliverable'
  /** Epoch milliseconds. */
  at: number
}

export type ReportHandler = (reports: SimulatorReport[]) => void

export interface SimulatorOptions {
  /** Every decision is a pure function of (seed, message id, attempt). Default 1. */
  seed?: number
  /** Per-send latency range, chosen deterministically. Default 0/0. */
  latencyMs?: { min: number; max: number }
  /** Delay between acceptance and its delivery report. Default 50. */
  dlrDelayMs?: number
  /** Fraction of attempts failing transiently, split evenly over `transientKinds`. Default 0. */
  transientRate?: number
  /** Transient kinds in use. Default all three. */
  transientKinds?: readonly TransientKind[]
  /** Retry-After reported with `rate_limited`. Default 1000. */
  retryAfterMs?: number
  /** Fraction of message ids rejected as `invalid_number`. Default 0. */
  permanentRate?: number
  /** Fraction of accepted message ids reported `undelivered`. Default 0. */
  undeliveredRate?: number
  /** Destination rules; the first match wins and overrides the rates. */
  rules?: readonly SimulatorRule[]
  /** A repeated acceptance of one message id reuses the first sid and report. Default true. */
  dedupe?: boolean
  /** Maximum reports per handler call. Default 500. */
  maxReportBatch?: number
  /** Minimum spacing between report flushes, which coalesces reports into batches. Default 5. */
  minFlushIntervalMs?: number
  /** Wall clock used for report timestamps. Default `Date.now`. */
  now?: () => number
  /** Monotonic clock (ms) that report due times are measured on. Default `performance.now`. */
  monotonic?: () => number
  /** Receives delivery reports; reports are only produced while a handler is attached. */
  onReports?: ReportHandler
  /** Called when a report handler throws. Default: emits a process warning. */
  onError?: (error: unknown) => void
}

export interface CompiledRule {
  test: (to: string) => boolean
  outcome: RuleOutcome
}

export interface ResolvedSimulatorOptions {
  seed: number
  latencyMin: number
  latencyMax: number
  dlrDelayMs: number
  transientRate: number
  transientKinds: readonly TransientKind[]
  retryAfterMs: number
  permanentRate: number
  undeliveredRate: number
  rules: readonly CompiledRule[]
  dedupe: boolean
  maxReportBatch: number
  minFlushIntervalMs: number
  now: () => number
  monotonic: () => number
  onError: (error: unknown) => void
}

const ALL_TRANSIENT: readonly TransientKind[] = ['server_error', 'rate_limited', 'timeout']

function rate(name: string, value: number | undefined): number {
  const v = value ?? 0
  if (!Number.isFinite(v) || v < 0 || v > 1) throw new RangeError(`${name} must be within 0..1`)
  return v
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be >= 0`)
  return value
}

/** Compiles destination rules; throws RangeError on an invalid one. */
export function compileRules(rules: readonly SimulatorRule[]): CompiledRule[] {
  return rules.map(compileRule)
}

function compileRule(rule: SimulatorRule, index: number): CompiledRule {
  if (!(RULE_OUTCOMES as readonly string[]).includes(rule.outcome)) {
    throw new RangeError(`rules[${index}].outcome is not a known outcome`)
  }
  const regex = /^\/(.+)\/([a-z]*)$/.exec(rule.match)
  if (regex) {
    let re: RegExp
    try {
      re = new RegExp(regex[1] ?? '', (regex[2] ?? '').replace(/[gy]/g, ''))
    } catch {
      throw new RangeError(`rules[${index}].match is not a valid regular expression`)
    }
    return { test: (to) => re.test(to), outcome: rule.outcome }
  }
  const prefix = rule.match
  return { test: (to) => to.startsWith(prefix), outcome: rule.outcome }
}

function defaultOnError(error: unknown): void {
  const text = error instanceof Error ? error.message : String(error)
  process.emitWarning(`simulator report handler failed: ${text}`)
}

/** Applies defaults and validates; throws RangeError on invalid options. */
export function resolveSimulatorOptions(options: SimulatorOptions): ResolvedSimulatorOptions {
  const latency = options.latencyMs ?? { min: 0, max: 0 }
  const latencyMin = nonNegative('latencyMs.min', latency.min)
  const latencyMax = nonNegative('latencyMs.max', latency.max)
  if (latencyMax < latencyMin) throw new RangeError('latencyMs.max must be >= latencyMs.min')
  const kinds = options.transientKinds ?? ALL_TRANSIENT
  if (kinds.length === 0 || kinds.some((k) => !ALL_TRANSIENT.includes(k))) {
    throw new RangeError('transientKinds must be a non-empty list of transient kinds')
  }
  const maxReportBatch = options.maxReportBatch ?? 500
  if (!Number.isInteger(maxReportBatch) || maxReportBatch < 1) {
    throw new RangeError('maxReportBatch must be a positive integer')
  }
  const seed = options.seed ?? 1
  if (!Number.isFinite(seed)) throw new RangeError('seed must be a finite number')
  return {
    seed,
    latencyMin,
    latencyMax,
    dlrDelayMs: nonNegative('dlrDelayMs', options.dlrDelayMs ?? 50),
    transientRate: rate('transientRate', options.transientRate),
    transientKinds: [...kinds],
    retryAfterMs: nonNegative('retryAfterMs', options.retryAfterMs ?? 1000),
    permanentRate: rate('permanentRate', options.permanentRate),
    undeliveredRate: rate('undeliveredRate', options.undeliveredRate),
    rules: compileRules(options.rules ?? []),
    dedupe: options.dedupe ?? true,
    maxReportBatch,
    minFlushIntervalMs: nonNegative('minFlushIntervalMs', options.minFlushIntervalMs ?? 5),
    now: options.now ?? Date.now,
    monotonic: options.monotonic ?? (() => performance.now()),
    onError: options.onError ?? defaultOnError,
  }
}

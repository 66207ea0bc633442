import type { ProviderContext, SmsProvider } from './provider.js'

/** The settings every provider instance has, whatever its type. */
export interface ProviderBase {
  /** Unique instance name, `[a-z0-9-]+`: the `/webhooks/{name}/...` path and the API's name. */
  readonly name: string
  readonly type: string
  /** Segments per second this instance may be sent; undefined: no limit. */
  readonly mps: number | undefined
}

/**
 * One provider type: owns its configuration schema (`parse`), what of it may be shown
 * (`describe`), how its callbacks prove they come from the provider (`callbackAuth`), and the
 * adapter factory. src/providers/registry.ts maps type names to these, one line each.
 */
export interface ProviderType<C extends ProviderBase> {
  /** Reads the type's own keys of one `PROVIDERS` entry; every problem goes to `entry`. */
  parse(entry: ConfigEntry, base: ProviderBase): C
  /** The instance's settings safe to show (`GET /v1/providers`): no secret, even in part. */
  describe(config: C): Record<string, unknown>
  /**
   * How its callbacks are authenticated: `signature` (the provider signs them), `token`
   * (Switchboard's random `?token=` on the URLs it registers), `none` (refused at boot when
   * the type has callbacks), or `no-callbacks` (the provider pushes events in-process).
   */
  callbackAuth(config: C): 'signature' | 'token' | 'none' | 'no-callbacks'
  create(config: C, ctx: ProviderContext): SmsProvider
}

/** Keys every entry may have besides its type's own. */
const BASE_KEYS = new Set(['name', 'type', 'mps'])

/**
 * A reader over one `PROVIDERS` entry. Problems are collected (boot reports every problem at
 * once) with the entry's position and name; keys the type never read are reported as unknown.
 */
export class ConfigEntry {
  readonly #read = new Set<string>(BASE_KEYS)

  constructor(
    readonly raw: Readonly<Record<string, unknown>>,
    private readonly label: string,
    private readonly problems: string[],
  ) {}

  problem(message: string): void {
    this.problems.push(`${this.label}: ${message}`)
  }

  /** A string setting; `required` ones report their absence. */
  str(key: string, o: { required: true }): string
  str(key: string, o?: { required?: false; pattern?: RegExp; hint?: string }): string | undefined
  str(
    key: string,
    o: { required?: boolean; pattern?: RegExp; hint?: string } = {},
  ): string | undefined {
    this.#read.add(key)
    const v = this.raw[key]
    if (v === undefined || v === null || v === '') {
      if (o.required) this.problem(`"${key}" is required`)
      return o.required ? '' : undefined
    }
    if (typeof v !== 'string') {
      this.problem(`"${key}" must be a string`)
      return o.required ? '' : undefined
    }
    if (o.pattern && !o.pattern.test(v)) {
      this.problem(`"${key}" ${o.hint ?? `must match ${String(o.pattern)}`}`)
    }
    return v
  }

  num(key: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER, integer = true): number {
    this.#read.add(key)
    const v = this.raw[key]
    if (v === undefined || v === null) return def
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
    if (
      typeof n !== 'number' ||
      !Number.isFinite(n) ||
      n < min ||
      n > max ||
      (integer && !Number.isInteger(n))
    ) {
      this.problem(
        `"${key}" must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`,
      )
      return def
    }
    return n
  }

  bool(key: string, def: boolean): boolean {
    this.#read.add(key)
    const v = this.raw[key]
    if (v === undefined || v === null) return def
    if (typeof v === 'boolean') return v
    this.problem(`"${key}" must be true or false`)
    return def
  }

  oneOf<T extends string>(key: string, values: readonly T[], def: T): T {
    this.#read.add(key)
    const v = this.raw[key]
    if (v === undefined || v === null || v === '') return def
    const found = values.find((x) => x === v)
    if (!found) this.problem(`"${key}" must be one of ${values.join(', ')}`)
    return found ?? def
  }

  /** Any JSON value, checked by `check` (returns a problem or undefined). */
  json<T>(key: string, def: T, check: (v: unknown) => string | undefined): T {
    this.#read.add(key)
    const v = this.raw[key]
    if (v === undefined || v === null) return def
    const problem = check(v)
    if (problem) {
      this.problem(`"${key}" ${problem}`)
      return def
    }
    return v as T
  }

  /**
   * An HTTP base URL (`baseUrl`): https, or http to a loopback address (a local server that
   * speaks the provider's API); no credentials, query or fragment. Returned without a trailing
   * slash.
   */
  baseUrl(def: string): string {
    const v = this.str('baseUrl')
    if (v === undefined) return def
    let u: URL
    try {
      u = new URL(v)
    } catch {
      this.problem('"baseUrl" must be an absolute http(s) URL')
      return def
    }
    const loopback = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/i.test(u.hostname)
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
      this.problem('"baseUrl" must be https (plain http only to a loopback address)')
      return def
    }
    if (u.username || u.password || u.search || u.hash) {
      this.problem('"baseUrl" must not carry credentials, a query or a fragment')
      return def
    }
    return v.replace(/\/+$/, '')
  }

  /** Reports keys no reader asked for (typos would otherwise be silently ignored). */
  finish(): void {
    for (const k of Object.keys(this.raw)) {
      if (!this.#read.has(k)) this.problem(`unknown setting "${k}"`)
    }
  }
}

/** How `describe` shows a secret: whether it is set, never any part of it (not even a hint). */
export function secretState(v: string | undefined): 'set' | 'not set' {
  return v ? 'set' : 'not set'
}

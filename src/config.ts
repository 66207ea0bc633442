import { readFileSync } from 'node:fs'
import { CONFIG_KEYS, type ConfigKey } from './config-keys.js'
import { ConfigEntry, type ProviderBase } from './providers/provider-type.js'
import { PROVIDER_TYPES, callbackAuth, type ProviderSettings } from './providers/registry.js'
import {
  checkSimulatorRules,
  parseLatency,
  type SimulatorSettings,
} from './providers/simulator/simulator.type.js'
import { maskUserInfo } from './domain/webhooks/callback-url.js'
import { literalDestination } from './domain/webhooks/destination.js'
import { readRouting, type RoutingConfig } from './domain/routing/routing-config.js'
import { readKeywords, type KeywordSettings } from './domain/consent/keyword-config.js'
import { readQuietHours, type QuietHoursConfig } from './domain/quiet-hours/quiet-hours.js'
import { readVerifyAbuse, type VerifyAbuseSettings } from './domain/verify/abuse.js'

/**
 * The only reader of process.env. Parses every setting once at boot, reports every problem
 * at once, and returns a frozen object. A JSON config file (SWITCHBOARD_CONFIG) may hold the
 * same keys as the environment; the environment wins.
 */
export interface Config {
  readonly port: number
  readonly host: string
  readonly publicUrl: string
  readonly database:
    | { readonly kind: 'sqlite'; readonly path: string; readonly synchronous: 'NORMAL' | 'FULL' }
    | { readonly kind: 'postgres'; readonly url: string; readonly schema: string | undefined }
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  readonly bodyLimit: number
  readonly messages: {
    readonly defaultCountry: string | undefined
    readonly maxSegments: number
    readonly smartEncoding: boolean
    readonly defaultValidityPeriod: number
    readonly maxValidityPeriod: number
    readonly maxScheduleAheadSeconds: number
    /** Premium-rate and shared-cost destinations are refused unless this is set. */
    readonly allowPremiumDestinations: boolean
    /** WEBHOOK_ALLOW_PRIVATE: a statusCallback may name a loopback or private address. */
    readonly allowPrivateCallbacks: boolean
  }
  readonly worker: {
    readonly batchSize: number
    readonly concurrency: number
    readonly leaseMs: number
    readonly pollMs: number
    /** Role `all`: intake commits and the workers run in a background thread. */
    readonly thread: boolean
    /** Claims per second while intake is busy (intake has priority); 0: no limit. */
    readonly rateDuringIntake: number
    readonly retryBaseMs: number
    readonly retryMaxMs: number
    readonly maxAttempts: number
    readonly providerTimeoutMs: number
  }
  readonly pacing: {
    /** REDIS_URL: the pacing schedule lives in Redis (else PostgreSQL, or memory on SQLite). */
    readonly redisUrl: string | undefined
    /** Added to each one-second window: jitter on the way to the provider. */
    readonly marginMs: number
  }
  /** QUIET_HOURS: the local sending windows of marketing messages (docs/compliance.md). */
  readonly quietHours: QuietHoursConfig
  /** Provider instances, in configured order (PROVIDERS); the simulator when none is set. */
  readonly providers: readonly ProviderSettings[]
  /** Routes (ROUTES), prices (PRICES) and circuit breakers: docs/routing.md. */
  readonly routing: RoutingConfig
  /** `KEYWORDS`: program name, support contact, replies and extra keywords (docs/compliance.md). */
  readonly keywords: KeywordSettings
  /** Verify's abuse protection: VERIFY_COUNTRIES, VERIFY_LIMITS, VERIFY_BLOCK_HOURS (docs/verify.md). */
  readonly verifyAbuse: VerifyAbuseSettings
  readonly webhooks: {
    readonly secret: string | undefined
    readonly endpoints: readonly { url: string; secret: string }[]
    readonly timeoutMs: number
    /** Seconds the previous secret keeps signing after a rotation. */
    readonly rotationOverlapSeconds: number
    /** Delays in seconds after the first attempt; one entry per retry. */
    readonly retryScheduleSeconds: readonly number[]
    /**
     * Development only: webhooks may go to loopback, private and other internal addresses,
     * which are otherwise refused (docs/webhooks.md).
     */
    readonly allowPrivate: boolean
  }
  /** Application events (docs/events.md): the stream's replay window and its limits. */
  readonly events: {
    /** Events older than this are purged by the job worker's maintenance. */
    readonly retentionHours: number
    /** Concurrent `GET /v1/events/stream` connections per API process. */
    readonly maxStreams: number
    /** How often open streams check the log for events whose wake-up was missed. */
    readonly pollMs: number
  }
  /** The simulator's own numbers (SIMULATOR_NUMBERS): its default sender is the first. */
  readonly simulatorNumbers: readonly string[]
  readonly idempotencyTtlHours: number
  /** Dashboard sessions end this long after sign-in (docs/dashboard-auth.md). */
  readonly sessionTtlHours: number
  /** The Verify API (docs/verify.md). */
  readonly verify: {
    /** A re-send while a verification is pending draws a new code (default: the same one). */
    readonly newCodeOnResend: boolean
    /** After 5 wrong codes, the number cannot start a verification for this long. */
    readonly lockMinutes: number
    /** `{app}` in the default texts. */
    readonly appName: string
  }
  /** Message bodies older than this many days are purged (metadata stays); 0: kept forever. */
  readonly retentionDays: number
  readonly shutdownTimeoutMs: number
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
  }
}

type Source = Partial<Record<string, string | undefined>>

class Reader {
  readonly problems: string[] = []
  constructor(private readonly src: Source) {}

  str(key: ConfigKey, def: string): string
  str(key: ConfigKey): string | undefined
  str(key: ConfigKey, def?: string): string | undefined {
    const v = this.src[key]
    return v === undefined || v === '' ? def : v
  }

  int(key: ConfigKey, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.str(key)
    if (raw === undefined) return def
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${key} must be an integer between ${min} and ${max} (got "${raw}")`)
      return def
    }
    return n
  }

  rate(key: ConfigKey, def: number): number {
    const raw = this.str(key)
    if (raw === undefined) return def
    const n = Number(raw)
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      this.problems.push(`${key} must be a number between 0 and 1 (got "${raw}")`)
      return def
    }
    return n
  }

  bool(key: ConfigKey, def: boolean): boolean {
    const raw = this.str(key)
    if (raw === undefined) return def
    if (/^(1|true|yes|on)$/i.test(raw)) return true
    if (/^(0|false|no|off)$/i.test(raw)) return false
    this.problems.push(`${key} must be true or false (got "${raw}")`)
    return def
  }

  oneOf<T extends string>(key: ConfigKey, values: readonly T[], def: T): T {
    const raw = this.str(key)
    if (raw === undefined) return def
    const v = values.find((x) => x.toLowerCase() === raw.toLowerCase())
    if (!v) this.problems.push(`${key} must be one of ${values.join(', ')} (got "${raw}")`)
    return v ?? def
  }

  /** A JSON value to be checked by its own parser; undefined when unset or not JSON. */
  jsonValue(key: ConfigKey): unknown {
    const raw = this.str(key)
    if (raw === undefined) return undefined
    try {
      return JSON.parse(raw) as unknown
    } catch {
      this.problems.push(`${key} must be valid JSON`)
      return undefined
    }
  }

  json<T>(key: ConfigKey, def: T, check: (v: unknown) => string | undefined): T {
    const raw = this.str(key)
    if (raw === undefined) return def
    try {
      const v: unknown = JSON.parse(raw)
      const problem = check(v)
      if (problem) {
        this.problems.push(`${key}: ${problem}`)
        return def
      }
      return v as T
    } catch {
      this.problems.push(`${key} must be valid JSON`)
      return def
    }
  }
}

function readConfigFile(path: string | undefined, problems: string[]): Source {
  if (!path) return {}
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'))
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      problems.push(`SWITCHBOARD_CONFIG file ${path} must hold a JSON object`)
      return {}
    }
    const out: Source = {}
    for (const [k, v] of Object.entries(parsed)) {
      // `"routes": [...]` in the file is ROUTES and `"quietHours"` QUIET_HOURS, as the
      // documentation writes them.
      const upper = k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
      const key = (CONFIG_KEYS as readonly string[]).includes(upper) ? upper : k
      out[key] = typeof v === 'string' ? v : JSON.stringify(v)
    }
    return out
  } catch (err) {
    problems.push(`SWITCHBOARD_CONFIG file ${path} could not be read: ${(err as Error).message}`)
    return {}
  }
}

export function loadConfig(env: Source = process.env, overrides: Source = {}): Config {
  const fileProblems: string[] = []
  const file = readConfigFile(env.SWITCHBOARD_CONFIG, fileProblems)
  const r = new Reader({ ...file, ...env, ...overrides })
  r.problems.push(...fileProblems)

  const port = r.int('PORT', 3000, 0, 65535)
  const host = r.str('HOST', '127.0.0.1')
  const dbUrl = r.str('DATABASE_URL', 'sqlite:./data/switchboard.db')
  let database: Config['database']
  if (/^postgres(ql)?:\/\//.test(dbUrl)) {
    const schema = r.str('DATABASE_SCHEMA')
    if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
      r.problems.push(`DATABASE_SCHEMA must be a plain SQL identifier (got "${schema}")`)
    }
    database = { kind: 'postgres', url: dbUrl, schema }
  } else if (dbUrl.startsWith('sqlite:')) {
    database = {
      kind: 'sqlite',
      path: dbUrl.slice('sqlite:'.length) || './data/switchboard.db',
      synchronous: r.oneOf('SQLITE_SYNCHRONOUS', ['NORMAL', 'FULL'] as const, 'NORMAL'),
    }
  } else {
    r.problems.push(`DATABASE_URL must start with sqlite: or postgres:// (got "${dbUrl}")`)
    database = { kind: 'sqlite', path: './data/switchboard.db', synchronous: 'NORMAL' }
  }

  const defaultCountry = r.str('DEFAULT_COUNTRY')?.toUpperCase()
  if (defaultCountry !== undefined && !/^[A-Z]{2}$/.test(defaultCountry)) {
    r.problems.push(`DEFAULT_COUNTRY must be an ISO 3166-1 alpha-2 code (got "${defaultCountry}")`)
  }

  const simulatorNumbers = r
    .str('SIMULATOR_NUMBERS', DEFAULT_SIMULATOR_NUMBER)
    .split(',')
    .map((n) => n.trim())
  if (simulatorNumbers.some((n) => !E164.test(n))) {
    r.problems.push('SIMULATOR_NUMBERS must be a comma-separated list of E.164 numbers')
  }
  // Every in-process simulator instance owns the same numbers (its default sender: the first).
  const providers = readProviders(r).map((p) =>
    p.type === 'simulator' ? { ...p, numbers: simulatorNumbers } : p,
  )
  const routing = readRouting(
    {
      routes: r.jsonValue('ROUTES'),
      prices: r.jsonValue('PRICES'),
      circuitFailures: r.int('CIRCUIT_FAILURES', 5, 1, 1_000_000),
      circuitCooldownMs: r.int('CIRCUIT_COOLDOWN_MS', 30_000, 1),
    },
    providers.map((p) => p.name),
    r.problems,
  )

  const maxSegments = r.int('MAX_SEGMENTS', 10, 1, 255)
  const keywords = readKeywords(r.jsonValue('KEYWORDS'), maxSegments, r.problems)

  const endpoints = r.json<{ url: string; secret: string }[]>(
    'WEBHOOK_ENDPOINTS',
    [],
    checkEndpoints,
  )
  const allowPrivate = r.bool('WEBHOOK_ALLOW_PRIVATE', false)
  if (!allowPrivate) {
    // Literal addresses are judged here; host names are resolved by the boot check
    // (net/webhook-destinations.check.ts), and every connection is checked again.
    for (const e of endpoints) {
      if (literalDestination(e.url) === 'refused') {
        r.problems.push(
          `WEBHOOK_ENDPOINTS: ${maskUserInfo(e.url)} is a loopback, private or reserved address (set WEBHOOK_ALLOW_PRIVATE=true to allow it in development)`,
        )
      }
    }
  }
  const webhookSecret = r.str('WEBHOOK_SECRET')
  if (webhookSecret !== undefined && !isWebhookSecret(webhookSecret)) {
    r.problems.push('WEBHOOK_SECRET must be whsec_ followed by base64 of 24 to 64 bytes')
  }
  const scheduleRaw = r.str(
    'WEBHOOK_RETRY_SCHEDULE',
    '5,300,1800,7200,18000,36000,50400,72000,86400',
  )
  const retryScheduleSeconds = scheduleRaw.split(',').map((s) => Number(s.trim()))
  if (retryScheduleSeconds.some((n) => !Number.isFinite(n) || n < 0)) {
    r.problems.push('WEBHOOK_RETRY_SCHEDULE must be a comma-separated list of seconds')
  }

  const leaseMs = r.int('WORKER_LEASE_MS', 30_000, 100)
  const providerTimeoutMs = r.int('PROVIDER_TIMEOUT_MS', 15_000, 1)
  if (leaseMs <= providerTimeoutMs) {
    // A lease that can end while its send is still running lets another claim re-send it.
    r.problems.push(
      `WORKER_LEASE_MS (${leaseMs}) must be longer than PROVIDER_TIMEOUT_MS (${providerTimeoutMs})`,
    )
  }

  const redisUrl = r.str('REDIS_URL')
  if (redisUrl !== undefined && (!/^rediss?:\/\/[^/]/.test(redisUrl) || !URL.canParse(redisUrl))) {
    r.problems.push('REDIS_URL must be a redis:// URL (redis://[:password@]host[:port][/db])')
  } else if (redisUrl?.startsWith('rediss:')) {
    r.problems.push(
      'REDIS_URL: TLS (rediss://) is not supported; use redis:// on a private network',
    )
  }

  const config: Config = {
    port,
    host,
    publicUrl: r.str('PUBLIC_URL', `http://127.0.0.1:${port}`).replace(/\/$/, ''),
    database,
    logLevel: r.oneOf(
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      'info',
    ),
    bodyLimit: r.int('BODY_LIMIT_BYTES', 2 * 1024 * 1024, 1024),
    messages: {
      defaultCountry,
      maxSegments,
      smartEncoding: r.bool('SMART_ENCODING', false),
      defaultValidityPeriod: r.int('DEFAULT_VALIDITY_PERIOD', 36_000, 1),
      maxValidityPeriod: r.int('MAX_VALIDITY_PERIOD', 7 * 86_400, 1),
      maxScheduleAheadSeconds: r.int('MAX_SCHEDULE_AHEAD', 35 * 86_400, 1),
      allowPremiumDestinations: r.bool('ALLOW_PREMIUM_DESTINATIONS', false),
      allowPrivateCallbacks: allowPrivate,
    },
    worker: {
      batchSize: r.int('WORKER_BATCH_SIZE', 500, 1, 10_000),
      concurrency: r.int('WORKER_CONCURRENCY', 1000, 1, 100_000),
      leaseMs,
      pollMs: r.int('WORKER_POLL_MS', 100, 1),
      thread: r.bool('WORKER_THREAD', true),
      rateDuringIntake: r.int('WORKER_RATE_DURING_INTAKE', 500, 0),
      retryBaseMs: r.int('RETRY_BASE_MS', 1000, 1),
      retryMaxMs: r.int('RETRY_MAX_MS', 300_000, 1),
      maxAttempts: r.int('MAX_ATTEMPTS', 20, 1, 1000),
      providerTimeoutMs,
    },
    pacing: { redisUrl, marginMs: r.int('PACING_MARGIN_MS', 40, 20, 1000) },
    quietHours: readQuietHours(r.jsonValue('QUIET_HOURS'), r.problems),
    providers,
    routing,
    keywords,
    verifyAbuse: readVerifyAbuse(
      {
        countries: r.str('VERIFY_COUNTRIES'),
        limits: r.jsonValue('VERIFY_LIMITS'),
        blockHours: r.str('VERIFY_BLOCK_HOURS'),
      },
      r.problems,
    ),
    webhooks: {
      secret: webhookSecret,
      endpoints,
      timeoutMs: r.int('WEBHOOK_TIMEOUT_MS', 15_000, 1),
      rotationOverlapSeconds: r.int('WEBHOOK_SECRET_ROTATION_OVERLAP', 86_400, 0, 2_592_000),
      retryScheduleSeconds,
      allowPrivate,
    },
    events: {
      retentionHours: r.int('EVENT_RETENTION_HOURS', 72, 1, 24 * 366),
      maxStreams: r.int('EVENT_STREAM_MAX', 100, 1, 100_000),
      pollMs: r.int('EVENT_STREAM_POLL_MS', 2000, 100),
    },
    simulatorNumbers,
    idempotencyTtlHours: r.int('IDEMPOTENCY_TTL_HOURS', 24, 24),
    sessionTtlHours: r.int('SESSION_TTL_HOURS', 12, 1, 24 * 366),
    verify: {
      newCodeOnResend: r.bool('VERIFY_NEW_CODE_ON_RESEND', false),
      lockMinutes: r.int('VERIFY_LOCK_MINUTES', 10, 1, 1440),
      appName: verifyAppName(r),
    },
    retentionDays: r.int('RETENTION_DAYS', 90, 0, 36_500),
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 10_000, 0),
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems)
  return deepFreeze(config)
}

/** The default texts must carry no run of 4 digits but the code: the app name adds none. */
function verifyAppName(r: Reader): string {
  const name = r.str('VERIFY_APP_NAME', 'Switchboard').trim()
  if (name.length === 0 || name.length > 30 || /\d{4,}/.test(name) || /[\r\n]/.test(name)) {
    r.problems.push(
      'VERIFY_APP_NAME must be 1 to 30 characters, on one line, with no run of 4 digits',
    )
    return 'Switchboard'
  }
  return name
}

const INSTANCE_NAME = /^[a-z0-9-]{1,63}$/
const E164 = /^\+[1-9]\d{6,14}$/
/** The simulator's number when SIMULATOR_NUMBERS is unset (Twilio's magic test number). */
export const DEFAULT_SIMULATOR_NUMBER = '+15005550006'

/**
 * `PROVIDERS`: instances of any registered type, each parsed by its type's own schema. Without
 * it, the simulator is the only provider, in process or over HTTP (`SIMULATOR_URL`).
 */
function readProviders(r: Reader): ProviderSettings[] {
  const raw = r.json<unknown[] | undefined>('PROVIDERS', undefined, (v) =>
    Array.isArray(v) && v.length > 0
      ? undefined
      : 'must be a non-empty JSON array of provider instances',
  )
  if (raw === undefined) {
    const simulatorUrl = r.str('SIMULATOR_URL')
    return simulatorUrl
      ? [
          {
            type: 'simulator-http',
            name: 'simulator',
            mps: undefined,
            url: simulatorUrl,
            webhookSecret: r.str('SIMULATOR_WEBHOOK_SECRET', 'simulator-dev-secret'),
          },
        ]
      : [readSimulator(r)]
  }
  const seen = new Set<string>()
  const out: ProviderSettings[] = []
  raw.forEach((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      r.problems.push(`PROVIDERS[${i}] must be an object with "name" and "type"`)
      return
    }
    const obj = item as Record<string, unknown>
    const name = typeof obj.name === 'string' ? obj.name : ''
    const e = new ConfigEntry(obj, `PROVIDERS[${i}]${name ? ` "${name}"` : ''}`, r.problems)
    if (!INSTANCE_NAME.test(name)) e.problem('"name" must be 1 to 63 of a-z, 0-9 and "-"')
    else if (seen.has(name)) e.problem(`"name" ${name} is used by an earlier instance`)
    seen.add(name)
    const type = obj.type
    if (typeof type !== 'string' || !Object.hasOwn(PROVIDER_TYPES, type)) {
      e.problem(`"type" must be one of ${Object.keys(PROVIDER_TYPES).join(', ')}`)
      return
    }
    const mpsRaw = e.num('mps', 0, 0, 100_000, false)
    const base: ProviderBase = { name, type, mps: mpsRaw > 0 ? mpsRaw : undefined }
    const providerType = PROVIDER_TYPES[type as keyof typeof PROVIDER_TYPES] as unknown as {
      parse(e: ConfigEntry, b: ProviderBase): ProviderSettings
    }
    const settings = providerType.parse(e, base)
    e.finish()
    if (callbackAuth(settings) === 'none') {
      e.problem('its callbacks could be neither verified by signature nor by token')
    }
    out.push(settings)
  })
  return out
}

function readSimulator(r: Reader): SimulatorSettings {
  const latencyRaw = r.str('SIMULATOR_LATENCY_MS', '0')
  const latency = parseLatency(latencyRaw)
  if (!latency)
    r.problems.push(`SIMULATOR_LATENCY_MS must be "N" or "MIN-MAX" (got "${latencyRaw}")`)
  return {
    type: 'simulator',
    name: 'simulator',
    mps: undefined,
    seed: r.int('SIMULATOR_SEED', 1),
    latencyMs: latency ?? { min: 0, max: 0 },
    dlrDelayMs: r.int('SIMULATOR_DLR_DELAY_MS', 50),
    transientRate: r.rate('SIMULATOR_TRANSIENT_RATE', 0),
    retryAfterMs: r.int('SIMULATOR_RETRY_AFTER_MS', 1000),
    permanentRate: r.rate('SIMULATOR_PERMANENT_RATE', 0),
    undeliveredRate: r.rate('SIMULATOR_UNDELIVERED_RATE', 0),
    rules: r.json('SIMULATOR_RULES', [], checkSimulatorRules),
    dedupe: r.bool('SIMULATOR_DEDUPE', true),
    numbers: [DEFAULT_SIMULATOR_NUMBER],
  }
}

/** Settings of the standalone simulator server (`switchboard simulator`). */
export function loadSimulatorConfig(env: Source = process.env): SimulatorSettings {
  const r = new Reader(env)
  const sim = readSimulator(r)
  if (r.problems.length > 0) throw new ConfigError(r.problems)
  return sim
}

/** Settings of the CLI's API commands. */
export function loadClientConfig(env: Source = process.env): {
  url: string
  apiKey: string | undefined
} {
  const url = (env.SWITCHBOARD_URL || 'http://127.0.0.1:3000').replace(/\/$/, '')
  if (!/^https?:\/\/[^/]/i.test(url) || !URL.canParse(url)) {
    throw new ConfigError([`SWITCHBOARD_URL must be an http:// or https:// URL (got "${url}")`])
  }
  return { url, apiKey: env.SWITCHBOARD_API_KEY || undefined }
}

export function isWebhookSecret(s: string): boolean {
  if (!s.startsWith('whsec_')) return false
  const bytes = Buffer.from(s.slice(6), 'base64')
  return bytes.length >= 24 && bytes.length <= 64
}

function checkEndpoints(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be an array of { url, secret }'
  for (const e of v as unknown[]) {
    const x = e as { url?: unknown; secret?: unknown }
    if (typeof x?.url !== 'string' || !/^https?:\/\//.test(x.url)) return 'each url must be http(s)'
    if (typeof x.secret !== 'string' || !isWebhookSecret(x.secret)) {
      return 'each secret must be whsec_ followed by base64 of 24 to 64 bytes'
    }
  }
  return undefined
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}

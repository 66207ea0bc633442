import type { Static, TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

/** How long a claimed job is leased (its due time pushed back) before another worker may take it. */
export const JOB_LEASE_MS = 60_000

/** What a job handler reports: done, or try again later (with the reason, for `last_error`). */
export type JobResult = 'done' | { retry: string }

/**
 * One kind of background job: the shape of its payload, and how it runs and retries. A job
 * whose payload does not match `payload` is dead-lettered, never run.
 */
export interface JobType<S extends TSchema = TSchema> {
  readonly type: string
  readonly payload: S
  /** Runs after this many failed attempts are given up (dead-lettered). */
  readonly maxAttempts: number
  /** A run taking longer counts as failed; shorter than the claim lease. */
  readonly timeoutMs: number
  /** Delay before attempt `attempt + 1` after attempt `attempt` failed (attempts are 1-based). */
  backoffMs(attempt: number): number
  run(
    payload: Static<S>,
    job: { id: string; attempt: number; signal: AbortSignal },
  ): Promise<JobResult>
}

/** A catalog entry with its compiled payload check. */
export interface CatalogEntry {
  readonly def: JobType
  /** The payload parsed and checked, or why it is unusable. */
  parse(payload: string): { ok: true; value: unknown } | { ok: false; reason: string }
}

/** Declares a job type, keeping the payload type tied to its schema. */
export function defineJob<S extends TSchema>(def: JobType<S>): JobType<S> {
  return def
}

/** Job type -> payload schema, backoff, attempt cap and timeout; the job worker's only lookup. */
export class JobCatalog {
  readonly #entries = new Map<string, CatalogEntry>()

  constructor(defs: readonly JobType[], leaseMs = JOB_LEASE_MS) {
    for (const def of defs) {
      if (this.#entries.has(def.type)) throw new Error(`job type ${def.type} declared twice`)
      if (!(def.timeoutMs > 0 && def.timeoutMs < leaseMs)) {
        // A run outliving its lease would be claimed again while it still runs.
        throw new Error(`job type ${def.type}: timeoutMs must be within (0, ${leaseMs})`)
      }
      if (!(Number.isInteger(def.maxAttempts) && def.maxAttempts >= 1)) {
        throw new Error(`job type ${def.type}: maxAttempts must be a positive integer`)
      }
      const check = TypeCompiler.Compile(def.payload)
      this.#entries.set(def.type, {
        def,
        parse(payload) {
          let value: unknown
          try {
            value = JSON.parse(payload)
          } catch {
            return { ok: false, reason: 'payload is not JSON' }
          }
          if (check.Check(value)) return { ok: true, value }
          const first = check.Errors(value).First()
          return {
            ok: false,
            reason: `payload does not match its schema${first ? ` at ${first.path || '/'}: ${first.message}` : ''}`,
          }
        },
      })
    }
  }

  get(type: string): CatalogEntry | undefined {
    return this.#entries.get(type)
  }
}

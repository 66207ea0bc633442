import { Type } from '@sinclair/typebox'
import { newId } from '../../domain/ids.js'
import { PROVIDER_ERROR_CODES, type ProviderEvent } from '../../providers/provider.js'
import type { JobRow } from '../../store/schema.js'
import { defineJob } from '../job-catalog.js'

type StatusReport = Extract<ProviderEvent, { type: 'status' }>

/** Parked delivery reports: they matched no message yet (they can overtake the send record). */
export const PROVIDER_REPORT = 'provider_report'

/**
 * When a parked report is tried: the first time 1 s after it came, then after each failed
 * attempt the next delay, about 19 minutes in all; then it is given up.
 */
export const PROVIDER_REPORT_DELAYS_MS = [
  1000, 2000, 5000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000,
] as const

const id = Type.String({ minLength: 1, maxLength: 128 })
const literals = <T extends string>(values: readonly T[]) =>
  Type.Union(values.map((v) => Type.Literal(v)))

/** Earlier versions also stored `attempt` in the payload: extra properties are ignored. */
const payload = Type.Object({
  provider: id,
  report: Type.Object({
    type: Type.Literal('status'),
    messageId: Type.Optional(id),
    providerMessageId: id,
    status: literals(['sent', 'delivered', 'undelivered', 'failed'] as const),
    errorCode: Type.Optional(literals(PROVIDER_ERROR_CODES)),
    at: Type.Integer(),
  }),
})

/** The job row that parks `report` for its first retry. */
export function parkedReport(provider: string, report: StatusReport, now: number): JobRow {
  return {
    id: newId('job'),
    type: PROVIDER_REPORT,
    payload: JSON.stringify({ provider, report }),
    attempts: 0,
    run_at: now + PROVIDER_REPORT_DELAYS_MS[0],
    lease_owner: null,
    lease_until: null,
    last_error: null,
    created_at: now,
  }
}

/** Applies one parked report; `false` when it still matches no message. */
export type ApplyParked = (provider: string, report: StatusReport) => Promise<boolean>

/** The catalog entry: try the report again until it matches or its attempts run out. */
export function providerReportJob(apply: ApplyParked) {
  return defineJob({
    type: PROVIDER_REPORT,
    payload,
    maxAttempts: PROVIDER_REPORT_DELAYS_MS.length,
    timeoutMs: 30_000,
    backoffMs: (attempt) => PROVIDER_REPORT_DELAYS_MS[attempt] ?? 600_000,
    async run(p) {
      return (await apply(p.provider, p.report)) ? 'done' : { retry: 'matches no message yet' }
    },
  })
}

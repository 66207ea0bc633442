import { errors } from '../errors.js'

/** A batch entry refused after validation (in the intake transaction, for consent). */
export interface RefusedEntry {
  /** The message's position among the batch's accepted messages. */
  readonly at: number
  readonly code: 'recipient_opted_out' | 'consent_required'
  readonly details: Readonly<Record<string, unknown>>
}

interface BatchAnswer {
  accepted: number
  failed: number
  data: { index: number; message?: unknown; error?: unknown }[]
}

/**
 * The batch answer (`POST /v1/messages/batch`) with the `refused` messages turned into error
 * entries, as validation errors are, and the counts adjusted. Deterministic: the intake
 * transaction stores these bytes as the idempotent answer and the API answers the same.
 */
export function refuseInBatchAnswer(json: string, refused: readonly RefusedEntry[]): string {
  if (refused.length === 0) return json
  const answer = JSON.parse(json) as BatchAnswer
  const byPosition = new Map(refused.map((r) => [r.at, r]))
  let position = 0
  answer.data = answer.data.map((item) => {
    if (item.message === undefined) return item
    const r = byPosition.get(position++)
    if (!r) return item
    const def = errors[r.code]
    return {
      index: item.index,
      error: { code: def.code, message: def.message, details: r.details },
    }
  })
  answer.accepted -= byPosition.size
  answer.failed += byPosition.size
  return JSON.stringify(answer)
}

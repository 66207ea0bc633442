import { rows, run, type TxProgram } from './executor.js'
import type { PrivacyRepo } from './privacy.repo.js'
import type { ConsentRow } from './schema.js'

/** One ledger entry to record (src/store/schema.ts ConsentRow). */
export type ConsentEntry = Omit<ConsentRow, 'id' | 'disclosure' | 'evidence'> & {
  readonly disclosure?: string | null
  /** Stored as JSON. */
  readonly evidence?: Record<string, unknown> | null
}

/** A number's current state for one scope: its latest ledger entry for that scope. */
export interface ConsentState {
  readonly phone: string
  readonly scope: string
  readonly status: 'opted_in' | 'opted_out'
  /** When the latest entry was recorded. */
  readonly since: number
}

/**
 * The consent ledger: append-only. The current state of a number is derived from it, per
 * scope, by its latest entry. Nothing here updates or deletes a row (GDPR erasure does, in
 * its own repository).
 */
export class ConsentRepo {
  /** `privacy`: opt-outs of erased numbers count as their state (GDPR erasure keeps them). */
  constructor(private readonly privacy?: PrivacyRepo) {}

  /** Appends entries in order. */
  *record(entries: readonly ConsentEntry[]): TxProgram<void> {
    for (const e of entries) {
      yield run(
        'INSERT INTO consents (phone, action, scope, source, disclosure, evidence, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [
          e.phone,
          e.action,
          e.scope,
          e.source,
          e.disclosure ?? null,
          e.evidence ? JSON.stringify(e.evidence) : null,
          e.at,
        ],
      )
    }
  }

  /** The current state of each of `phones`, per scope that has an entry. */
  *states(phones: readonly string[]): TxProgram<ConsentState[]> {
    if (phones.length === 0) return []
    const out: ConsentState[] = []
    const unique = [...new Set(phones)]
    for (let i = 0; i < unique.length; i += 500) {
      const chunk = unique.slice(i, i + 500)
      const marks = chunk.map(() => '?').join(', ')
      const found = (yield rows(
        `SELECT c.phone, c.scope, c.action, c.at FROM consents c WHERE c.phone IN (${marks}) AND c.id = (SELECT MAX(l.id) FROM consents l WHERE l.phone = c.phone AND l.scope = c.scope)`,
        chunk,
      )) as Pick<ConsentRow, 'phone' | 'scope' | 'action' | 'at'>[]
      for (const r of found) {
        out.push({
          phone: r.phone,
          scope: r.scope,
          status: r.action === 'opt_in' ? 'opted_in' : 'opted_out',
          since: Number(r.at),
        })
      }
    }
    // An erased number's opt-outs live on under its keyed hash; a later ledger entry for the
    // same scope (it opted in again) wins, as the latest entry always does.
    if (this.privacy) {
      for (const e of yield* this.privacy.erasedStates(unique)) {
        const i = out.findIndex((s) => s.phone === e.phone && s.scope === e.scope)
        if (i < 0) out.push(e)
        else if ((out[i] as ConsentState).since < e.since) out[i] = e
      }
    }
    return out
  }
}

import { consentChangedEvent } from '../domain/consent/consent-event.js'
import type { ConsentStatus } from '../domain/consent/enforce.js'
import type { EventRepo } from './event.repo.js'
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
  readonly status: ConsentStatus
  /** When the latest entry was recorded. */
  readonly since: number
}

/** A recorded entry, and whether it changed the number's state for its scope. */
export interface RecordedConsent {
  readonly entry: ConsentEntry
  readonly changed: boolean
}

/** A ledger row as read back (evidence parsed). */
export interface ConsentHistoryEntry {
  readonly action: ConsentRow['action']
  readonly scope: string
  readonly source: ConsentRow['source']
  readonly at: number
  readonly disclosure: string | null
  readonly evidence: Record<string, unknown> | null
}

/** A number currently opted out of a scope (GET /v1/suppressions), with its ledger row id. */
export interface OptedOut extends ConsentState {
  readonly id: number
}

const statusOf = (action: ConsentRow['action']): ConsentStatus =>
  action === 'opt_in' ? 'opted_in' : 'opted_out'

/** The latest entry of a (phone, scope) pair, by the ledger's order (ids). */
const LATEST =
  'c.id = (SELECT MAX(l.id) FROM consents l WHERE l.phone = c.phone AND l.scope = c.scope)'

/**
 * The consent ledger: append-only. The current state of a number is derived from it, per
 * scope, by its latest entry. Nothing here updates or deletes a row (GDPR erasure does, in
 * its own repository).
 */
export class ConsentRepo {
  /** `privacy`: opt-outs of erased numbers count as their state (GDPR erasure keeps them). */
  constructor(
    private readonly dialect: 'sqlite' | 'postgres' = 'sqlite',
    private readonly events?: EventRepo,
    private readonly privacy?: PrivacyRepo,
  ) {}

  /**
   * Serialises ledger changes per number until the transaction ends: on PostgreSQL a
   * transaction lock per phone (taken in a fixed order), so two changes for one number at once
   * (two STOPs, a STOP and an API opt-in) read each other's entries: one confirmation for two
   * STOPs, one `consent.changed` per real change. SQLite runs one writer at a time already.
   */
  *lockPhones(phones: readonly string[]): TxProgram<void> {
    if (this.dialect !== 'postgres') return
    for (const phone of [...new Set(phones)].sort()) {
      yield rows('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`consent\n${phone}`])
    }
  }

  /**
   * Appends entries in order, and raises `consent.changed` (in the same transaction) for each
   * entry that changes its number's state for its scope: a first entry, or an opt-out after an
   * opt-in and back. A repeated opt-out is recorded (it is evidence) but changes nothing.
   */
  *record(entries: readonly ConsentEntry[]): TxProgram<RecordedConsent[]> {
    if (entries.length === 0) return []
    yield* this.lockPhones(entries.map((e) => e.phone))
    const current = new Map<string, ConsentStatus>()
    for (const s of yield* this.states(entries.map((e) => e.phone))) {
      current.set(`${s.phone}|${s.scope}`, s.status)
    }
    const recorded: RecordedConsent[] = []
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
      const key = `${e.phone}|${e.scope}`
      const status = statusOf(e.action)
      const changed = current.get(key) !== status
      current.set(key, status)
      recorded.push({ entry: e, changed })
    }
    const changes = recorded.filter((r) => r.changed)
    if (this.events && changes.length > 0) {
      yield* this.events.raise(changes.map(({ entry }) => consentChangedEvent(entry)))
    }
    return recorded
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
        `SELECT c.phone, c.scope, c.action, c.at FROM consents c WHERE c.phone IN (${marks}) AND ${LATEST}`,
        chunk,
      )) as Pick<ConsentRow, 'phone' | 'scope' | 'action' | 'at'>[]
      for (const r of found) {
        out.push({
          phone: r.phone,
          scope: r.scope,
          status: statusOf(r.action),
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

  /**
   * Counts sends refused at intake (`recipient_opted_out`, `consent_required`): one row per
   * refused message, with its type and time, no number (src/store/schema.ts).
   */
  *countRefusals(list: readonly { reason: string; type: string; at: number }[]): TxProgram<void> {
    for (const r of list) {
      yield run('INSERT INTO consent_refusals (reason, type, at) VALUES (?, ?, ?)', [
        r.reason,
        r.type,
        r.at,
      ])
    }
  }
}

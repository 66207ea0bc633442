import { aggregateParts, type PartReport } from '../domain/messages/parts.js'
import { statusesBelow, type MessageStatus } from '../domain/messages/status.js'
import type { StatusChangeFanout } from '../domain/webhooks/fanout.js'
import type { ProviderEvent, ReportedStatus } from '../providers/provider.js'
import { rows, run, type Query, type TxProgram } from './executor.js'
import { lockReportedMessages } from './message-locks.js'
import { CHUNK } from './rows.js'
import {
  Changes,
  fanoutRow,
  LEAN_RETURNING,
  NEXT_SEQ,
  type ChangedRow,
  type StoredMessage,
} from './status-changes.js'

type Dialect = 'sqlite' | 'postgres'
export type StatusReport = Extract<ProviderEvent, { type: 'status' }>

/** A provider id's row as a report finds it: which message and send it belongs to. */
interface RefHit {
  message_id: string
  attempt: number
  parts: number
}

/** What became of one report at the provider_refs level. */
type Match =
  | { outcome: 'advanced'; ref: RefHit }
  | { outcome: 'stale'; ref: RefHit }
  | { outcome: 'unmatched' }

/** Statuses before `sent`: a report finding a message in one of them implies it was sent. */
const PRE_SENT = statusesBelow('sent')
const PRE_SENT_IN = PRE_SENT.map(() => '?').join(', ')
/**
 * The part statuses a report may move on from: nothing yet, or `sent` for a final report. A
 * final part (and an inbound id, `received`) never changes again: the same report twice, or a
 * late one, leaves the row alone.
 */
const BELOW_FINAL = "(status IS NULL OR status = 'sent')"
const REF_BELOW: Record<ReportedStatus, string> = {
  sent: 'status IS NULL',
  delivered: BELOW_FINAL,
  undelivered: BELOW_FINAL,
  failed: BELOW_FINAL,
}
/** REF_BELOW for a row read back: whether a report of `status` moves a part at `part` on. */
const movesOn = (part: string | null, status: ReportedStatus): boolean =>
  part === null || (part === 'sent' && status !== 'sent')
/** Money is summed in nanounits: floating-point sums of prices like 0.0075 would drift. */
const NANO = 1e9

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
/** Placeholder lists by count, built once: `?, ?, ?` and `WHEN ? THEN ? ...`. */
const markTexts: string[] = []
const marks = (n: number): string => (markTexts[n] ??= Array<string>(n).fill('?').join(', '))
const whenTexts: string[] = []
const whens = (n: number): string =>
  (whenTexts[n] ??= Array<string>(n).fill('WHEN ? THEN CAST(? AS bigint)').join(' '))

/** Groups items by a (status, error code) pair, in first-seen order. */
function bySame<T>(
  items: readonly T[],
  key: (t: T) => [ReportedStatus, string | null],
): [[ReportedStatus, string | null], T[]][] {
  const groups = new Map<string, [[ReportedStatus, string | null], T[]]>()
  for (const t of items) {
    const k = key(t)
    const text = `${k[0]} ${k[1] ?? ''}`
    let g = groups.get(text)
    if (!g) groups.set(text, (g = [k, []]))
    g[1].push(t)
  }
  return [...groups.values()]
}

/** The id a report is about: a part's own id where it names one (Plivo), else its id. */
export const reportRefId = (r: StatusReport): string => r.part?.id ?? r.providerMessageId

/**
 * Delivery reports, matched on provider_refs (one row per provider id: a part, or the whole
 * message) and applied monotonically at two levels: the part's last status, and the message's
 * status, which the parts of one send add up to (src/domain/messages/parts.ts).
 */
export class ReportRepo {
  constructor(
    private readonly dialect: Dialect,
    private readonly fanout: StatusChangeFanout,
  ) {}

  /**
   * Applies provider delivery reports. A late or repeated report changes nothing; a report's
   * price is that id's price and the message's is their sum. Returns the reports that match
   * no message yet, to be retried later.
   *
   * The usual batch (whole-message ids, each once, for messages recorded `sent`) takes two
   * statements per 64 reports: one moves the ids on, one the messages. Everything else (parts
   * under a parent id, an id twice in the batch, unknown ids, messages not recorded `sent`)
   * goes report by report, after them, in the batch's order.
   */
  *applyReports(
    provider: string,
    reports: readonly StatusReport[],
    now: number,
  ): TxProgram<StatusReport[]> {
    const unmatched: StatusReport[] = []
    const changes = new Changes(this.fanout)
    const priced = new Map<string, string>()
    const sorted = [...reports].sort((a, b) => compare(reportRefId(a), reportRefId(b)))
    // Their messages first, as the worker's record of a send takes them (no deadlock).
    yield* lockReportedMessages(
      this.dialect,
      provider,
      sorted.flatMap((r) => (r.part ? [r.part.id, r.providerMessageId] : [r.providerMessageId])),
      sorted.flatMap((r) => (r.messageId === undefined ? [] : [r.messageId])),
    )
    const firsts = new Set<StatusReport>()
    const named = new Set<string>()
    for (const r of sorted) {
      if (r.part || named.has(r.providerMessageId)) continue
      named.add(r.providerMessageId)
      firsts.add(r)
    }
    const moved = yield* this.#advanceRefs(provider, [...firsts])

    const single: { r: StatusReport; ref: RefHit }[] = []
    const groups = new Map<string, { r: StatusReport; ref: RefHit }>()
    for (const r of sorted) {
      const ref = firsts.has(r) ? moved.get(r.providerMessageId) : undefined
      const m: Match = ref ? { outcome: 'advanced', ref } : yield* this.#match(provider, r)
      if (m.outcome === 'unmatched') {
        unmatched.push(r)
        continue
      }
      if (r.price && (yield* this.#priceRef(provider, r))) {
        priced.set(m.ref.message_id, r.price.currency)
      }
      if (m.outcome === 'stale') continue
      // One id for the whole message (the usual case): its report is the message's. The
      // parts of one send add up once all their reports in the batch are in.
      if (m.ref.parts === 1) single.push({ r, ref: m.ref })
      else groups.set(`${m.ref.message_id} ${m.ref.attempt}`, { r, ref: m.ref })
    }

    const quick = new Set<{ r: StatusReport; ref: RefHit }>()
    const seen = new Set<string>()
    for (const h of single) {
      if (h.r.status === 'sent' || seen.has(h.ref.message_id)) continue
      seen.add(h.ref.message_id)
      quick.add(h)
    }
    const done = yield* this.#finalAfterSent([...quick], now, changes)
    for (const h of single) {
      if (quick.has(h) && done.has(h.ref.message_id)) continue
      yield* this.applyToMessage(h.ref.message_id, h.r.status, h.r.errorCode ?? null, h.r.at, now, {
        provider,
        providerMessageId: h.r.providerMessageId,
        changes,
      })
    }
    for (const { r, ref } of groups.values()) {
      yield* this.settle(ref.message_id, ref.attempt, r.at, now, {
        provider,
        providerMessageId: r.providerMessageId,
        changes,
      })
    }
    for (const [id, currency] of priced) yield* this.#priceMessage(id, currency)
    yield* changes.write()
    return unmatched
  }

  /**
   * Moves each report's id on where the id is known and behind it (each id once): one
   * statement per status and error code and CHUNK ids, an IN list on the primary key (a join
   * with a VALUES list let PostgreSQL's planner scan the table). Returns the rows moved, by
   * provider id.
   */
  *#advanceRefs(
    provider: string,
    reports: readonly StatusReport[],
  ): Generator<Query, Map<string, RefHit>, unknown> {
    const moved = new Map<string, RefHit>()
    for (const [[status, errorCode], same] of bySame(reports, (r) => [
      r.status,
      r.errorCode ?? null,
    ])) {
      for (let i = 0; i < same.length; i += CHUNK) {
        const ids = same.slice(i, i + CHUNK).map((r) => r.providerMessageId)
        const returned = (yield rows(
          `UPDATE provider_refs SET status = ?, error_code = COALESCE(?, error_code) WHERE provider = ? AND provider_message_id IN (${marks(ids.length)}) AND ${REF_BELOW[status]} RETURNING provider_message_id, message_id, attempt, parts`,
          [status, errorCode, provider, ...ids],
        )) as (RefHit & { provider_message_id: string })[]
        for (const row of returned) moved.set(row.provider_message_id, row)
      }
    }
    return moved
  }

  /**
   * A final status for messages recorded `sent` (the usual case), each message once: one
   * statement per status and error code and CHUNK messages. Returns the ids it moved.
   */
  *#finalAfterSent(
    hits: readonly { r: StatusReport; ref: RefHit }[],
    now: number,
    changes: Changes,
  ): Generator<Query, Set<string>, unknown> {
    const done = new Set<string>()
    const whole = this.fanout.everyMessage()
    const returning = whole ? '*' : LEAN_RETURNING
    for (const [[status, errorCode], same] of bySame(hits, (h) => [
      h.r.status,
      h.r.errorCode ?? null,
    ])) {
      for (let i = 0; i < same.length; i += CHUNK) {
        const chunk = same.slice(i, i + CHUNK)
        const ids = chunk.map((h) => h.ref.message_id)
        const at: unknown[] = []
        for (const h of chunk) at.push(h.ref.message_id, h.r.at)
        const updated = (yield rows(
          `UPDATE messages SET status = ?, ${NEXT_SEQ}, error_code = COALESCE(?, error_code), completed_at = CASE id ${whens(chunk.length)} END, updated_at = ? WHERE id IN (${marks(ids.length)}) AND status = 'sent' RETURNING ${returning}`,
          [status, errorCode, ...at, now, ...ids],
        )) as ChangedRow[]
        for (const row of updated) {
          done.add(row.id)
          changes.add(row.id, yield* fanoutRow(row, whole), status, errorCode, null, now)
        }
      }
    }
    return done
  }

  /**
   * Moves the report's provider id on (monotonically), or records the id when the report is
   * the first to name it: a part reported under its parent's id (Plivo), or an id of ours the
   * worker has not recorded yet (the report overtook the send's record, or the send's answer
   * was lost).
   */
  *#match(provider: string, r: StatusReport): Generator<Query, Match, unknown> {
    const id = reportRefId(r)
    // Three rounds at most: a row that another transaction committed after this round's UPDATE
    // looked (PostgreSQL, a report that named no message it could lock first), or an insert
    // that lost to a concurrent one, is found by the next.
    for (let round = 0; round < 3; round++) {
      const advanced = (yield rows(
        `UPDATE provider_refs SET status = ?, error_code = COALESCE(?, error_code)${r.part ? ', part = ?, parts = ?' : ''} WHERE provider = ? AND provider_message_id = ? AND ${REF_BELOW[r.status]} RETURNING message_id, attempt, parts`,
        [
          r.status,
          r.errorCode ?? null,
          ...(r.part ? [r.part.number, r.part.total] : []),
          provider,
          id,
        ],
      )) as RefHit[]
      if (advanced[0]) return { outcome: 'advanced', ref: advanced[0] }
      const known = (yield rows(
        'SELECT message_id, attempt, parts, status FROM provider_refs WHERE provider = ? AND provider_message_id = ?',
        [provider, id],
      )) as (RefHit & { status: string | null })[]
      const k = known[0]
      if (k) {
        // Stale only if the row says so: one committed since the UPDATE looked is behind it.
        if (movesOn(k.status, r.status)) continue
        return {
          outcome: 'stale',
          ref: { message_id: k.message_id, attempt: k.attempt, parts: k.parts },
        }
      }

      const owner = yield* this.#owner(provider, r)
      if (!owner) return { outcome: 'unmatched' }
      const inserted = (yield run(
        'INSERT INTO provider_refs (provider, provider_message_id, message_id, attempt, part, parts, status, error_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        [
          provider,
          id,
          owner.message_id,
          owner.attempt,
          owner.part,
          owner.parts,
          r.status,
          r.errorCode ?? null,
        ],
      )) as number
      if (inserted === 1) {
        return {
          outcome: 'advanced',
          ref: { message_id: owner.message_id, attempt: owner.attempt, parts: owner.parts },
        }
      }
    }
    return { outcome: 'unmatched' }
  }

  /**
   * The message and send a report names an unrecorded id of: its parent id's (a part reported
   * under the id answered at send), else our own id echoed back, for a message this provider
   * had (or has) it. How many parts the send has is then a guess (the part's total, else the
   * message's segments) until the worker records the send's ids.
   */
  *#owner(
    provider: string,
    r: StatusReport,
  ): Generator<Query, (RefHit & { part: number }) | null, unknown> {
    if (r.part) {
      const parent = (yield rows(
        'SELECT message_id, attempt FROM provider_refs WHERE provider = ? AND provider_message_id = ?',
        [provider, r.providerMessageId],
      )) as Omit<RefHit, 'parts'>[]
      if (parent[0]) return { ...parent[0], part: r.part.number, parts: r.part.total }
    }
    if (r.messageId === undefined) return null
    const found = (yield rows(
      'SELECT attempts, segments FROM messages m WHERE id = ? AND (provider IS NULL OR provider = ? OR EXISTS (SELECT 1 FROM attempts a WHERE a.message_id = m.id AND a.provider = ?))',
      [r.messageId, provider, provider],
    )) as { attempts: number; segments: number }[]
    const m = found[0]
    if (!m) return null
    return {
      message_id: r.messageId,
      attempt: m.attempts,
      part: r.part?.number ?? 0,
      parts: r.part?.total ?? m.segments,
    }
  }

  /**
   * Adds up the parts of one send (`attempt`) and applies what they come to: delivered once
   * every part is, undelivered or failed at the first negative part. On PostgreSQL the message
   * row is locked first, so two parts reported at once are counted together by whichever
   * commits second.
   */
  *settle(
    messageId: string,
    attempt: number,
    at: number,
    now: number,
    via: Via,
  ): Generator<Query, void, unknown> {
    yield* this.#lockMessage(messageId)
    const parts = (yield rows(
      'SELECT parts, status, error_code AS "errorCode" FROM provider_refs WHERE message_id = ? AND attempt = ?',
      [messageId, attempt],
    )) as PartReport[]
    const verdict = aggregateParts(parts)
    if (!verdict) return
    yield* this.applyToMessage(messageId, verdict.status, verdict.errorCode, at, now, via)
  }

  *#lockMessage(id: string): Generator<Query, void, unknown> {
    if (this.dialect === 'postgres')
      yield rows('SELECT id FROM messages WHERE id = ? FOR UPDATE', [id])
  }

  /**
   * Applies a status to a message monotonically: a final status to a message recorded `sent`
   * (the usual case), else to one not recorded `sent` yet (the report overtook the worker's
   * record of the send, or came for an attempt whose answer was lost): it then implies the
   * message was sent, fills the provider ids and `sent_at`, and writes the skipped `sent` step.
   */
  *applyToMessage(
    id: string,
    status: ReportedStatus,
    errorCode: string | null,
    at: number,
    now: number,
    via: Via,
  ): Generator<Query, void, unknown> {
    const whole = this.fanout.everyMessage()
    const returning = whole ? '*' : LEAN_RETURNING
    const final = status !== 'sent'
    const afterSent = (): Query =>
      rows(
        `UPDATE messages SET status = ?, ${NEXT_SEQ}, error_code = COALESCE(?, error_code), completed_at = ?, updated_at = ? WHERE id = ? AND status = 'sent' RETURNING ${returning}`,
        [status, errorCode, at, now, id],
      )
    let updated = final ? ((yield afterSent()) as ChangedRow[]) : []
    let skippedSent = false
    if (!updated[0]) {
      updated = (yield rows(
        // A final report also stands for the skipped `sent`: two events, two sequence numbers.
        `UPDATE messages SET status = ?, event_seq = event_seq + ?, error_code = ?, error_message = NULL, sent_at = COALESCE(sent_at, ?), completed_at = ?, updated_at = ?, provider = COALESCE(provider, ?), provider_message_id = COALESCE(provider_message_id, ?) WHERE id = ? AND status IN (${PRE_SENT_IN}) RETURNING ${returning}`,
        [
          status,
          final ? 2 : 1,
          errorCode,
          at,
          final ? at : null,
          now,
          via.provider,
          via.providerMessageId,
          id,
          ...PRE_SENT,
        ],
      )) as ChangedRow[]
      skippedSent = final
    }
    if (!updated[0]) {
      if (!final) return
      // PostgreSQL: the send's outcome committed while the second UPDATE waited for the row,
      // which then no longer matched it; the first one now does. Else: a late report.
      const found = (yield rows('SELECT status FROM messages WHERE id = ?', [id])) as {
        status: MessageStatus
      }[]
      if (found[0]?.status !== 'sent') return
      updated = (yield afterSent()) as ChangedRow[]
      skippedSent = false
    }
    const row = updated[0]
    if (!row) return
    const m = yield* fanoutRow(row, whole)
    if (skippedSent) {
      // Every timeline reads queued -> sending -> sent -> final: write the missing step,
      // presenting the message as it was then.
      const sent: StoredMessage | null = m && {
        ...m,
        status: 'sent',
        error_code: null,
        completed_at: null,
        event_seq: m.event_seq - 1,
      }
      via.changes.add(row.id, sent, 'sent', null, 'implied by a delivery report', now)
    }
    via.changes.add(row.id, m, status, errorCode, null, now)
  }

  /** Records a report's price on its id; true when that changed it. */
  *#priceRef(provider: string, r: StatusReport): Generator<Query, boolean, unknown> {
    const price = r.price
    if (!price) return false
    const changed = (yield run(
      'UPDATE provider_refs SET price = ?, currency = ? WHERE provider = ? AND provider_message_id = ? AND (price IS NULL OR currency IS NULL OR price <> ? OR currency <> ?)',
      [price.amount, price.currency, provider, reportRefId(r), price.amount, price.currency],
    )) as number
    return changed > 0
  }

  /**
   * The message's price: the sum of its ids' reported prices in `currency` (a message that
   * failed over between providers billing in different currencies shows the latest one's).
   */
  *#priceMessage(id: string, currency: string): Generator<Query, void, unknown> {
    yield* this.#lockMessage(id)
    const prices = (yield rows(
      'SELECT price FROM provider_refs WHERE message_id = ? AND currency = ? AND price IS NOT NULL',
      [id, currency],
    )) as { price: number }[]
    let nano = 0
    for (const p of prices) nano += Math.round(p.price * NANO)
    yield run('UPDATE messages SET price = ?, price_currency = ? WHERE id = ?', [
      nano / NANO,
      currency,
      id,
    ])
  }
}

/** Where a message-level change comes from and goes: the report's ids, the batch's changes. */
export interface Via {
  readonly provider: string
  readonly providerMessageId: string
  readonly changes: Changes
}

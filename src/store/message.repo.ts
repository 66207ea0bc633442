import type { MessageRecord } from '../domain/messages/message.js'
import type { StatusChangeFanout } from '../domain/webhooks/fanout.js'
import { rows, run, type Query, type TxProgram } from './executor.js'
import { consentVerdict, statesByPhone } from '../domain/consent/enforce.js'
import { refuseInBatchAnswer } from '../domain/messages/batch-answer.js'
import type { ConsentRepo } from './consent.repo.js'
import {
  AT_CREATED,
  AT_ID,
  AT_STATUS,
  AT_TO,
  AT_TYPE,
  FIRST_EVENT_COLUMNS,
  NOTED_FIRST_EVENT_COLUMNS,
  ATTEMPT_COLUMNS,
  INTAKE_COLUMNS,
  CHUNK,
  insertRows,
  insertText,
  packRows,
  REF_COLUMNS,
  WIDTH,
  type IntakeRefusal,
  type Submission,
  type SubmissionResult,
} from './rows.js'
import type { AttemptRecord, OutcomeWrite } from './outcome-write.js'
import type { IdempotencyRow } from './schema.js'
import { lockMessages } from './message-locks.js'
import { ReportRepo, type StatusReport } from './report.repo.js'
import {
  Changes,
  fanoutRow,
  LEAN_RETURNING,
  NEXT_SEQ,
  type ChangedRow,
  type StoredMessage,
} from './status-changes.js'

type Dialect = 'sqlite' | 'postgres'

export type { AttemptRecord, OutcomeWrite } from './outcome-write.js'

const IGNORE_DUPLICATES = ' ON CONFLICT DO NOTHING'
/**
 * The worker's record of a send's ids is the authority on its parts (a report that came first
 * could only guess them); what the report said of the id stays.
 */
const UPSERT_REFS =
  ' ON CONFLICT (provider, provider_message_id) DO UPDATE SET attempt = excluded.attempt, part = excluded.part, parts = excluded.parts WHERE provider_refs.message_id = excluded.message_id RETURNING message_id, attempt, status'

/** Claim lanes in the order they are served: the priority lane first. */
const LANES = ['transactional', 'marketing'] as const satisfies readonly MessageRecord['type'][]

/** Message repository: every multi-statement write, as dialect-neutral transaction programs. */
export class MessageRepo {
  readonly reports: ReportRepo

  constructor(
    private readonly dialect: Dialect,
    private readonly fanout: StatusChangeFanout,
    private readonly consents: ConsentRepo,
  ) {
    this.reports = new ReportRepo(dialect, fanout)
  }

  /**
   * Intake of new outbound messages: the messages, their first event and the idempotency
   * record in one transaction. Consent is checked here, in the transaction that accepts the
   * messages (src/domain/consent/enforce.ts): an opt-out committed before it is seen, and a
   * refused message is neither stored nor sent; each refusal is counted (consent_refusals).
   */
  *insertSubmissions(subs: readonly Submission[]): TxProgram<SubmissionResult[]> {
    const results: SubmissionResult[] = []
    const params: unknown[] = []
    const refusals = yield* this.#consentRefusals(subs)
    const counted: { reason: string; type: string; at: number }[] = []
    for (let s = 0; s < subs.length; s++) {
      const sub = subs[s] as Submission
      const refused = refusals[s]
      let idem = sub.idempotency
      if (refused && !sub.consent?.batch) {
        // Refused whole: nothing is stored, not even the key (errors are not replayed), unless
        // an earlier request with the key won: its answer stands.
        const found = idem
          ? ((yield rows('SELECT * FROM idempotency_keys WHERE api_key_id = ? AND key = ?', [
              idem.api_key_id,
              idem.key,
            ])) as IdempotencyRow[])
          : []
        if (found[0]) {
          results.push({ outcome: 'duplicate', existing: found[0] })
          continue
        }
        const first = refused[0] as IntakeRefusal
        counted.push(...refusalCounts(sub, refused))
        results.push({ outcome: 'refused', refusal: first })
        continue
      }
      if (refused && idem) {
        idem = { ...idem, response_body: refuseInBatchAnswer(idem.response_body, refused) }
      }
      if (idem) {
        const inserted = (yield run(
          'INSERT INTO idempotency_keys (api_key_id, key, request_hash, response_status, response_body, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
          [
            idem.api_key_id,
            idem.key,
            idem.request_hash,
            idem.response_status,
            idem.response_body,
            idem.created_at,
            idem.expires_at,
          ],
        )) as number
        if (inserted === 0) {
          const found = (yield rows(
            'SELECT * FROM idempotency_keys WHERE api_key_id = ? AND key = ?',
            [idem.api_key_id, idem.key],
          )) as IdempotencyRow[]
          if (found[0]) {
            results.push({ outcome: 'duplicate', existing: found[0] })
            continue
          }
        }
      }
      if (refused) {
        const skip = new Set(refused.map((r) => r.at))
        for (let at = 0; at * WIDTH < sub.rows.length; at++) {
          if (skip.has(at)) continue
          for (let i = at * WIDTH; i < (at + 1) * WIDTH; i++) params.push(sub.rows[i])
        }
        counted.push(...refusalCounts(sub, refused))
        results.push({ outcome: 'inserted', refused })
        continue
      }
      for (const v of sub.rows) params.push(v)
      results.push({ outcome: 'inserted' })
    }
    if (counted.length > 0) yield* this.consents.countRefusals(counted)
    // A first event with a detail (held for quiet hours) goes in NOTED_FIRST_EVENT_COLUMNS.
    const notes = new Map<unknown, string>()
    for (const sub of subs) {
      if (sub.details) for (const [id, d] of Object.entries(sub.details)) notes.set(id, d)
    }
    const events: unknown[] = []
    const noted: unknown[] = []
    for (let i = 0; i < params.length; i += WIDTH) {
      const id = params[i + AT_ID]
      const note = notes.size > 0 ? notes.get(id) : undefined
      if (note !== undefined) noted.push(id, params[i + AT_STATUS], note, params[i + AT_CREATED])
      else events.push(id, params[i + AT_STATUS], params[i + AT_CREATED])
    }
    yield* insertRows('messages', INTAKE_COLUMNS, params)
    yield* insertRows('message_events', FIRST_EVENT_COLUMNS, events)
    yield* insertRows('message_events', NOTED_FIRST_EVENT_COLUMNS, noted)
    return results
  }

  /**
   * Switchboard's own new outbound messages (keyword replies), with their first event, in the
   * caller's transaction: no idempotency record and none of intake's checks, so a reply the
   * rules allow (the confirmation of an opt-out) is never refused by them.
   */
  *insertOwn(messages: readonly MessageRecord[]): TxProgram<void> {
    if (messages.length === 0) return
    yield* insertRows('messages', INTAKE_COLUMNS, packRows(messages))
    yield* insertRows(
      'message_events',
      FIRST_EVENT_COLUMNS,
      messages.flatMap((m) => [m.id, m.status, m.created_at]),
    )
  }

  /**
   * Per submission, its messages refused for consent (undefined: none), from the recipients'
   * current states, read in this transaction.
   */
  *#consentRefusals(subs: readonly Submission[]): TxProgram<(IntakeRefusal[] | undefined)[]> {
    const phones: string[] = []
    for (const sub of subs) {
      if (!sub.consent) continue
      for (let i = AT_TO; i < sub.rows.length; i += WIDTH) phones.push(sub.rows[i] as string)
    }
    if (phones.length === 0) return subs.map(() => undefined)
    const states = statesByPhone(yield* this.consents.states(phones))
    return subs.map((sub) => {
      const senders = sub.consent?.senders
      if (!senders) return undefined
      let refused: IntakeRefusal[] | undefined
      for (let at = 0; at * WIDTH < sub.rows.length; at++) {
        const to = sub.rows[at * WIDTH + AT_TO] as string
        const type = sub.rows[at * WIDTH + AT_TYPE] as 'transactional' | 'marketing'
        const verdict = consentVerdict(states.get(to), type, senders[at] ?? null)
        if (verdict)
          (refused ??= []).push({ at, code: verdict.code, details: { scope: verdict.scope } })
      }
      return refused
    })
  }

  /**
   * Claims due messages for `owner`, the priority lane first: due transactional messages (alerts,
   * one-time codes), then due marketing messages, then rows whose lease expired (a crashed
   * worker's). Each lane is a walk of its own partial index in time order, so a marketing
   * backlog never stands in front of a transactional message. PostgreSQL skips rows other
   * workers hold.
   */
  *claim(owner: string, limit: number, now: number, leaseMs: number): TxProgram<MessageRecord[]> {
    const skip = this.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''
    const set = `UPDATE messages SET status = 'sending', ${NEXT_SEQ}, lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?`
    const claimed: StoredMessage[] = []
    for (const lane of LANES) {
      if (claimed.length >= limit) break
      const laneRows = (yield rows(
        `${set} WHERE id IN (SELECT id FROM messages WHERE status IN ('queued', 'scheduled') AND type = '${lane}' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?${skip}) RETURNING *`,
        [owner, now + leaseMs, now, now, limit - claimed.length],
      )) as StoredMessage[]
      // The lane's rows in time order (RETURNING promises none).
      claimed.push(...laneRows.sort((a, b) => (a.next_attempt_at ?? 0) - (b.next_attempt_at ?? 0)))
    }
    if (claimed.length < limit) {
      const reclaimed = (yield rows(
        `${set} WHERE id IN (SELECT id FROM messages WHERE status = 'sending' AND lease_until <= ? ORDER BY lease_until LIMIT ?${skip}) RETURNING *`,
        [owner, now + leaseMs, now, now, limit - claimed.length],
      )) as StoredMessage[]
      claimed.push(...reclaimed)
    }
    const changes = new Changes(this.fanout)
    for (const m of claimed)
      changes.add(m.id, m, 'sending', null, `attempt ${m.attempts} by ${owner}`, now)
    yield* changes.write()
    return claimed
  }

  /**
   * Records send outcomes; rows whose lease `owner` lost (a reclaim) are left alone. The
   * provider ids of an accepted send (one row per part) and every attempt are recorded in the
   * same transaction, whatever became of the lease: they happened.
   */
  *recordOutcomes(owner: string, writes: readonly OutcomeWrite[], now: number): TxProgram<void> {
    const changes = new Changes(this.fanout)
    const whole = this.fanout.everyMessage()
    const returning = whole ? '*' : LEAN_RETURNING
    const refs: unknown[] = []
    const attempts: unknown[] = []
    const sentBy = new Map<string, Extract<OutcomeWrite, { kind: 'sent' }>>()
    const sorted = [...writes].sort((a, b) => (a.id < b.id ? -1 : 1))
    // The messages first, in id order, as a delivery report about them takes them: a report
    // that overtook this record then waits for it (or it for the report) instead of deadlocking.
    yield* lockMessages(
      this.dialect,
      sorted.map((w) => w.id),
    )
    for (const w of sorted) {
      if (w.kind === 'release') {
        // The claim counted an attempt that was not made: give it back.
        const released = (yield rows(
          `UPDATE messages SET status = 'queued', ${NEXT_SEQ}, attempts = attempts - 1, error_code = COALESCE(?, error_code), next_attempt_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ? AND status = 'sending' RETURNING ${returning}`,
          [w.errorCode, w.nextAttemptAt, now, w.id, owner],
        )) as ChangedRow[]
        const row = released[0]
        if (!row) continue
        const detail = w.detail ?? `not sent; retry at ${new Date(w.nextAttemptAt).toISOString()}`
        changes.add(row.id, yield* fanoutRow(row, whole), 'queued', w.errorCode, detail, now)
        continue
      }
      if (w.attempt) pushAttempt(attempts, w.id, w.attempt)
      if (w.kind === 'sent') {
        const first = w.providerMessageIds[0] ?? null
        const cost = w.estimatedCost ?? null
        const price = w.price ?? null
        // An unknown outcome sent no more is `sent` with its code and no provider id.
        const errorCode = w.errorCode ?? null
        const sent = (yield rows(
          `UPDATE messages SET status = 'sent', ${NEXT_SEQ}, provider = ?, provider_message_id = ?, sender = ?, estimated_cost = ?, cost_currency = ?, price = COALESCE(?, price), price_currency = COALESCE(?, price_currency), sent_at = ?, lease_owner = NULL, lease_until = NULL, error_code = ?, error_message = ?, updated_at = ? WHERE id = ? AND lease_owner = ? AND status = 'sending' RETURNING ${returning}`,
          [
            w.provider,
            first,
            w.sender,
            cost?.amount ?? null,
            cost?.currency ?? null,
            price?.amount ?? null,
            price?.currency ?? null,
            now,
            errorCode,
            w.errorMessage ?? null,
            now,
            w.id,
            owner,
          ],
        )) as ChangedRow[]
        let attempt = w.attempt?.number ?? sent[0]?.attempts
        if (sent[0]) {
          changes.add(sent[0].id, yield* fanoutRow(sent[0], whole), 'sent', errorCode, null, now)
        } else {
          // A delivery report already moved it on (and wrote the `sent` step): keep its status
          // and the time the report implied, record the provider id, sender and costs.
          const kept = (yield rows(
            'UPDATE messages SET provider = ?, provider_message_id = COALESCE(?, provider_message_id), sender = ?, estimated_cost = ?, cost_currency = ?, price = COALESCE(price, ?), price_currency = COALESCE(price_currency, ?), sent_at = COALESCE(sent_at, ?), lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ? RETURNING attempts',
            [
              w.provider,
              first,
              w.sender,
              cost?.amount ?? null,
              cost?.currency ?? null,
              price?.amount ?? null,
              price?.currency ?? null,
              now,
              now,
              w.id,
              owner,
            ],
          )) as { attempts: number }[]
          attempt ??= kept[0]?.attempts
        }
        // Without an attempt number (no record, lease lost) the ids cannot be grouped by try.
        if (attempt === undefined) continue
        sentBy.set(w.id, w)
        const parts = w.providerMessageIds.length
        w.providerMessageIds.forEach((pid, i) => {
          refs.push(w.provider, pid, w.id, attempt, i + 1, parts, null, null, null, null)
        })
        continue
      }
      const status = w.kind === 'retry' ? 'queued' : w.status
      const updated = (yield rows(
        `UPDATE messages SET status = ?, ${NEXT_SEQ}, provider = COALESCE(?, provider), error_code = ?, error_message = ?, next_attempt_at = ?, completed_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ? AND status = 'sending' RETURNING ${returning}`,
        [
          status,
          w.provider,
          w.errorCode,
          w.errorMessage,
          w.kind === 'retry' ? w.nextAttemptAt : null,
          w.kind === 'retry' ? null : now,
          now,
          w.id,
          owner,
        ],
      )) as ChangedRow[]
      const row = updated[0]
      if (!row) continue
      const detail =
        w.kind === 'retry' ? `retry at ${new Date(w.nextAttemptAt).toISOString()}` : null
      changes.add(row.id, yield* fanoutRow(row, whole), status, w.errorCode, detail, now)
    }
    yield* insertRows('attempts', ATTEMPT_COLUMNS, attempts, IGNORE_DUPLICATES)
    // A report may have named an id first (it overtook this record) and guessed its parts:
    // with the parts known, what the reports said adds up again.
    const reported = yield* upsertRefs(refs)
    for (const r of reported) {
      const w = sentBy.get(r.message_id)
      if (!w) continue
      yield* this.reports.settle(r.message_id, r.attempt, now, now, {
        provider: w.provider,
        providerMessageId: w.providerMessageIds[0] ?? '',
        changes,
      })
    }
    yield* changes.write()
  }

  /**
   * Applies provider delivery reports (see ReportRepo). Returns the reports that match no
   * message yet, to be retried later.
   */
  applyReports(provider: string, reports: readonly StatusReport[], now: number) {
    return this.reports.applyReports(provider, reports, now)
  }

  /** Cancels a scheduled or still-queued message. */
  *cancel(id: string, now: number): TxProgram<MessageRecord | 'not_found' | 'not_cancelable'> {
    const updated = (yield rows(
      `UPDATE messages SET status = 'canceled', ${NEXT_SEQ}, next_attempt_at = NULL, completed_at = ?, updated_at = ? WHERE id = ? AND status IN ('queued', 'scheduled') RETURNING *`,
      [now, now, id],
    )) as StoredMessage[]
    const m = updated[0]
    if (!m) {
      const exists = (yield rows('SELECT id FROM messages WHERE id = ?', [id])) as unknown[]
      return exists.length > 0 ? 'not_cancelable' : 'not_found'
    }
    const changes = new Changes(this.fanout)
    changes.add(m.id, m, 'canceled', null, null, now)
    yield* changes.write()
    return m
  }
}

/** The consent_refusals rows of a submission's refused messages. */
function refusalCounts(
  sub: Submission,
  refused: readonly IntakeRefusal[],
): { reason: string; type: string; at: number }[] {
  return refused.map((r) => ({
    reason: r.code,
    type: sub.rows[r.at * WIDTH + AT_TYPE] as string,
    at: sub.rows[r.at * WIDTH + AT_CREATED] as number,
  }))
}

/** Appends an `attempts` row (ATTEMPT_COLUMNS order). */
function pushAttempt(out: unknown[], messageId: string, a: AttemptRecord): void {
  out.push(
    messageId,
    a.number,
    a.provider,
    a.sender,
    a.startedAt,
    a.endedAt,
    a.outcome,
    a.errorCode,
    a.latencyMs,
    a.cost?.amount ?? null,
    a.cost?.currency ?? null,
  )
}

/**
 * Upserts a send's provider ids (REF_COLUMNS rows); returns the ones a report had named first
 * (they carry its status), one per message and attempt.
 */
function* upsertRefs(
  flat: readonly unknown[],
): Generator<Query, { message_id: string; attempt: number }[], unknown> {
  const width = REF_COLUMNS.length
  const per = CHUNK * width
  const seen = new Map<string, { message_id: string; attempt: number }>()
  for (let i = 0; i < flat.length; i += per) {
    const chunk = flat.slice(i, i + per)
    const text = insertText('provider_refs', REF_COLUMNS, chunk.length / width, UPSERT_REFS)
    const returned = (yield rows(text, chunk)) as {
      message_id: string
      attempt: number
      status: string | null
    }[]
    for (const r of returned) {
      if (r.status !== null) seen.set(`${r.message_id} ${r.attempt}`, r)
    }
  }
  return [...seen.values()]
}

import type { MessageRecord } from '../domain/messages/message.js'
import { statusesBelow, type MessageStatus } from '../domain/messages/status.js'
import type { StatusChangeFanout } from '../domain/webhooks/fanout.js'
import type { ProviderEvent } from '../providers/provider.js'
import { rows, run, type Query, type TxProgram } from './executor.js'
import {
  AT_CREATED,
  AT_ID,
  AT_STATUS,
  FIRST_EVENT_COLUMNS,
  INTAKE_COLUMNS,
  insertRows,
  WIDTH,
  type Submission,
  type SubmissionResult,
} from './rows.js'
import { MESSAGE_COLUMNS, type IdempotencyRow } from './schema.js'
import { Changes, NEXT_SEQ, type StoredMessage } from './status-changes.js'

type Dialect = 'sqlite' | 'postgres'
type StatusReport = Extract<ProviderEvent, { type: 'status' }>

/** The worker's decision for one claimed message, already resolved by the domain. */
export type OutcomeWrite =
  | { kind: 'sent'; id: string; provider: string; providerMessageId: string }
  | {
      kind: 'retry'
      id: string
      provider: string | null
      nextAttemptAt: number
      errorCode: string
      errorMessage: string | null
    }
  | {
      kind: 'final'
      id: string
      provider: string | null
      status: 'failed' | 'expired' | 'rejected'
      errorCode: string
      errorMessage: string | null
    }

/**
 * What a status UPDATE returns when no endpoint takes every message's changes: enough to tell
 * whether this one makes a webhook. Building the whole 28-column row as an object costs more
 * than the UPDATE itself.
 */
const LEAN_RETURNING = 'id, status_callback'
/** Statuses before `sent`: a report finding a message in one of them implies it was sent. */
const PRE_SENT = statusesBelow('sent')
const PRE_SENT_IN = PRE_SENT.map(() => '?').join(', ')
type ChangedRow = Pick<StoredMessage, 'id' | 'status_callback'>
/** Claim lanes in the order they are served: the priority lane first. */
const LANES = ['transactional', 'marketing'] as const satisfies readonly MessageRecord['type'][]

/** Message repository: every multi-statement write, as dialect-neutral transaction programs. */
export class MessageRepo {
  constructor(
    private readonly dialect: Dialect,
    private readonly fanout: StatusChangeFanout,
  ) {}

  /**
   * Intake of new outbound messages: the messages, their first event and the idempotency
   * record in one transaction.
   */
  *insertSubmissions(subs: readonly Submission[]): TxProgram<SubmissionResult[]> {
    const results: SubmissionResult[] = []
    const params: unknown[] = []
    for (const sub of subs) {
      const idem = sub.idempotency
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
      for (const v of sub.rows) params.push(v)
      results.push({ outcome: 'inserted' })
    }
    const events: unknown[] = []
    for (let i = 0; i < params.length; i += WIDTH) {
      events.push(params[i + AT_ID], params[i + AT_STATUS], params[i + AT_CREATED])
    }
    yield* insertRows('messages', INTAKE_COLUMNS, params)
    yield* insertRows('message_events', FIRST_EVENT_COLUMNS, events)
    return results
  }

  /**
   * Inbound messages (a provider's webhook): stored whole, already final (`received`, with the
   * provider's ids), with their one event row.
   */
  *insertInbound(messages: readonly MessageRecord[]): TxProgram<void> {
    const params: unknown[] = []
    const events: unknown[] = []
    for (const m of messages) {
      for (const c of MESSAGE_COLUMNS) params.push(m[c])
      events.push(m.id, m.status, m.created_at)
    }
    yield* insertRows('messages', MESSAGE_COLUMNS, params)
    yield* insertRows('message_events', FIRST_EVENT_COLUMNS, events)
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
      // The lane's rows in time order (RETURNING keeps none).
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
   * Gives claimed messages back to the queue unsent (pacing found no slot for them soon): queued
   * again until `until`, the claim's attempt not counted. Rows whose lease `owner` lost are left
   * alone.
   */
  *deferClaims(
    owner: string,
    items: readonly { id: string; until: number }[],
    now: number,
  ): TxProgram<void> {
    const changes = new Changes(this.fanout)
    const whole = this.fanout.everyMessage()
    const returning = whole ? '*' : LEAN_RETURNING
    for (const d of [...items].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const updated = (yield rows(
        `UPDATE messages SET status = 'queued', ${NEXT_SEQ}, attempts = attempts - 1, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ? AND status = 'sending' RETURNING ${returning}`,
        [d.until, now, d.id, owner],
      )) as ChangedRow[]
      const row = updated[0]
      if (!row) continue
      const detail = `paced: next slot at ${new Date(d.until).toISOString()}`
      changes.add(row.id, yield* this.#fanoutRow(row, whole), 'queued', null, detail, now)
    }
    yield* changes.write()
  }

  /** Records send outcomes; rows whose lease `owner` lost (a reclaim) are left alone. */
  *recordOutcomes(owner: string, writes: readonly OutcomeWrite[], now: number): TxProgram<void> {
    const changes = new Changes(this.fanout)
    const whole = this.fanout.everyMessage()
    const returning = whole ? '*' : LEAN_RETURNING
    for (const w of [...writes].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      if (w.kind === 'sent') {
        const sent = (yield rows(
          `UPDATE messages SET status = 'sent', ${NEXT_SEQ}, provider = ?, provider_message_id = ?, sent_at = ?, lease_owner = NULL, lease_until = NULL, error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ? AND lease_owner = ? AND status = 'sending' RETURNING ${returning}`,
          [w.provider, w.providerMessageId, now, now, w.id, owner],
        )) as ChangedRow[]
        if (sent[0]) {
          changes.add(sent[0].id, yield* this.#fanoutRow(sent[0], whole), 'sent', null, null, now)
        } else {
          // A delivery report already moved it on (and wrote the `sent` step): keep its status
          // and the time the report implied, record the provider id.
          yield run(
            'UPDATE messages SET provider = ?, provider_message_id = ?, sent_at = COALESCE(sent_at, ?), lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ?',
            [w.provider, w.providerMessageId, now, now, w.id, owner],
          )
        }
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
      changes.add(row.id, yield* this.#fanoutRow(row, whole), status, w.errorCode, detail, now)
    }
    yield* changes.write()
  }

  /**
   * Applies provider delivery reports monotonically (a late or repeated report changes
   * nothing). Returns the reports that match no message yet, to be retried later.
   */
  *applyReports(
    provider: string,
    reports: readonly StatusReport[],
    now: number,
  ): TxProgram<StatusReport[]> {
    const unmatched: StatusReport[] = []
    const changes = new Changes(this.fanout)
    const whole = this.fanout.everyMessage()
    const returning = whole ? '*' : LEAN_RETURNING
    const key = (r: StatusReport) => r.messageId ?? r.providerMessageId
    for (const r of [...reports].sort((a, b) => (key(a) < key(b) ? -1 : 1))) {
      const final = r.status !== 'sent'
      let updated = final ? yield* this.#reportAfterSent(provider, r, now, returning) : []
      let skippedSent = false
      if (!updated[0]) {
        updated = yield* this.#reportBeforeSent(provider, r, now, returning)
        skippedSent = final
      }
      if (!updated[0]) {
        // Nothing moved: a late or repeated report (ignored), or no such message yet (parked).
        const found = (
          r.messageId
            ? yield rows(
                'SELECT status FROM messages WHERE id = ? AND (provider IS NULL OR provider = ?)',
                [r.messageId, provider],
              )
            : yield rows(
                'SELECT status FROM messages WHERE provider = ? AND provider_message_id = ?',
                [provider, r.providerMessageId],
              )
        ) as { status: MessageStatus }[]
        if (!found[0]) unmatched.push(r)
        // PostgreSQL: the send's outcome committed while the second UPDATE waited for the row,
        // which then no longer matched it; the first one now does.
        if (found[0]?.status !== 'sent' || !final) continue
        updated = yield* this.#reportAfterSent(provider, r, now, returning)
        skippedSent = false
      }
      const row = updated[0]
      if (!row) continue
      const m = yield* this.#fanoutRow(row, whole)
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
        changes.add(row.id, sent, 'sent', null, 'implied by a delivery report', now)
      }
      changes.add(row.id, m, r.status, r.errorCode ?? null, null, now)
    }
    yield* changes.write()
    return unmatched
  }

  /**
   * A final report for a message recorded `sent` (the usual case): it already carries this
   * provider's id, so the provider columns stay out of SET and SQLite leaves the
   * messages_provider_ref entry alone (it rewrites an index whenever one of its columns is
   * assigned, even unchanged).
   */
  *#reportAfterSent(
    provider: string,
    r: StatusReport,
    now: number,
    returning: string,
  ): Generator<Query, ChangedRow[], unknown> {
    const set = `UPDATE messages SET status = ?, ${NEXT_SEQ}, error_code = COALESCE(?, error_code), completed_at = ?, updated_at = ? WHERE status = 'sent' AND `
    const params = [r.status, r.errorCode ?? null, r.at, now]
    return (
      r.messageId
        ? yield rows(`${set}id = ? AND provider = ? RETURNING ${returning}`, [
            ...params,
            r.messageId,
            provider,
          ])
        : yield rows(`${set}provider = ? AND provider_message_id = ? RETURNING ${returning}`, [
            ...params,
            provider,
            r.providerMessageId,
          ])
    ) as ChangedRow[]
  }

  /**
   * A report for a message not recorded `sent`: it overtook the worker's record of the send,
   * or came for an attempt whose answer was lost (a timeout). The report implies the message
   * was sent: it fills the provider ids and `sent_at`, and its own error code (or none)
   * replaces a retry's.
   */
  *#reportBeforeSent(
    provider: string,
    r: StatusReport,
    now: number,
    returning: string,
  ): Generator<Query, ChangedRow[], unknown> {
    const match = r.messageId
      ? 'id = ? AND (provider IS NULL OR provider = ?)'
      : 'provider = ? AND provider_message_id = ?'
    return (yield rows(
      // A final report also stands for the skipped `sent`: two events, two sequence numbers.
      `UPDATE messages SET status = ?, event_seq = event_seq + ?, error_code = ?, error_message = NULL, sent_at = COALESCE(sent_at, ?), completed_at = ?, updated_at = ?, provider = COALESCE(provider, ?), provider_message_id = COALESCE(provider_message_id, ?) WHERE ${match} AND status IN (${PRE_SENT_IN}) RETURNING ${returning}`,
      [
        r.status,
        r.status === 'sent' ? 1 : 2,
        r.errorCode ?? null,
        r.at,
        r.status === 'sent' ? null : r.at,
        now,
        provider,
        r.providerMessageId,
        ...(r.messageId ? [r.messageId, provider] : [provider, r.providerMessageId]),
        ...PRE_SENT,
      ],
    )) as ChangedRow[]
  }

  /**
   * The message a status change fans out from: the row itself when the UPDATE returned it
   * whole, null when the change makes no webhook (no endpoints, no statusCallback), else the
   * row read again in this transaction.
   */
  *#fanoutRow(row: ChangedRow, whole: boolean): Generator<Query, StoredMessage | null, unknown> {
    if (whole) return row as StoredMessage
    if (row.status_callback === null) return null
    const full = (yield rows('SELECT * FROM messages WHERE id = ?', [row.id])) as StoredMessage[]
    return full[0] ?? null
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

/**
 * Rows for multi-row INSERTs: the column lists the repositories write, the cached statement
 * texts, and the packed form in which intake hands new messages to the thread that commits
 * them.
 */
import type { MessageRecord } from '../domain/messages/message.js'
import { run, type Query } from './executor.js'
import { MESSAGE_COLUMNS, type IdempotencyRow } from './schema.js'

/**
 * One intake request: its new messages packed as intake rows (see `packRows`), and the
 * idempotency record to store with them.
 */
export interface Submission {
  readonly idempotency: IdempotencyRow | null
  /** The messages' INTAKE_COLUMNS values, one message after another. */
  readonly rows: readonly unknown[]
  /** A first event's detail by message id, where it has one (held for quiet hours). */
  readonly details?: Readonly<Record<string, string>> | undefined
  /**
   * Consent is checked in the intake transaction (src/domain/consent/enforce.ts): `senders`
   * holds, per message, the sender it will go out from (its `from`, else its route's sticky
   * sender; null when not known). `batch`: refusals become entries of the batch answer, kept
   * in the idempotency record; else the submission is refused whole and nothing is stored.
   * Absent: no check (Switchboard's own compliance replies, such as a STOP confirmation).
   */
  readonly consent?: { readonly senders: readonly (string | null)[]; readonly batch: boolean }
}

/** A message of a submission refused at intake for consent. */
export interface IntakeRefusal {
  /** The message's position in the submission's rows. */
  readonly at: number
  readonly code: 'recipient_opted_out' | 'consent_required'
  readonly details: { readonly scope: string }
}

/**
 * What became of one submission: stored (a batch's messages refused for consent listed in
 * `refused`), the response of an earlier one with its key, or refused whole for consent.
 */
export type SubmissionResult =
  | { outcome: 'inserted'; refused?: readonly IntakeRefusal[] }
  | { outcome: 'duplicate'; existing: IdempotencyRow }
  | { outcome: 'refused'; refusal: IntakeRefusal }

/** Rows per multi-row INSERT: fewer statements, well under SQLite's parameter limit. */
export const CHUNK = 64
export const EVENT_COLUMNS = ['message_id', 'status', 'error_code', 'detail', 'at'] as const
/** A message's first event (queued or scheduled) has no error code, and seldom a detail. */
export const FIRST_EVENT_COLUMNS = ['message_id', 'status', 'at'] as const
/** A first event with a detail (a marketing message held for quiet hours). */
export const NOTED_FIRST_EVENT_COLUMNS = ['message_id', 'status', 'detail', 'at'] as const
export const DELIVERY_COLUMNS = [
  'id',
  'message_id',
  'endpoint_id',
  'url',
  'destination',
  'event_type',
  'payload',
  'status',
  'attempts',
  'next_attempt_at',
  'lease_owner',
  'lease_until',
  'last_status_code',
  'last_error',
  'created_at',
  'updated_at',
] as const

/** A provider id row (provider_refs), as sends and reports write it. */
export const REF_COLUMNS = [
  'provider',
  'provider_message_id',
  'message_id',
  'attempt',
  'part',
  'parts',
  'status',
  'error_code',
  'price',
  'currency',
] as const
export const ATTEMPT_COLUMNS = [
  'message_id',
  'attempt',
  'provider',
  'sender',
  'started_at',
  'ended_at',
  'outcome',
  'error_code',
  'latency_ms',
  'cost',
  'cost_currency',
] as const

/**
 * A new message's row: the columns intake sets, in INTAKE_COLUMNS order. The rest (the sending
 * state: provider ids, errors, lease, attempts, sent and completed times, sender and costs)
 * start as their column defaults, and a record that says otherwise is refused: fewer values to
 * bind on the hottest statement, read with plain property loads.
 */
const SENDING_STATE = new Set<string>([
  'error_code',
  'error_message',
  'provider',
  'provider_message_id',
  'attempts',
  'lease_owner',
  'lease_until',
  'sent_at',
  'completed_at',
  'sender',
  'estimated_cost',
  'cost_currency',
  'price',
  'price_currency',
])
export const INTAKE_COLUMNS = MESSAGE_COLUMNS.filter((c) => !SENDING_STATE.has(c))

/** Appends a new message's INTAKE_COLUMNS values (in that order) to `out`. */
function pushIntakeRow(m: MessageRecord, out: unknown[]): void {
  if (
    m.error_code !== null ||
    m.error_message !== null ||
    m.provider !== null ||
    m.provider_message_id !== null ||
    m.attempts !== 0 ||
    m.lease_owner !== null ||
    m.lease_until !== null ||
    m.sent_at !== null ||
    m.completed_at !== null ||
    m.sender !== null ||
    m.estimated_cost !== null ||
    m.price !== null
  ) {
    throw new Error(`message ${m.id} is new but carries sending state`)
  }
  out.push(
    m.id,
    m.api_key_id,
    m.direction,
    m.to_number,
    m.from_number,
    m.body,
    m.type,
    m.encoding,
    m.segments,
    m.smart_encoding,
    m.status,
    m.metadata,
    m.status_callback,
    m.validity_period,
    m.valid_until,
    m.send_at,
    m.next_attempt_at,
    m.created_at,
    m.updated_at,
    m.template_name,
    m.template_version,
    m.template_locale,
  )
}

export const WIDTH = INTAKE_COLUMNS.length
export const AT_ID = INTAKE_COLUMNS.indexOf('id')
export const AT_STATUS = INTAKE_COLUMNS.indexOf('status')
export const AT_CREATED = INTAKE_COLUMNS.indexOf('created_at')
export const AT_TO = INTAKE_COLUMNS.indexOf('to_number')
export const AT_TYPE = INTAKE_COLUMNS.indexOf('type')

/**
 * Packs new outbound messages for intake (a Submission's `rows`): a flat array of plain values
 * is what crosses to the background thread cheapest (about half the structured-clone cost of
 * the records), and it is the INSERT's parameter list already. Throws if a message carries
 * sending state.
 */
export function packRows(messages: readonly MessageRecord[]): unknown[] {
  const rows: unknown[] = []
  for (const m of messages) pushIntakeRow(m, rows)
  return rows
}

/** How many messages a submission holds. */
export const submissionSize = (sub: Submission): number => sub.rows.length / WIDTH

/**
 * Multi-row INSERT texts, built once per table, column list (by identity: the constants above)
 * and row count: the executor's statement cache looks them up by text, and a string seen
 * before has its hash already.
 */
const insertSql = new Map<string, Map<readonly string[], string[]>>()
export function insertText(
  table: string,
  columns: readonly string[],
  n: number,
  tail = '',
): string {
  let byColumns = insertSql.get(table + tail)
  if (!byColumns) insertSql.set(table + tail, (byColumns = new Map<readonly string[], string[]>()))
  let byCount = byColumns.get(columns)
  if (!byCount) byColumns.set(columns, (byCount = []))
  let text = byCount[n]
  if (text === undefined) {
    const row = `(${columns.map(() => '?').join(', ')})`
    text = `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array<string>(n).fill(row).join(', ')}${tail}`
    byCount[n] = text
  }
  return text
}

/**
 * Multi-row INSERT statements of the given columns, CHUNK rows at most each. `tail` ends each
 * statement (` ON CONFLICT DO NOTHING`). Returns how many rows were inserted.
 */
export function* insertRows(
  table: string,
  columns: readonly string[],
  flat: readonly unknown[],
  tail = '',
): Generator<Query, number, unknown> {
  const width = columns.length
  const per = CHUNK * width
  let inserted = 0
  for (let i = 0; i < flat.length; i += per) {
    const params = flat.slice(i, i + per)
    inserted += (yield run(
      insertText(table, columns, params.length / width, tail),
      params,
    )) as number
  }
  return inserted
}

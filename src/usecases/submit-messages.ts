import { errors, type ErrorDef } from '../domain/errors.js'
import type { MessageRecord } from '../domain/messages/message.js'
import {
  prepareMessage,
  type MessagePolicy,
  type PrepareResult,
  type SendRequest,
} from '../domain/messages/prepare.js'
import { refuseInBatchAnswer } from '../domain/messages/batch-answer.js'
import { isoOf, messageJson } from '../domain/messages/present.js'
import { holdAtIntake, type QuietHours } from '../domain/quiet-hours/quiet-hours.js'
import type { Route } from '../domain/routing/route.js'
import { countryOf, type Router } from '../domain/routing/router.js'
import { packRows, type Submission, type SubmissionResult } from '../store/rows.js'
import type { IdempotencyRow } from '../store/schema.js'
import { renderForSend } from '../domain/templates/template.js'
import { TemplateStore, type TemplateSnapshot } from './templates.js'

/**
 * A send request: a `body`, or a `template` with its `variables` (and optionally `locale` and
 * `templateVersion`) rendered into one at intake (docs/templates.md).
 */
export interface SubmitRequest extends Omit<SendRequest, 'body'> {
  body?: string | undefined
  template?: string | undefined
  variables?: Record<string, unknown> | undefined
  locale?: string | undefined
  templateVersion?: number | undefined
}

const EMPTY: TemplateSnapshot = new Map()

/** An Idempotency-Key claimed for this submission: its record is stored with the messages. */
export interface IdempotencyClaim {
  readonly apiKeyId: string
  readonly key: string
  /** Fingerprint of the request (`requestHash`); a replay must match it. */
  readonly hash: string
}

export interface SubmitContext {
  /** The API key the messages are sent under; null for Switchboard's own sends. */
  readonly apiKeyId: string | null
  readonly idempotency?: IdempotencyClaim | null | undefined
  /**
   * Skip the consent check: only for Switchboard's own compliance replies (the confirmation
   * of an opt-out, a HELP answer), which go to numbers that opted out by definition.
   */
  readonly consentExempt?: boolean
}

/**
 * What became of a submission. `accepted`: durably stored, `json` is the answer (the stored
 * message, or the batch summary), also kept as the idempotent response. `replay`: an earlier
 * submission with the same Idempotency-Key won; its stored answer is returned.
 */
export type SubmitOutcome =
  | { outcome: 'accepted'; json: string }
  | { outcome: 'invalid'; error: ErrorDef; details: Record<string, unknown> }
  | { outcome: 'replay'; stored: IdempotencyRow }

export interface MessageSubmitterDeps {
  /** Group-commit intake: resolves once the submission is durably stored. */
  readonly intake: (sub: Submission) => Promise<SubmissionResult>
  readonly policy: MessagePolicy
  /**
   * The routes in force: a message none accepts is refused (`no_route`), never queued; the
   * sender a message will go out from is checked for consent at intake.
   */
  readonly router: Pick<Router, 'choose'>
  /**
   * The sender a message goes out from when neither it nor its route names one (a provider's
   * default, such as the simulator's first number): consent is checked for it. Default: none.
   */
  readonly defaultSender?: (route: Route) => string | null
  readonly idempotencyTtlMs: number
  readonly now: () => number
  /** Marketing messages due outside their recipient's window are held (none: never held). */
  readonly quietHours?: QuietHours | undefined
  /** Templates a send may name (none: a send naming one is `template_not_found`). */
  readonly templates?: TemplateStore | undefined
}

/**
 * A send gives exactly one of `body` and `template` (with its variables, locale, version); the
 * refusal reads like the schema's own (a list of problems, docs/errors.md).
 */
const oneOf = (
  field: 'body' | 'template',
): { ok: false; error: ErrorDef; details: Record<string, unknown> } => ({
  ok: false,
  error: errors.validation_failed,
  details: [
    field === 'body'
      ? { in: 'body', path: '', message: 'must have exactly one of body and template' }
      : {
          in: 'body',
          path: '',
          message: 'variables, locale and templateVersion need template',
        },
  ] as unknown as Record<string, unknown>,
})

/** First-event details by message id (Submission.details). */
type Notes = Record<string, string>
const some = (notes: Notes): Notes | undefined => {
  for (const _ in notes) return notes
  return undefined
}

interface BatchItem {
  index: number
  message?: {
    id: string
    status: string
    to: string
    encoding: string
    segments: number
    createdAt: string
  }
  error?: { code: string; message: string; details: Record<string, unknown> }
}

/**
 * The submit-messages use case: validation, the idempotency record and durable intake, with
 * no HTTP request. The API's message routes call it, and so will keyword auto-replies,
 * conversations, Verify and campaigns.
 *
 * It hands intake the packed rows and the answer only, so the message records and answer
 * objects are garbage while the commit is awaited: kept alive across it, a 1,000-message
 * batch's records outlived young-generation collections and were copied into the old
 * generation (docs/ARCHITECTURE.md).
 */
export class MessageSubmitter {
  constructor(private readonly deps: MessageSubmitterDeps) {}

  /** One message. `accepted.json` is the stored message as the API presents it. */
  async submit(req: SubmitRequest, ctx: SubmitContext): Promise<SubmitOutcome> {
    const snapshot = await this.#load([req])
    const prepared = this.#prepareOne(req, ctx, snapshot)
    if ('outcome' in prepared) return prepared
    return this.#store(prepared.rows, prepared.senders, false, prepared.json, ctx, prepared.details)
  }

  /** Up to a batch of messages, each validated on its own; `json` lists each by index. */
  async submitBatch(reqs: readonly SubmitRequest[], ctx: SubmitContext): Promise<SubmitOutcome> {
    const snapshot = await this.#load(reqs)
    const { rows, senders, json, details } = this.#prepareBatch(reqs, ctx.apiKeyId, snapshot)
    return this.#store(rows, senders, true, json, ctx, details)
  }

  /** The templates the requests name, from the cache: one read per stale name, not per message. */
  async #load(reqs: readonly SubmitRequest[]): Promise<TemplateSnapshot> {
    let names: string[] | undefined
    for (const r of reqs) if (r.template !== undefined) (names ??= []).push(r.template)
    if (names === undefined || !this.deps.templates) return EMPTY
    return this.deps.templates.load(names)
  }

  #prepareOne(
    req: SubmitRequest,
    ctx: SubmitContext,
    snapshot: TemplateSnapshot,
  ):
    | { rows: unknown[]; senders: (string | null)[]; json: string; details: Notes | undefined }
    | Extract<SubmitOutcome, { outcome: 'invalid' }> {
    const notes: Notes = {}
    const r = this.#prepare(req, ctx.apiKeyId, this.deps.now(), notes, snapshot)
    if (!r.ok) return { outcome: 'invalid', error: r.error, details: r.details }
    return {
      rows: packRows([r.message]),
      senders: [r.sender],
      json: messageJson(r.message),
      details: some(notes),
    }
  }

  #prepareBatch(
    reqs: readonly SubmitRequest[],
    apiKeyId: string | null,
    snapshot: TemplateSnapshot,
  ): { rows: unknown[]; senders: (string | null)[]; json: string; details: Notes | undefined } {
    const now = this.deps.now()
    const messages: MessageRecord[] = []
    const senders: (string | null)[] = []
    const data: BatchItem[] = []
    const notes: Notes = {}
    reqs.forEach((m, index) => {
      const r = this.#prepare(m, apiKeyId, now, notes, snapshot)
      if (r.ok) {
        const x = r.message
        messages.push(x)
        senders.push(r.sender)
        // A summary per item: the full message is one GET away, and a 1,000-message answer
        // stays small.
        data.push({
          index,
          message: {
            id: x.id,
            status: x.status,
            to: x.to_number,
            encoding: x.encoding,
            segments: x.segments,
            createdAt: isoOf(x.created_at),
          },
        })
      } else {
        data.push({
          index,
          error: { code: r.error.code, message: r.error.message, details: r.details },
        })
      }
    })
    const body = { accepted: messages.length, failed: data.length - messages.length, data }
    return { rows: packRows(messages), senders, json: JSON.stringify(body), details: some(notes) }
  }

  /**
   * Validates one request and checks that a route accepts it; `sender` is the one it will go
   * out from (its `from`, else its route's sticky sender; null: the provider's default). A
   * marketing message due in quiet hours is scheduled for its window (the reason goes to
   * `notes`, for its first event).
   */
  #prepare(
    req: SubmitRequest,
    apiKeyId: string | null,
    now: number,
    notes: Notes,
    snapshot: TemplateSnapshot,
  ):
    | Exclude<PrepareResult, { ok: true }>
    | (Extract<PrepareResult, { ok: true }> & { sender: string | null }) {
    let r: PrepareResult
    if (req.template === undefined) {
      if (req.body === undefined) return oneOf('body')
      if (
        req.variables !== undefined ||
        req.locale !== undefined ||
        req.templateVersion !== undefined
      )
        return oneOf('template')
      r = prepareMessage(req as SendRequest, { apiKeyId, now, policy: this.deps.policy })
    } else {
      if (req.body !== undefined) return oneOf('body')
      const v = TemplateStore.resolve(snapshot, req.template, req.locale, req.templateVersion)
      if (!v.ok) return v
      const { compiled, decls, use } = v.value
      const text = renderForSend(compiled, decls, req.variables ?? {}, use.locale)
      if (!text.ok) return text
      r = prepareMessage(
        { ...req, body: text.value },
        { apiKeyId, now, policy: this.deps.policy, template: use },
      )
    }
    if (!r.ok) return r
    const m = r.message
    const choice = this.deps.router.choose({ to: m.to_number, type: m.type, from: m.from_number })
    if (choice) {
      const held = holdAtIntake(m, this.deps.quietHours)
      if (held !== null) notes[m.id] = held
      return {
        ...r,
        sender: choice.sender ?? this.deps.defaultSender?.(choice.route) ?? null,
      }
    }
    return {
      ok: false,
      error: errors.no_route,
      details: { country: countryOf(m.to_number) ?? null, type: m.type },
    }
  }

  /**
   * Stores the rows with the idempotency record of their 202 answer `json`. Messages refused
   * for consent in the intake transaction: a single one is the request's error; a batch's
   * become entries of its answer.
   */
  async #store(
    rows: unknown[],
    senders: (string | null)[],
    batch: boolean,
    json: string,
    ctx: SubmitContext,
    details: Notes | undefined,
  ): Promise<SubmitOutcome> {
    const idem = ctx.idempotency ?? null
    let record: IdempotencyRow | null = null
    if (idem) {
      const now = this.deps.now()
      record = {
        api_key_id: idem.apiKeyId,
        key: idem.key,
        request_hash: idem.hash,
        response_status: 202,
        response_body: json,
        created_at: now,
        expires_at: now + this.deps.idempotencyTtlMs,
      }
    }
    const consent = ctx.consentExempt ? undefined : { senders, batch }
    const result = await this.deps.intake({
      idempotency: record,
      rows,
      ...(consent ? { consent } : {}),
      ...(details ? { details } : {}),
    })
    if (result.outcome === 'duplicate') return { outcome: 'replay', stored: result.existing }
    if (result.outcome === 'refused') {
      const { code, details } = result.refusal
      return { outcome: 'invalid', error: errors[code], details: { ...details } }
    }
    if (result.refused)
      return { outcome: 'accepted', json: refuseInBatchAnswer(json, result.refused) }
    return { outcome: 'accepted', json }
  }
}

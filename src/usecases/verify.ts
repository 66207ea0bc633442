import { AppError, errors, type ErrorDef } from '../domain/errors.js'
import { newId } from '../domain/ids.js'
import { parsePhone } from '../domain/messages/phone.js'
import {
  codeHmac,
  codeMatches,
  cryptoRandomInt,
  generateCode,
  open,
  prefixOf,
  seal,
  type Equal,
  type RandomInt,
} from '../domain/verify/codes.js'
import type { VerifyGuard } from '../domain/verify/guard.js'
import {
  defaultText,
  holdsCodeOnce,
  minutesOf,
  redacted,
  withCode,
  CODE_PLACEHOLDER,
  type VerifyTemplates,
} from '../domain/verify/texts.js'
import type { TxProgram } from '../store/executor.js'
import type { VerificationRow } from '../store/schema.js'
import type { Store } from '../store/store.js'
import type { MessageSubmitter } from './submit-messages.js'

/** Sends per verification (the first and 4 re-sends). */
export const MAX_SENDS = 5
/** Wrong codes before a verification is locked. */
export const MAX_ATTEMPTS = 5
export const DEFAULT_CODE_LENGTH = 6
export const DEFAULT_TTL_SECONDS = 600

export interface StartRequest {
  readonly to: string
  readonly codeLength?: number | undefined
  readonly ttl?: number | undefined
  readonly locale?: string | undefined
  readonly template?: string | undefined
  readonly clientIp?: string | undefined
}

export interface CheckRequest {
  readonly id?: string | undefined
  readonly to?: string | undefined
  readonly code: string
}

export interface VerifyDeps {
  readonly store: Store
  readonly submitter: Pick<MessageSubmitter, 'submit'>
  /** The abuse protection asked before every send (issue 10 point 6). */
  readonly guard: VerifyGuard
  /** Named templates (`template`); without them a request naming one is refused. */
  readonly templates?: VerifyTemplates | undefined
  readonly config: {
    readonly newCodeOnResend: boolean
    readonly lockMinutes: number
    readonly appName: string
  }
  readonly defaultCountry: string | undefined
  readonly now: () => number
  /** Draws the digits of codes (tests inject one). Default: crypto.randomInt. */
  readonly random?: RandomInt | undefined
  /** Compares two equal-length HMACs (tests spy on it). Default: crypto.timingSafeEqual. */
  readonly equal?: Equal | undefined
}

/** How the API presents a verification: never its code, HMAC or sealed parts. */
export interface VerificationView {
  id: string
  to: string
  status: VerificationRow['status']
  sends: number
  attempts: number
  codeLength: number
  locale: string | null
  template: string | null
  messageId: string | null
  createdAt: string
  expiresAt: string
  approvedAt: string | null
  lockedUntil: string | null
  updatedAt: string
}

const iso = (t: number | null) => (t === null ? null : new Date(Number(t)).toISOString())

export function presentVerification(
  v: Omit<VerificationRow, 'code_hmac' | 'code_cipher' | 'text_cipher'>,
  now: number,
): VerificationView {
  const status = v.status === 'pending' && now >= Number(v.expires_at) ? 'expired' : v.status
  return {
    id: v.id,
    to: v.to_number,
    status,
    sends: Number(v.sends),
    attempts: Number(v.attempts),
    codeLength: Number(v.code_length),
    locale: v.locale,
    template: v.template,
    messageId: v.message_id,
    createdAt: iso(v.created_at) as string,
    expiresAt: iso(v.expires_at) as string,
    approvedAt: iso(v.approved_at),
    lockedUntil: iso(v.locked_until),
    updatedAt: iso(v.updated_at) as string,
  }
}

type Refusal = {
  readonly refused: ErrorDef
  readonly retryAfter?: number | undefined
  readonly details?: Record<string, unknown> | undefined
}

const refusalError = (r: Refusal): AppError => {
  const e = new AppError(r.refused, r.details)
  return r.retryAfter === undefined ? e : e.retryAfter(r.retryAfter)
}

/** A guard's refusal as a registry error (its code, status and the registry's message). */
function guardError(code: string, status: number): ErrorDef {
  const known = (errors as Record<string, ErrorDef | undefined>)[code]
  return known ?? { code, status, message: 'The verification was refused by the abuse protection' }
}

/**
 * The Verify API without HTTP (docs/verify.md): start (or re-send) a verification, check a
 * code, read one, and the stats. Codes are drawn here, kept only as an HMAC (and, while
 * pending, sealed), and leave the process only in the SMS the dispatcher opens for the
 * provider: the message log keeps the text with the code as `*`.
 */
export class VerifyService {
  readonly #d: VerifyDeps
  readonly #random: RandomInt

  constructor(deps: VerifyDeps) {
    this.#d = deps
    this.#random = deps.random ?? cryptoRandomInt
  }

  #phone(raw: string, field: string): { e164: string; country: string | null } {
    const p = parsePhone(raw, this.#d.defaultCountry)
    if (!p.ok) throw new AppError(errors.invalid_phone_number, { field, reason: p.reason })
    return { e164: p.e164, country: p.country ?? null }
  }

  /** The text of its SMS with the placeholder where the code goes. */
  async #text(
    template: string | undefined,
    locale: string | undefined,
    seconds: number,
  ): Promise<string> {
    if (template === undefined) return defaultText(this.#d.config.appName, locale, seconds)
    const rendered = await this.#d.templates?.render(template, locale, {
      code: CODE_PLACEHOLDER,
      minutes: minutesOf(seconds),
    })
    if (rendered === null || rendered === undefined) {
      throw new AppError(errors.validation_failed, {
        field: 'template',
        reason: 'no such template',
      })
    }
    if (!holdsCodeOnce(rendered)) {
      throw new AppError(errors.validation_failed, {
        field: 'template',
        reason: 'the template must show {{ code }} exactly once',
      })
    }
    return rendered
  }

  /**
   * Starts a verification and sends its code, or re-sends the number's pending one (the same
   * verification; the same code unless VERIFY_NEW_CODE_ON_RESEND). Refusals throw AppError.
   */
  async start(req: StartRequest, apiKeyId: string | null): Promise<VerificationView> {
    const d = this.#d
    const { store } = d
    const repo = store.verify
    const { e164: to, country } = this.#phone(req.to, 'to')
    const now = d.now()
    const keys = await repo.keys()
    // The pending one (read again in the transaction) sets the minutes its re-send shows.
    const hint = await repo.pendingFor(to)
    const renew = d.config.newCodeOnResend
    const live = hint !== undefined && Number(hint.expires_at) > now ? hint : undefined
    const seconds = live
      ? renew
        ? Number(live.ttl_seconds)
        : (Number(live.expires_at) - now) / 1000
      : (req.ttl ?? DEFAULT_TTL_SECONDS)
    const locale = req.locale ?? live?.locale ?? undefined
    const template = req.template ?? live?.template ?? undefined
    const text = await this.#text(template, locale, seconds)

    const guard = d.guard
    const random = this.#random
    const clientIp = req.clientIp ?? null
    const prefix = prefixOf(to)
    const messageId = newId('msg')
    type Decided =
      Refusal | { readonly v: VerificationRow; readonly code: string; readonly isNew: boolean }
    const decided = await store.tx(function* (): TxProgram<Decided> {
      yield* repo.lockNumber(to)
      yield* repo.expireDue(now)
      const open_ = yield* repo.openFor(to, now)
      const refuse = function* (r: Refusal): TxProgram<Refusal> {
        yield* repo.recordRefusal(r.refused.code, country, now)
        return r
      }
      const locked = open_.find((v) => v.status === 'locked')
      if (locked) {
        return yield* refuse({
          refused: errors.too_many_attempts,
          retryAfter: (Number(locked.locked_until) - now) / 1000,
        })
      }
      const pending = open_.find((v) => v.status === 'pending')
      if (pending && Number(pending.sends) >= MAX_SENDS) {
        return yield* refuse({
          refused: errors.too_many_sends,
          retryAfter: (Number(pending.expires_at) - now) / 1000,
          details: { sends: Number(pending.sends) },
        })
      }
      const verdict = yield* guard.admit({ to, country, prefix, clientIp, now })
      if (!verdict.ok) {
        return yield* refuse({
          refused: guardError(verdict.code, verdict.status),
          retryAfter: verdict.retryAfterSeconds,
          details: verdict.details,
        })
      }
      let v: VerificationRow
      let code: string
      if (pending) {
        const kept =
          renew || pending.code_cipher === null ? null : open(keys, pending.id, pending.code_cipher)
        code = kept ?? generateCode(Number(pending.code_length), random)
        const expires =
          kept === null ? now + Number(pending.ttl_seconds) * 1000 : Number(pending.expires_at)
        v = {
          ...pending,
          sends: Number(pending.sends) + 1,
          code_hmac: codeHmac(keys, pending.id, code),
          code_cipher: seal(keys, pending.id, code),
          text_cipher: seal(keys, pending.id, withCode(text, code)),
          message_id: messageId,
          expires_at: expires,
          updated_at: now,
        }
        yield* repo.resent({ ...v, now })
      } else {
        const id = newId('ver')
        const length = req.codeLength ?? DEFAULT_CODE_LENGTH
        const ttl = req.ttl ?? DEFAULT_TTL_SECONDS
        code = generateCode(length, random)
        v = {
          id,
          to_number: to,
          country,
          status: 'pending',
          code_hmac: codeHmac(keys, id, code),
          code_length: length,
          attempts: 0,
          sends: 1,
          locale: req.locale ?? null,
          template: req.template ?? null,
          client_ip: clientIp,
          message_id: messageId,
          created_at: now,
          expires_at: now + ttl * 1000,
          approved_at: null,
          locked_until: null,
          updated_at: now,
          code_cipher: seal(keys, id, code),
          text_cipher: seal(keys, id, withCode(text, code)),
          ttl_seconds: ttl,
        }
        yield* repo.insert(v)
      }
      yield* repo.recordSend({
        verification_id: v.id,
        to_number: to,
        prefix,
        country,
        client_ip: clientIp,
        at: now,
      })
      return { v, code, isNew: pending === undefined }
    })
    if ('refused' in decided) throw refusalError(decided)
    const { v, code, isNew } = decided

    // The message log keeps the text with the code as `*`; the dispatcher sends the sealed one.
    const out = await d.submitter.submit(
      {
        id: messageId,
        to,
        body: redacted(text, code.length),
        type: 'transactional',
        // The SMS is not delivered after the code died.
        validityPeriod: Math.max(1, Math.floor((Number(v.expires_at) - now) / 1000)),
        smartEncoding: true,
        metadata: { verificationId: v.id },
      },
      { apiKeyId },
    )
    if (out.outcome !== 'accepted') {
      // Not sent (an opt-out of all or of the sender, no route): a new verification is
      // canceled; a re-send is not counted.
      const at = d.now()
      const error = out.outcome === 'invalid' ? out.error : errors.internal_error
      await store.tx(function* () {
        yield* repo.undoSend(v, isNew, now, at)
        yield* repo.recordRefusal(error.code, country, at)
      })
      throw new AppError(error, out.outcome === 'invalid' ? out.details : undefined)
    }
    return presentVerification(v, now)
  }

  /** Checks a code against the verification `id`, or the number's newest one. */
  async check(req: CheckRequest): Promise<{ id: string; status: 'approved' | 'pending' }> {
    const d = this.#d
    const { store } = d
    const repo = store.verify
    const guard = d.guard
    const keys = await repo.keys()
    const now = d.now()
    const lockMs = d.config.lockMinutes * 60_000
    const equal = d.equal
    const to = req.to === undefined ? undefined : this.#phone(req.to, 'to').e164
    const id = req.id
    type Outcome =
      | { kind: 'approved' | 'pending'; id: string }
      | { kind: 'not_found' }
      | { kind: 'expired' }
      | { kind: 'locked'; retryAfter: number }
    const outcome = await store.tx(function* (): TxProgram<Outcome> {
      let v: VerificationRow | undefined
      if (id !== undefined) {
        v = yield* repo.byId(id)
        if (v) {
          yield* repo.lockNumber(v.to_number)
          v = yield* repo.byId(id)
        }
      } else if (to !== undefined) {
        yield* repo.lockNumber(to)
        v = yield* repo.latestFor(to)
      }
      if (!v) return { kind: 'not_found' }
      if (v.status === 'locked') {
        const until = Number(v.locked_until ?? 0)
        return until > now
          ? { kind: 'locked', retryAfter: (until - now) / 1000 }
          : { kind: 'not_found' }
      }
      if (v.status === 'expired') return { kind: 'expired' }
      if (v.status !== 'pending') return { kind: 'not_found' }
      // Dead at the TTL: one millisecond before it the code is still good.
      if (now >= Number(v.expires_at)) {
        yield* repo.end(v.id, 'expired', now)
        return { kind: 'expired' }
      }
      if (codeMatches(keys, v.id, v.code_hmac, req.code, equal)) {
        yield* repo.end(v.id, 'approved', now)
        yield* guard.approved({ verificationId: v.id, now })
        return { kind: 'approved', id: v.id }
      }
      const attempts = Number(v.attempts) + 1
      if (attempts >= MAX_ATTEMPTS) {
        yield* repo.end(v.id, 'locked', now, { attempts, lockedUntil: now + lockMs })
        return { kind: 'locked', retryAfter: lockMs / 1000 }
      }
      yield* repo.failedAttempt(v.id, attempts, now)
      return { kind: 'pending', id: v.id }
    })
    switch (outcome.kind) {
      case 'approved':
      case 'pending':
        return { id: outcome.id, status: outcome.kind }
      case 'not_found':
        throw new AppError(errors.verification_not_found)
      case 'expired':
        throw new AppError(errors.verification_expired)
      case 'locked':
        throw new AppError(errors.too_many_attempts).retryAfter(outcome.retryAfter)
    }
  }

  async get(id: string): Promise<VerificationView> {
    const v = await this.#d.store.verify.get(id)
    if (!v) throw new AppError(errors.verification_not_found)
    return presentVerification(v, this.#d.now())
  }
}

export interface VerifyStats {
  from: string
  to: string
  sends: number
  verifications: number
  approvals: number
  /** Approved verifications of those created in the period, over them; null without any. */
  conversionRate: number | null
  medianTimeToApproveSeconds: number | null
  /** Refused requests by registry code (abuse limits, locks, send limits, opt-outs). */
  blocked: Record<string, number>
  /** Blocks the abuse protection placed in the period, by reason. */
  blocks: Record<string, number>
  countries: {
    country: string | null
    sends: number
    verifications: number
    approvals: number
    conversionRate: number | null
    medianTimeToApproveSeconds: number | null
    blocked: Record<string, number>
  }[]
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  const m =
    s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
  return Math.round(m * 1000) / 1000
}

const rate = (approved: number, n: number) =>
  n === 0 ? null : Math.round((approved / n) * 10_000) / 10_000

/** `GET /v1/verifications/stats` over [from, to). */
export async function verifyStats(store: Store, from: number, to: number): Promise<VerifyStats> {
  const r = await store.verify.stats(from, to)
  const countries = new Map<
    string | null,
    VerifyStats['countries'][number] & { times: number[]; created: number; createdApproved: number }
  >()
  const of = (c: string | null) => {
    let e = countries.get(c)
    if (!e) {
      e = {
        country: c,
        sends: 0,
        verifications: 0,
        approvals: 0,
        conversionRate: null,
        medianTimeToApproveSeconds: null,
        blocked: {},
        times: [],
        created: 0,
        createdApproved: 0,
      }
      countries.set(c, e)
    }
    return e
  }
  const blocked: Record<string, number> = {}
  for (const s of r.sends) of(s.country).sends += s.n
  for (const c of r.created) {
    const e = of(c.country)
    e.created += c.n
    e.createdApproved += c.approved
  }
  for (const a of r.approvals) of(a.country).times.push(a.seconds)
  for (const x of r.refusals) {
    const e = of(x.country)
    e.blocked[x.reason] = (e.blocked[x.reason] ?? 0) + x.n
    blocked[x.reason] = (blocked[x.reason] ?? 0) + x.n
  }
  const list = [...countries.values()]
  const created = list.reduce((n, e) => n + e.created, 0)
  const createdApproved = list.reduce((n, e) => n + e.createdApproved, 0)
  const times = list.flatMap((e) => e.times)
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    sends: list.reduce((n, e) => n + e.sends, 0),
    verifications: created,
    approvals: times.length,
    conversionRate: rate(createdApproved, created),
    medianTimeToApproveSeconds: median(times),
    blocked,
    blocks: Object.fromEntries(r.blocks.map((b) => [b.reason, b.n])),
    countries: list
      .sort((a, b) => b.sends - a.sends || String(a.country).localeCompare(String(b.country)))
      .map((e) => ({
        country: e.country,
        sends: e.sends,
        verifications: e.created,
        approvals: e.times.length,
        conversionRate: rate(e.createdApproved, e.created),
        medianTimeToApproveSeconds: median(e.times),
        blocked: e.blocked,
      })),
  }
}

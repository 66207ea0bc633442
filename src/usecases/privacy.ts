import { parsePhone } from '../domain/messages/phone.js'
import { phoneHash, phoneTarget } from '../store/privacy.repo.js'
import type { Store } from '../store/store.js'

interface Deps {
  readonly store: Store
  readonly now: () => number
}

/** A data subject's number in E.164, or why it is not one. */
export function subjectPhone(
  input: string,
  defaultCountry: string | undefined,
): { ok: true; e164: string } | { ok: false; reason: string } {
  const p = parsePhone(input, defaultCountry)
  if (p.ok) return { ok: true, e164: p.e164 }
  // A number the gateways reported that the numbering plan does not know (a test range)
  // is still held, in the form it came in: accept any E.164-shaped input as is.
  const trimmed = input.trim()
  if (/^\+[1-9][0-9]{5,14}$/.test(trimmed)) return { ok: true, e164: trimmed }
  return { ok: false, reason: p.reason }
}

/** What GDPR export answers: everything held about the number, per table. */
export interface PrivacyExport {
  readonly phone: string
  readonly exportedAt: string
  readonly data: Record<string, unknown[]>
}

/** Everything held about `phone` (E.164), in one read; the export is audited. */
export async function exportNumber(
  deps: Deps,
  phone: string,
  actor: string,
): Promise<PrivacyExport> {
  const { store } = deps
  const hash = phoneHash(await store.privacy.key(), phone)
  const now = deps.now()
  const data = await store.tx(function* () {
    const subject = yield* store.privacy.subject(phone, hash, now)
    const found = yield* store.privacy.exportAll(subject)
    const counts = Object.fromEntries(Object.entries(found).map(([k, v]) => [k, v.length]))
    yield* store.audit.record([
      {
        action: 'privacy.exported',
        actor,
        target: phoneTarget(hash),
        details: { counts },
        at: now,
      },
    ])
    return found
  })
  return { phone, exportedAt: new Date(now).toISOString(), data }
}

/** What an erasure answers: the keyed hash it is now known by, and what it removed. */
export interface ErasureResult {
  /** `phone:` + HMAC-SHA256 of the number under the server's key (as in the audit log). */
  readonly target: string
  /** Rows deleted or scrubbed, per table. */
  readonly counts: Record<string, number>
  /** Opt-outs and provider suppressions kept under the keyed hash. */
  readonly optOutsKept: number
}

/**
 * Erases `phone` (E.164) everywhere (src/store/privacy.repo.ts PRIVACY_STEPS) in one
 * transaction, keeps its opt-outs under its keyed hash, and audits the erasure without the
 * number. On SQLite the write-ahead log is then checkpointed and truncated, so (with
 * `secure_delete`, set on every connection) no byte of it remains in the database files.
 */
export async function eraseNumber(
  deps: Deps,
  phone: string,
  actor: string,
): Promise<ErasureResult> {
  const { store } = deps
  const hash = phoneHash(await store.privacy.key(), phone)
  const target = phoneTarget(hash)
  const now = deps.now()
  const r = await store.tx(function* () {
    const subject = yield* store.privacy.subject(phone, hash, now)
    const done = yield* store.privacy.eraseAll(subject, (p) => store.consents.states(p))
    yield* store.audit.record([
      { action: 'privacy.erased', actor, target, details: { ...done }, at: now },
    ])
    return done
  })
  await store.checkpoint()
  return { target, ...r }
}

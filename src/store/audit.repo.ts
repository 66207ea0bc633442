import type { Kysely } from 'kysely'
import { newId } from '../domain/ids.js'
import { run, type TxProgram } from './executor.js'
import { phoneTarget, type PrivacyRepo } from './privacy.repo.js'
import type { AuditRow, Database } from './schema.js'

/** Audit actions, as stored and shown. */
export type AuditAction =
  | 'api_key.created'
  | 'api_key.revoked'
  | 'consent.changed'
  | 'privacy.exported'
  | 'privacy.erased'
  | 'user.created'
  | 'user.role_changed'
  | 'user.disabled'
  | 'user.enabled'
  | 'user.sessions_revoked'

/** One administrative action to record. */
export interface AuditEntry {
  readonly action: AuditAction
  /** The API key id that acted, `cli`, or `system`. */
  readonly actor: string
  /** What it acted on (a key id); for a phone number give `phone` instead. */
  readonly target?: string | null
  /** Stored as its keyed hash (`phone:<hmac>`), never in clear. */
  readonly phone?: string
  /** JSON-able; must hold no phone number and no message body. */
  readonly details?: Record<string, unknown> | null
  readonly at: number
}

/**
 * The audit log: append-only, nothing here updates or deletes a row. `record` runs in the
 * transaction of the action it records, so an action and its entry commit together.
 */
export class AuditRepo {
  constructor(
    private readonly kysely: Kysely<Database>,
    private readonly privacy: PrivacyRepo,
  ) {}

  *record(entries: readonly AuditEntry[]): TxProgram<void> {
    for (const e of entries) {
      let target = e.target ?? null
      if (e.phone !== undefined) {
        const hash = (yield* this.privacy.hashes([e.phone])).get(e.phone)
        // The key is made at boot (and by PrivacyRepo.key()); never store the number instead.
        if (hash === undefined)
          throw new Error('no privacy hash key: call store.privacy.key() first')
        target = phoneTarget(hash)
      }
      yield run(
        'INSERT INTO audit_log (id, action, actor, target, details, at) VALUES (?, ?, ?, ?, ?, ?)',
        [
          newId('aud'),
          e.action,
          e.actor,
          target,
          e.details ? JSON.stringify(e.details) : null,
          e.at,
        ],
      )
    }
  }

  /** A page of entries, newest first: those older than `beforeId` when given. */
  async list(o: { beforeId?: string | undefined; action?: string | undefined; limit: number }) {
    let q = this.kysely.selectFrom('audit_log').selectAll()
    if (o.beforeId !== undefined) q = q.where('id', '<', o.beforeId)
    if (o.action !== undefined) q = q.where('action', '=', o.action)
    return q.orderBy('id', 'desc').limit(o.limit).execute() as Promise<AuditRow[]>
  }
}

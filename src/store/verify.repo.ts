import { randomBytes } from 'node:crypto'
import { deriveKeys, open, type VerifyKeys } from '../domain/verify/codes.js'
import { rows, run, type Executor, type Query, type TxProgram } from './executor.js'
import type { VerificationRow, VerificationSendRow } from './schema.js'

/**
 * The setting holding the server's Verify key (32 random bytes, base64url), made once on first
 * use and never rotated: the HMACs of pending codes and their sealed texts are under it.
 */
export const VERIFY_KEY_SETTING = 'verify_code_key'

const readKey = (): Query => rows('SELECT value FROM settings WHERE key = ?', [VERIFY_KEY_SETTING])
const keyOf = (found: { value: string }[]): Buffer | undefined =>
  found[0] ? Buffer.from(found[0].value, 'base64url') : undefined

/** The columns a verification is read with (never its HMAC or sealed parts for the API). */
const ALL = 'SELECT * FROM verifications'

/** What the dispatcher finds for a verification SMS. */
export type Revealed =
  | { readonly kind: 'text'; readonly text: string }
  /** The verification ended, or a newer SMS of it replaced this one: not sent. */
  | { readonly kind: 'closed' }
  /** Not a verification SMS after all (metadata naming no verification): sent as stored. */
  | { readonly kind: 'none' }

export interface VerifyStatsRows {
  readonly sends: { country: string | null; n: number }[]
  readonly created: { country: string | null; n: number; approved: number }[]
  readonly approvals: { country: string | null; seconds: number }[]
  readonly refusals: { country: string | null; reason: string; n: number }[]
  readonly blocks: { reason: string; n: number }[]
}

/** A verification as listed: every column but the code's HMAC and the sealed code and text. */
export type ListedVerification = Omit<VerificationRow, 'code_hmac' | 'code_cipher' | 'text_cipher'>
const LISTED =
  'id, to_number, country, status, code_length, attempts, sends, locale, template, client_ip, message_id, created_at, expires_at, approved_at, locked_until, updated_at, ttl_seconds'

export interface VerificationListQuery {
  readonly status?: VerificationRow['status'] | undefined
  /** E.164 */
  readonly to?: string | undefined
  /** Created at or after (epoch ms). */
  readonly createdAfter?: number | undefined
  /** Created before (epoch ms). */
  readonly createdBefore?: number | undefined
  /** The page starts after this one (the cursor). */
  readonly before?: { readonly createdAt: number; readonly id: string } | undefined
  readonly now: number
  readonly limit: number
}

/** Verifications of the Verify API, their sends and refusals (docs/verify.md). */
export class VerifyRepo {
  #keys: VerifyKeys | undefined

  constructor(private readonly exec: Executor) {}

  /** The keys derived from the server's Verify key, created on first use. */
  async keys(): Promise<VerifyKeys> {
    if (this.#keys) return this.#keys
    await this.exec.query({
      sql: 'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING',
      params: [VERIFY_KEY_SETTING, randomBytes(32).toString('base64url')],
      mode: 'run',
    })
    const key = keyOf(await this.exec.query<{ value: string }>(readKey()))
    if (!key) throw new Error('the Verify key could not be stored')
    return (this.#keys = deriveKeys(key))
  }

  /** Serialises the requests about one number (PostgreSQL; SQLite has one writer). */
  *lockNumber(to: string): TxProgram<void> {
    if (this.exec.dialect === 'postgres') {
      yield rows('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`verify\n${to}`])
    }
  }

  /** Closes pending verifications past their expiry and wipes their sealed code and text. */
  *expireDue(now: number): TxProgram<number> {
    return (yield run(
      "UPDATE verifications SET status = 'expired', code_cipher = NULL, text_cipher = NULL, updated_at = ? WHERE status = 'pending' AND expires_at <= ?",
      [now, now],
    )) as number
  }

  /** The number's pending verifications and those locked until after `now`. */
  *openFor(to: string, now: number): TxProgram<VerificationRow[]> {
    return (yield rows(
      `${ALL} WHERE to_number = ? AND (status = 'pending' OR (status = 'locked' AND locked_until > ?)) ORDER BY created_at DESC`,
      [to, now],
    )) as VerificationRow[]
  }

  /** The number's newest verification. */
  *latestFor(to: string): TxProgram<VerificationRow | undefined> {
    const found = (yield rows(
      `${ALL} WHERE to_number = ? ORDER BY created_at DESC, id DESC LIMIT 1`,
      [to],
    )) as VerificationRow[]
    return found[0]
  }

  *byId(id: string): TxProgram<VerificationRow | undefined> {
    const found = (yield rows(`${ALL} WHERE id = ?`, [id])) as VerificationRow[]
    return found[0]
  }

  *insert(r: VerificationRow): TxProgram<void> {
    yield run(
      'INSERT INTO verifications (id, to_number, country, status, code_hmac, code_length, attempts, sends, locale, template, client_ip, message_id, created_at, expires_at, approved_at, locked_until, updated_at, code_cipher, text_cipher, ttl_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        r.id,
        r.to_number,
        r.country,
        r.status,
        r.code_hmac,
        r.code_length,
        r.attempts,
        r.sends,
        r.locale,
        r.template,
        r.client_ip,
        r.message_id,
        r.created_at,
        r.expires_at,
        r.approved_at,
        r.locked_until,
        r.updated_at,
        r.code_cipher,
        r.text_cipher,
        r.ttl_seconds,
      ],
    )
  }

  /** A re-send: the new counts, code (the same one unless renewed), text and message. */
  *resent(
    r: Pick<
      VerificationRow,
      'id' | 'sends' | 'code_hmac' | 'code_cipher' | 'text_cipher' | 'message_id' | 'expires_at'
    > & { now: number },
  ): TxProgram<void> {
    yield run(
      'UPDATE verifications SET sends = ?, code_hmac = ?, code_cipher = ?, text_cipher = ?, message_id = ?, expires_at = ?, updated_at = ? WHERE id = ?',
      [r.sends, r.code_hmac, r.code_cipher, r.text_cipher, r.message_id, r.expires_at, r.now, r.id],
    )
  }

  /** A wrong code that leaves attempts. */
  *failedAttempt(id: string, attempts: number, now: number): TxProgram<void> {
    yield run('UPDATE verifications SET attempts = ?, updated_at = ? WHERE id = ?', [
      attempts,
      now,
      id,
    ])
  }

  /**
   * Ends a verification (approved, expired, locked or canceled) and wipes its sealed code and
   * text. Only a pending one ends: false when another request ended it first.
   */
  *end(
    id: string,
    status: 'approved' | 'expired' | 'locked' | 'canceled',
    now: number,
    extra: { attempts?: number; lockedUntil?: number } = {},
  ): TxProgram<boolean> {
    const changed = (yield run(
      'UPDATE verifications SET status = ?, code_cipher = NULL, text_cipher = NULL, attempts = COALESCE(?, attempts), approved_at = ?, locked_until = ?, updated_at = ? WHERE id = ? AND status = ?',
      [
        status,
        extra.attempts ?? null,
        status === 'approved' ? now : null,
        extra.lockedUntil ?? null,
        now,
        id,
        'pending',
      ],
    )) as number
    return changed > 0
  }

  /** One verification SMS, for the abuse limits and the stats. */
  *recordSend(s: Omit<VerificationSendRow, 'id'>): TxProgram<void> {
    yield run(
      'INSERT INTO verification_sends (verification_id, to_number, prefix, country, client_ip, at) VALUES (?, ?, ?, ?, ?, ?)',
      [s.verification_id, s.to_number, s.prefix, s.country, s.client_ip, s.at],
    )
  }

  /**
   * A send whose message was refused (an opt-out, no route): a new verification is canceled,
   * a re-send is not counted; its `verification_sends` row goes.
   */
  *undoSend(v: VerificationRow, isNew: boolean, sentAt: number, now: number): TxProgram<void> {
    yield run('DELETE FROM verification_sends WHERE verification_id = ? AND at = ?', [v.id, sentAt])
    if (isNew) yield* this.end(v.id, 'canceled', now)
    else
      yield run(
        "UPDATE verifications SET sends = sends - 1, updated_at = ? WHERE id = ? AND status = 'pending'",
        [now, v.id],
      )
  }

  /** A refused request (its registry code), counted by the stats. */
  *recordRefusal(reason: string, country: string | null, at: number): TxProgram<void> {
    yield run('INSERT INTO verification_refusals (reason, country, at) VALUES (?, ?, ?)', [
      reason,
      country,
      at,
    ])
  }

  /** One verification, for `GET /v1/verifications/{id}`. */
  async get(id: string): Promise<VerificationRow | undefined> {
    const found = await this.exec.query<VerificationRow>(rows(`${ALL} WHERE id = ?`, [id]))
    return found[0]
  }

  /**
   * A page of verifications for `GET /v1/verifications`, newest first (created_at, then id),
   * without the HMAC or sealed parts. `status` is as the API shows it: a pending verification
   * past its expiry counts as `expired`.
   */
  async list(q: VerificationListQuery): Promise<ListedVerification[]> {
    const where: string[] = []
    const params: unknown[] = []
    if (q.status === 'pending') {
      where.push("status = 'pending' AND expires_at > ?")
      params.push(q.now)
    } else if (q.status === 'expired') {
      where.push("(status = 'expired' OR (status = 'pending' AND expires_at <= ?))")
      params.push(q.now)
    } else if (q.status !== undefined) {
      where.push('status = ?')
      params.push(q.status)
    }
    if (q.to !== undefined) {
      where.push('to_number = ?')
      params.push(q.to)
    }
    if (q.createdAfter !== undefined) {
      where.push('created_at >= ?')
      params.push(q.createdAfter)
    }
    if (q.createdBefore !== undefined) {
      where.push('created_at < ?')
      params.push(q.createdBefore)
    }
    if (q.before !== undefined) {
      where.push('(created_at < ? OR (created_at = ? AND id < ?))')
      params.push(q.before.createdAt, q.before.createdAt, q.before.id)
    }
    params.push(q.limit)
    return this.exec.query<ListedVerification>(
      rows(
        `SELECT ${LISTED} FROM verifications${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`,
        params,
      ),
    )
  }

  /** The number's pending verification, read outside a transaction (a hint, re-read in one). */
  async pendingFor(to: string): Promise<VerificationRow | undefined> {
    const found = await this.exec.query<VerificationRow>(
      rows(`${ALL} WHERE to_number = ? AND status = 'pending' ORDER BY created_at DESC LIMIT 1`, [
        to,
      ]),
    )
    return found[0]
  }

  /**
   * The text of verification SMS `messageId` (of verification `verificationId`), opened for
   * the provider: only while the verification is pending, its expiry not passed, and this is
   * its newest SMS.
   */
  async reveal(verificationId: string, messageId: string, now: number): Promise<Revealed> {
    const found = await this.exec.query<
      Pick<VerificationRow, 'status' | 'message_id' | 'text_cipher' | 'expires_at'>
    >(
      rows('SELECT status, message_id, text_cipher, expires_at FROM verifications WHERE id = ?', [
        verificationId,
      ]),
    )
    const v = found[0]
    if (!v) return { kind: 'none' }
    if (v.status !== 'pending' || v.message_id !== messageId || v.text_cipher === null)
      return { kind: 'closed' }
    if (now >= Number(v.expires_at)) return { kind: 'closed' }
    const text = open(await this.keys(), verificationId, v.text_cipher)
    return text === null ? { kind: 'closed' } : { kind: 'text', text }
  }

  /** The raw counts of `GET /v1/verifications/stats` over [from, to). */
  async stats(from: number, to: number): Promise<VerifyStatsRows> {
    const q = <R>(sql: string, params: unknown[]) => this.exec.query<R>(rows(sql, params))
    const [sends, created, approvals, refusals, blocks] = await Promise.all([
      q<{ country: string | null; n: number }>(
        'SELECT country, COUNT(*) AS n FROM verification_sends WHERE at >= ? AND at < ? GROUP BY country',
        [from, to],
      ),
      q<{ country: string | null; n: number; approved: number }>(
        "SELECT country, COUNT(*) AS n, SUM(CASE WHEN status = 'approved' THEN 1 ELSE 0 END) AS approved FROM verifications WHERE created_at >= ? AND created_at < ? GROUP BY country",
        [from, to],
      ),
      q<{ country: string | null; seconds: number }>(
        "SELECT country, (approved_at - created_at) / 1000.0 AS seconds FROM verifications WHERE status = 'approved' AND approved_at >= ? AND approved_at < ?",
        [from, to],
      ),
      q<{ country: string | null; reason: string; n: number }>(
        'SELECT country, reason, COUNT(*) AS n FROM verification_refusals WHERE at >= ? AND at < ? GROUP BY country, reason',
        [from, to],
      ),
      q<{ reason: string; n: number }>(
        'SELECT reason, COUNT(*) AS n FROM verification_blocks WHERE created_at >= ? AND created_at < ? GROUP BY reason',
        [from, to],
      ),
    ])
    const num = <T extends Record<string, unknown>>(r: T, ...keys: (keyof T)[]) => {
      for (const k of keys) (r as Record<string, unknown>)[k as string] = Number(r[k] ?? 0)
      return r
    }
    return {
      sends: sends.map((r) => num(r, 'n')),
      created: created.map((r) => num(r, 'n', 'approved')),
      approvals: approvals.map((r) => num(r, 'seconds')),
      refusals: refusals.map((r) => num(r, 'n')),
      blocks: blocks.map((r) => num(r, 'n')),
    }
  }
}

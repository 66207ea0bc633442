import type { Kysely } from 'kysely'
import {
  LOW_APPROVAL_BURST,
  blockVerdict,
  burstBounds,
  burstFinding,
  countryVerdict,
  firstRefusal,
  leadingParts,
  limitVerdict,
  windowStart,
  type ActiveBlock,
  type BurstCount,
  type BurstRule,
  type VerifyAbuseSettings,
  type WindowLimit,
} from '../domain/verify/abuse.js'
import type { GuardRequest, GuardVerdict, VerifyGuard } from '../domain/verify/guard.js'
import { rows, run, type TxProgram } from './executor.js'
import type { Database, VerificationBlockRow } from './schema.js'

/** The columns of `verification_sends` a limit counts by (each has an index with `at`). */
const LIMIT_COLUMN = { number: 'to_number', ip: 'client_ip', prefix: 'prefix' } as const

/** The SQL of the Verify abuse protection, as programs run in the caller's transaction. */
export class VerifyGuardRepo {
  constructor(private readonly dialect: 'sqlite' | 'postgres') {}

  /**
   * PostgreSQL: transaction locks on the request's prefix (which covers its number) and client
   * IP, in a fixed order, so two requests at once count each other's sends and one prefix is
   * blocked once. SQLite runs one writer at a time already.
   */
  *lock(req: GuardRequest): TxProgram<void> {
    if (this.dialect !== 'postgres') return
    const keys = [`verify\nprefix\n${req.prefix}`]
    if (req.clientIp !== null) keys.push(`verify\nip\n${req.clientIp}`)
    for (const key of keys.sort()) {
      yield rows('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [key])
    }
  }

  /** Blocks in force at `now` on the number, a leading part of it, the client IP or country. */
  *activeBlocks(req: GuardRequest, now: number): TxProgram<ActiveBlock[]> {
    const parts = leadingParts(req.to)
    const params: unknown[] = [now, req.to, ...parts]
    let sql = `SELECT kind, reason, until FROM verification_blocks WHERE until > ? AND ((kind = 'number' AND value = ?) OR (kind = 'prefix' AND value IN (${parts.map(() => '?').join(', ')}))`
    if (req.clientIp !== null) {
      sql += ` OR (kind = 'ip' AND value = ?)`
      params.push(req.clientIp)
    }
    if (req.country !== null) {
      sql += ` OR (kind = 'country' AND value = ?)`
      params.push(req.country.toUpperCase())
    }
    const found = (yield rows(`${sql})`, params)) as {
      kind: string
      reason: string
      until: unknown
    }[]
    return found.map((b) => ({ kind: b.kind, reason: b.reason, until: Number(b.until) }))
  }

  /**
   * The time of the `limit.sends`-th newest send to `value` (by `by`) in the window ending at
   * `now`, or undefined when fewer are there (one index range scan of at most that many rows).
   */
  *nthNewestSend(
    by: keyof typeof LIMIT_COLUMN,
    value: string,
    limit: WindowLimit,
    now: number,
  ): TxProgram<number | undefined> {
    const col = LIMIT_COLUMN[by]
    const [found] = (yield rows(
      `SELECT at FROM verification_sends WHERE ${col} = ? AND at > ? ORDER BY at DESC LIMIT 1 OFFSET ?`,
      [value, windowStart(limit.windowSeconds, now), limit.sends - 1],
    )) as { at: unknown }[]
    return found === undefined ? undefined : Number(found.at)
  }

  /** Velocity detection's count for one prefix: matured sends, and the approved among them. */
  *burstCount(prefix: string, rule: BurstRule, now: number): TxProgram<BurstCount> {
    const { after, maturedBy } = burstBounds(rule, now)
    const [r] = (yield rows(
      `SELECT COUNT(*) AS matured, SUM(CASE WHEN v.approved_at IS NOT NULL THEN 1 ELSE 0 END) AS approved FROM verification_sends s LEFT JOIN verifications v ON v.id = s.verification_id WHERE s.prefix = ? AND s.at > ? AND s.at <= ?`,
      [prefix, after, maturedBy],
    )) as { matured: unknown; approved: unknown }[]
    return { matured: Number(r?.matured ?? 0), approved: Number(r?.approved ?? 0) }
  }

  *insertBlock(block: Omit<VerificationBlockRow, 'id'>): TxProgram<void> {
    yield run(
      'INSERT INTO verification_blocks (kind, value, reason, details, created_at, until) VALUES (?, ?, ?, ?, ?, ?)',
      [block.kind, block.value, block.reason, block.details, block.created_at, block.until],
    )
  }
}

/**
 * The Verify abuse protection (docs/verify.md, "Abuse and SMS pumping protection"), from the
 * configuration (`config.verifyAbuse`) and the store (its dialect).
 *
 * `admit` refuses in this order: a country not on the allow list (403
 * `verification_country_not_allowed`); an active block on the number, a leading part of it,
 * the client IP or the country (403 `verification_blocked`, `Retry-After` when it ends); a
 * prefix velocity detection finds with a burst of unapproved sends, which it blocks for
 * `blockHours` (the block row is written by `admit` itself: the caller must COMMIT the
 * transaction of a refused request, answering the error after it, or the block is lost); then
 * the limits per number, client IP and prefix (429 `verification_rate_limited`, `Retry-After`
 * when the send that must leave the window leaves it). It writes nothing when it admits; the
 * caller records the send (`verification_sends`) in the same transaction.
 */
export function createVerifyGuard(
  settings: VerifyAbuseSettings,
  store: { readonly dialect: 'sqlite' | 'postgres' },
): VerifyGuard {
  const repo = new VerifyGuardRepo(store.dialect)
  const { limits } = settings
  return {
    *admit(req: GuardRequest): TxProgram<GuardVerdict> {
      const now = req.now
      const country = countryVerdict(settings.countries, req.country)
      if (!country.ok) return country

      yield* repo.lock(req)
      const blocked = blockVerdict(yield* repo.activeBlocks(req, now), now)
      if (!blocked.ok) return blocked

      if (limits.burst !== null) {
        const finding = burstFinding(
          limits.burst,
          yield* repo.burstCount(req.prefix, limits.burst, now),
        )
        if (finding !== null) {
          const until = now + Math.round(settings.blockHours * 3_600_000)
          yield* repo.insertBlock({
            kind: 'prefix',
            value: req.prefix,
            reason: LOW_APPROVAL_BURST,
            details: JSON.stringify(finding),
            created_at: now,
            until,
          })
          return blockVerdict([{ kind: 'prefix', reason: LOW_APPROVAL_BURST, until }], now)
        }
      }

      const verdicts: GuardVerdict[] = []
      const check = function* (by: 'number' | 'ip' | 'prefix', value: string | null) {
        const limit = limits[by]
        if (limit === null || value === null) return
        verdicts.push(
          limitVerdict(by, limit, yield* repo.nthNewestSend(by, value, limit, now), now),
        )
      }
      yield* check('number', req.to)
      yield* check('ip', req.clientIp)
      yield* check('prefix', req.prefix)
      return firstRefusal(verdicts)
    },

    // Velocity detection reads approvals from `verifications.approved_at`, which the Verify flow
    // sets in the same transaction: there is nothing more to record. An approval never lifts a
    // block (a fraudster can approve a few of its own codes).
    // eslint-disable-next-line require-yield
    *approved(): TxProgram<void> {
      return
    },
  }
}

/** A block as `GET /v1/verifications/blocks` lists it. */
export interface BlockView {
  readonly id: number
  readonly kind: string
  readonly value: string
  readonly reason: string
  readonly details: Record<string, unknown> | null
  readonly createdAt: number
  readonly until: number
}

/**
 * Blocks newest first: `active` (in force at `now`), `expired` or `all`; at most `limit`, with
 * ids below `beforeId` when given.
 */
export async function listVerificationBlocks(
  kysely: Kysely<Database>,
  f: {
    status: 'active' | 'expired' | 'all'
    now: number
    beforeId?: number | undefined
    limit: number
  },
): Promise<BlockView[]> {
  let q = kysely
    .selectFrom('verification_blocks')
    .select(['id', 'kind', 'value', 'reason', 'details', 'created_at', 'until'])
  if (f.status === 'active') q = q.where('until', '>', f.now)
  if (f.status === 'expired') q = q.where('until', '<=', f.now)
  if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId)
  const found = await q.orderBy('id', 'desc').limit(f.limit).execute()
  return found.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    value: r.value,
    reason: r.reason,
    details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
    createdAt: Number(r.created_at),
    until: Number(r.until),
  }))
}

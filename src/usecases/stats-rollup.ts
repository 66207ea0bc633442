import { StatsRepo } from '../store/stats.repo.js'
import type { Store } from '../store/store.js'

/** Messages rolled up per transaction. */
export const ROLLUP_BATCH = 5000
/** Transactions per run at most (a backlog of 1M rows takes a few runs). */
const ROLLUP_BATCHES_PER_RUN = 100
/**
 * Only messages whose id (a ULID of the wall clock at intake) is older than this are rolled up:
 * an intake transaction still open when the watermark passed its ids would be missed.
 */
export const ROLLUP_LAG_MS = 30_000

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** The smallest message id of the millisecond `ms` (ids are `msg_` + a ULID). */
export function messageIdAt(ms: number): string {
  let out = ''
  let t = Math.max(0, Math.floor(ms))
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out
    t = Math.floor(t / 32)
  }
  return `msg_${out}`
}

export interface RollupResult {
  /** Messages walked past the watermark. */
  rolled: number
  /** Pending messages looked at again. */
  rechecked: number
}

/**
 * One run of the stats rollup (docs/stats.md): moves the watermark over the messages older than
 * `lagMs`, then settles the pending ones whose status became final. Each batch is its own short
 * transaction, so sends are never held for long. `now` is the server's clock (validity), `wall`
 * the clock message ids are drawn from.
 */
export async function rollupStats(
  store: Store,
  now: number,
  opts: { lagMs?: number; wall?: number; batch?: number } = {},
): Promise<RollupResult> {
  const repo = new StatsRepo(store.dialect)
  const batch = opts.batch ?? ROLLUP_BATCH
  const before = messageIdAt((opts.wall ?? Date.now()) - (opts.lagMs ?? ROLLUP_LAG_MS))
  let rolled = 0
  for (let i = 0; i < ROLLUP_BATCHES_PER_RUN; i++) {
    const n = await store.tx(() => repo.rollupBatch(before, now, batch))
    rolled += n
    if (n < batch) break
  }
  let rechecked = 0
  let after: string | null = ''
  for (let i = 0; i < ROLLUP_BATCHES_PER_RUN && after !== null; i++) {
    const from: string = after
    const r = await store.tx(() => repo.settleBatch(from, now, batch))
    rechecked += r.seen
    after = r.next
  }
  return { rolled, rechecked }
}
